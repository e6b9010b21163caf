import { useEffect, useState } from 'preact/hooks';
import type { LiveState, Session } from './api.js';

interface Health {
  status: string;
  database: string;
  openhands: string;
}

const HEALTH_EVERY_MS = 15_000;

/** GET /health (no token needed), re-read every 15 s. */
function useHealth(): Health | null | 'unreachable' {
  const [health, setHealth] = useState<Health | null | 'unreachable'>(null);
  useEffect(() => {
    const read = () =>
      fetch('/health', { headers: { accept: 'application/json' } })
        .then((r) => r.json() as Promise<Health>)
        .then(setHealth, () => setHealth('unreachable'));
    void read();
    const timer = setInterval(read, HEALTH_EVERY_MS);
    return () => clearInterval(timer);
  }, []);
  return health;
}

function useLive(session: Session): LiveState {
  const [live, setLive] = useState(session.live);
  useEffect(() => session.onLive(setLive), [session]);
  return live;
}

function Indicator({ label, ok, text }: { label: string; ok: boolean | null; text: string }) {
  const tone = ok === null ? 'unknown' : ok ? 'ok' : 'bad';
  return (
    <li class={`indicator indicator-${tone}`}>
      {label}: <strong>{text}</strong>
    </li>
  );
}

export function Header({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const health = useHealth();
  const live = useLive(session);
  const known = health && health !== 'unreachable' ? health : null;
  return (
    <header class="top">
      <a class="brand" href="/">
        openhands-runner
      </a>
      <ul class="health" aria-label="Service health">
        <Indicator
          label="Service"
          ok={health === null ? null : health !== 'unreachable'}
          text={health === 'unreachable' ? 'unreachable' : (known?.status ?? '…')}
        />
        <Indicator
          label="Database"
          ok={known ? known.database === 'ok' : null}
          text={known?.database === 'ok' ? 'ok' : (known?.database ?? '…')}
        />
        <Indicator
          label="OpenHands"
          ok={known ? known.openhands === 'ok' : null}
          text={known ? (known.openhands === 'ok' ? 'reachable' : 'unreachable') : '…'}
        />
        <Indicator
          label="Live updates"
          ok={live === 'connecting' || live === 'idle' ? null : live === 'connected'}
          text={live}
        />
      </ul>
      <button type="button" class="sign-out" onClick={onSignOut}>
        Sign out
      </button>
    </header>
  );
}
