import { statusLabel } from './format.js';

/** Status as text and colour: the text carries it for anyone who cannot tell the colours apart. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      {statusLabel(status)}
    </span>
  );
}

export function PercentBar({ percent }: { percent: number }) {
  return (
    <span class="percent">
      <progress max={100} value={percent} aria-label={`${percent} percent`} />
      <span class="percent-text">{percent}%</span>
    </span>
  );
}
