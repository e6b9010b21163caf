import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../tools/simulator/index.js';
import {
  allV0Events,
  allV1Events,
  call,
  lastAgentState,
  sleep,
  startV0,
  startV1Ready,
  type V0Conversation,
  type V1Conversation,
  type V1Event,
  type V1Task,
  v0Conversation,
  v1Conversation,
  v1StartBody,
  waitFor,
} from '../support/simulator.js';

const running: Simulator[] = [];

/** Fast steps and no rate limiting unless a test asks for them. */
async function sim(opts: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator({ stepMs: 20, rateLimit: false, ...opts });
  running.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

const PR_URL = /https:\/\/github\.com\/acme\/widgets\/pull\/(\d+)/;

async function v1Finished(s: Simulator, id: string, status = 'finished'): Promise<V1Conversation> {
  return waitFor(async () => {
    const c = await v1Conversation(s, id);
    return c?.execution_status === status ? c : null;
  }, `execution_status ${status}`);
}

describe('V1 API', () => {
  it('walks the start task to READY and the conversation to finished with a PR', async () => {
    const s = await sim();
    const started = await call<V1Task>(
      s,
      'POST',
      '/api/v1/app-conversations',
      v1StartBody('Please fix the greeting'),
    );
    expect(started.status).toBe(200);
    expect(started.body.id).toMatch(/^[0-9a-f]{32}$/);
    expect(started.body.status).toBe('WORKING');
    expect(started.body.app_conversation_id).toBeNull();

    const seen: string[] = [];
    const task = await waitFor(async () => {
      const res = await call<(V1Task | null)[]>(
        s,
        'GET',
        `/api/v1/app-conversations/start-tasks?ids=${started.body.id}`,
      );
      const t = res.body[0];
      if (t && seen.at(-1) !== t.status) seen.push(t.status);
      return t?.status === 'READY' ? t : null;
    }, 'READY');
    const order = [
      'WORKING',
      'WAITING_FOR_SANDBOX',
      'PREPARING_REPOSITORY',
      'RUNNING_SETUP_SCRIPT',
      'SETTING_UP_GIT_HOOKS',
      'SETTING_UP_SKILLS',
      'STARTING_CONVERSATION',
      'READY',
    ];
    const indexes = seen.map((st) => order.indexOf(st));
    expect(indexes.every((i) => i >= 0)).toBe(true);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(task.app_conversation_id).toMatch(/^[0-9a-f]{32}$/);
    expect(task.sandbox_id).toBeTruthy();

    const convId = task.app_conversation_id as string;
    const first = await v1Conversation(s, convId);
    expect(first?.sandbox_status).toBe('RUNNING');
    expect(first?.execution_status).toBe('running');

    const done = await v1Finished(s, convId);
    expect(done.pr_number).toEqual([1]);

    const events = await allV1Events(s, convId, 5); // small pages exercise next_page_id
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const userMsg = events.find((e) => e.kind === 'MessageEvent' && e.source === 'user');
    expect(JSON.stringify(userMsg)).toContain('Please fix the greeting');
    expect(events.filter((e) => e.kind === 'ActionEvent').length).toBeGreaterThanOrEqual(4);
    expect(events.filter((e) => e.kind === 'ObservationEvent').length).toBeGreaterThanOrEqual(4);
    const prObs = events.find(
      (e) => e.kind === 'ObservationEvent' && JSON.stringify(e.observation).includes('/pull/'),
    );
    expect(JSON.stringify(prObs)).toMatch(PR_URL);
    const prAction = events.find((e) => e.id === prObs?.action_id) as V1Event & {
      action: { command: string };
    };
    expect(prAction.action.command).toContain('gh pr create');
    const finish = events.find((e) => e.kind === 'ActionEvent' && e.tool_name === 'finish') as V1Event & {
      action: { kind: string; message: string };
    };
    expect(finish.action.kind).toBe('FinishAction');
    expect(finish.action.message).toMatch(PR_URL);
    const states = events.filter((e) => e.kind === 'ConversationStateUpdateEvent').map((e) => e.value);
    expect(states[0]).toBe('running');
    expect(states.at(-1)).toBe('finished');
  });

  it('serves the 0.62 events path, TIMESTAMP_DESC, and re-reading the last page id shows new items', async () => {
    const s = await sim({ stepMs: 40 });
    const task = await startV1Ready(s, 'Tail me');
    const id = task.app_conversation_id as string;
    const firstPage = await call<{ items: V1Event[]; next_page_id: string | null }>(
      s,
      'GET',
      `/api/v1/conversation/${id}/events/search?sort_order=TIMESTAMP&limit=100&page_id=0`,
    );
    expect(firstPage.body.next_page_id).toBeNull();
    const countThen = firstPage.body.items.length;
    await v1Finished(s, id);
    const again = await call<{ items: V1Event[] }>(
      s,
      'GET',
      `/api/v1/conversation/${id}/events/search?page_id=0`,
    );
    expect(again.body.items.length).toBeGreaterThan(countThen);
    expect(again.body.items.slice(0, countThen).map((e) => e.id)).toEqual(
      firstPage.body.items.map((e) => e.id),
    );

    const legacy = await call<{ items: V1Event[] }>(
      s,
      'GET',
      `/api/v1/events/search?conversation_id__eq=${id}&limit=100`,
    );
    expect(legacy.body.items.map((e) => e.id)).toEqual(again.body.items.map((e) => e.id));
    const desc = await call<{ items: V1Event[] }>(
      s,
      'GET',
      `/api/v1/conversation/${id}/events/search?sort_order=TIMESTAMP_DESC&limit=1`,
    );
    expect(desc.body.items[0]?.id).toBe(again.body.items.at(-1)?.id);
  });

  it('answers 400 for 100 or more batch ids and [obj|null] below that', async () => {
    const s = await sim();
    const ids = (n: number) =>
      Array.from({ length: n }, (_, i) => `ids=${i.toString(16).padStart(32, '0')}`).join('&');
    const tooMany = await call(s, 'GET', `/api/v1/app-conversations?${ids(100)}`);
    expect(tooMany.status).toBe(400);
    const tasksTooMany = await call(s, 'GET', `/api/v1/app-conversations/start-tasks?${ids(100)}`);
    expect(tasksTooMany.status).toBe(400);
    const ok = await call<unknown[]>(s, 'GET', `/api/v1/app-conversations?${ids(99)}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(99);
    expect(ok.body.every((x) => x === null)).toBe(true);
    expect((await call(s, 'GET', '/api/v1/app-conversations?ids=not-a-uuid')).status).toBe(422);
    expect((await call(s, 'GET', '/api/v1/app-conversations')).status).toBe(422);
  });

  it('accepts dashed UUIDs for the same conversation, lists it in search only after a lag', async () => {
    const s = await sim();
    const task = await startV1Ready(s, 'Search me');
    const id = task.app_conversation_id as string;
    const dashed = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
    expect((await v1Conversation(s, dashed))?.id).toBe(id);
    const listed = await waitFor(async () => {
      const res = await call<{ items: { id: string }[] }>(
        s,
        'GET',
        '/api/v1/app-conversations/search?limit=10',
      );
      return res.body.items.some((c) => c.id === id);
    }, 'conversation in search');
    expect(listed).toBe(true);
  });

  it('pauses a sandbox and deletes a conversation, halting progression', async () => {
    const s = await sim({ stepMs: 30 });
    const a = await startV1Ready(s, 'Pause me [sim:slow]');
    const paused = await call(s, 'POST', `/api/v1/sandboxes/${a.sandbox_id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ success: true });
    const c = await v1Conversation(s, a.app_conversation_id as string);
    expect(c?.sandbox_status).toBe('PAUSED');
    expect(c?.execution_status).toBeNull();
    const eventsBefore = (await allV1Events(s, a.app_conversation_id as string)).length;
    await sleep(300);
    expect((await allV1Events(s, a.app_conversation_id as string)).length).toBe(eventsBefore);
    expect((await call(s, 'POST', '/api/v1/sandboxes/nope/pause')).status).toBe(404);

    const b = await startV1Ready(s, 'Delete me');
    const deleted = await call(s, 'DELETE', `/api/v1/app-conversations/${b.app_conversation_id}`);
    expect(deleted.body).toEqual({ success: true });
    expect(await v1Conversation(s, b.app_conversation_id as string)).toBeNull();
    expect((await call(s, 'DELETE', `/api/v1/app-conversations/${b.app_conversation_id}`)).status).toBe(404);
    const info = s.conversations().find((x) => x.id === b.app_conversation_id);
    expect(info?.deleted).toBe(true);
  });

  it('answers 404 on V0 routes', async () => {
    const s = await sim();
    expect((await call(s, 'GET', '/api/conversations/abc')).status).toBe(404);
    expect((await call(s, 'POST', '/api/conversations', { initial_user_msg: 'x' })).status).toBe(404);
  });
});

describe('V1 scenarios', () => {
  it('[sim:fail] ends in execution_status error with an AgentErrorEvent', async () => {
    const s = await sim();
    const task = await startV1Ready(s, 'Break [sim:fail]');
    const id = task.app_conversation_id as string;
    const c = await v1Finished(s, id, 'error');
    expect(c.pr_number).toEqual([]);
    const events = await allV1Events(s, id);
    expect(events.some((e) => e.kind === 'AgentErrorEvent' && typeof e.error === 'string')).toBe(true);
    await sleep(100);
    expect((await v1Conversation(s, id))?.execution_status).toBe('error');
  });

  it('[sim:sandbox-error] ends the start task in ERROR with the timeout detail', async () => {
    const s = await sim();
    const started = await call<V1Task>(
      s,
      'POST',
      '/api/v1/app-conversations',
      v1StartBody('[sim:sandbox-error]'),
    );
    const task = await waitFor(async () => {
      const res = await call<V1Task[]>(
        s,
        'GET',
        `/api/v1/app-conversations/start-tasks?ids=${started.body.id}`,
      );
      return res.body[0]?.status === 'ERROR' ? res.body[0] : null;
    }, 'task ERROR');
    expect(task.detail).toMatch(/^Sandbox failed to start within 120s: /);
    expect(task.app_conversation_id).toBeNull();
  });

  it('[sim:stuck] stays WAITING_FOR_SANDBOX until complete()', async () => {
    const s = await sim();
    const started = await call<V1Task>(
      s,
      'POST',
      '/api/v1/app-conversations',
      v1StartBody('Stuck [sim:stuck]'),
    );
    const read = async () =>
      (await call<V1Task[]>(s, 'GET', `/api/v1/app-conversations/start-tasks?ids=${started.body.id}`))
        .body[0];
    await waitFor(async () => (await read())?.status === 'WAITING_FOR_SANDBOX', 'WAITING_FOR_SANDBOX');
    await sleep(200);
    expect((await read())?.status).toBe('WAITING_FOR_SANDBOX');
    s.complete('[sim:stuck]');
    await waitFor(async () => (await read())?.status === 'READY', 'READY after complete');
  });

  it('[sim:confirm] waits for confirmation until a message is sent, then finishes', async () => {
    const s = await sim();
    const task = await startV1Ready(s, 'Ask me [sim:confirm]');
    const id = task.app_conversation_id as string;
    await v1Finished(s, id, 'waiting_for_confirmation');
    await sleep(100);
    expect((await v1Conversation(s, id))?.execution_status).toBe('waiting_for_confirmation');
    const sent = await call(s, 'POST', `/api/v1/app-conversations/${id}/send-message`, {
      role: 'user',
      content: [{ type: 'text', text: 'Yes, add it.' }],
    });
    expect(sent.status).toBe(200);
    const done = await v1Finished(s, id);
    expect(done.pr_number).toHaveLength(1);
    expect(s.conversations().find((c) => c.id === id)?.messages).toEqual(['Yes, add it.']);
    const events = await allV1Events(s, id);
    expect(events.some((e) => e.source === 'user' && JSON.stringify(e).includes('Yes, add it.'))).toBe(true);
  });

  it('[sim:hang] reaches running and then emits nothing', async () => {
    const s = await sim();
    const task = await startV1Ready(s, 'Hang [sim:hang]');
    const id = task.app_conversation_id as string;
    const before = (await allV1Events(s, id)).length;
    await sleep(250);
    expect((await allV1Events(s, id)).length).toBe(before);
    expect((await v1Conversation(s, id))?.execution_status).toBe('running');
    s.complete(id);
    await v1Finished(s, id);
  });

  it('[sim:blip] shows a false error on the first status reads, then finishes', async () => {
    const s = await sim({ stepMs: 40 });
    const task = await startV1Ready(s, 'Blip [sim:blip]');
    const id = task.app_conversation_id as string;
    const first = await v1Conversation(s, id);
    const second = await v1Conversation(s, id);
    expect([first?.execution_status, second?.execution_status]).toEqual(['error', 'error']);
    expect((await v1Conversation(s, id))?.execution_status).not.toBe('error');
    await v1Finished(s, id);
  });

  it('[sim:429] throttles the first 3 status reads with Retry-After', async () => {
    const s = await sim();
    const started = await call<V1Task>(s, 'POST', '/api/v1/app-conversations', v1StartBody('[sim:429]'));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call(s, 'GET', `/api/v1/app-conversations/start-tasks?ids=${started.body.id}`);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('1');
        expect(res.body).toEqual({ message: 'Too many requests' });
      }
    }
    expect(statuses).toEqual([429, 429, 429, 200]);
  });

  it('[sim:flaky] answers 500 to every 3rd request about the conversation', async () => {
    const s = await sim();
    const started = await call<V1Task>(s, 'POST', '/api/v1/app-conversations', v1StartBody('[sim:flaky]'));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await call(s, 'GET', `/api/v1/app-conversations/start-tasks?ids=${started.body.id}`)).status,
      );
    }
    expect(statuses).toEqual([200, 200, 500, 200, 200, 500]);
  });

  it('[sim:no-pr] finishes without a PR', async () => {
    const s = await sim();
    const task = await startV1Ready(s, 'Nothing to do [sim:no-pr]');
    const done = await v1Finished(s, task.app_conversation_id as string);
    expect(done.pr_number).toEqual([]);
    const events = await allV1Events(s, task.app_conversation_id as string);
    expect(JSON.stringify(events)).not.toMatch(/\/pull\/\d+/);
  });

  it('uses merge-request URLs for gitlab and example/sandbox without a repository', async () => {
    const s = await sim();
    const gl = await startV1Ready(s, 'GitLab', {
      selected_repository: 'group/sub/proj',
      git_provider: 'gitlab',
    });
    await v1Finished(s, gl.app_conversation_id as string);
    const glEvents = JSON.stringify(await allV1Events(s, gl.app_conversation_id as string));
    expect(glEvents).toContain('https://gitlab.com/group/sub/proj/-/merge_requests/1');
    expect(glEvents).toContain('glab mr create');
    const none = await startV1Ready(s, 'No repo', { selected_repository: null, git_provider: null });
    await v1Finished(s, none.app_conversation_id as string);
    expect(JSON.stringify(await allV1Events(s, none.app_conversation_id as string))).toContain(
      'https://github.com/example/sandbox/pull/2',
    );
  });
});

describe('V0 API', () => {
  it('runs the happy path: runtime statuses, events, create_pr, finish, stays RUNNING', async () => {
    const s = await sim({ apiVersion: 'v0' });
    const res = await call<Record<string, unknown>>(s, 'POST', '/api/conversations', {
      initial_user_msg: 'Fix the greeting',
      repository: 'acme/widgets',
      selected_branch: 'main',
      git_provider: 'github',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', message: null, conversation_status: 'STARTING' });
    const id = res.body.conversation_id as string;
    expect(id).toMatch(/^[0-9a-f]{32}$/);

    const runtimeSeen: (string | null)[] = [];
    await waitFor(async () => {
      const c = (await v0Conversation(s, id)) as V0Conversation;
      if (runtimeSeen.at(-1) !== c.runtime_status) runtimeSeen.push(c.runtime_status);
      return lastAgentState(await allV0Events(s, id)) === 'finished';
    }, 'agent finished');
    const order = [
      'STATUS$BUILDING_RUNTIME',
      'STATUS$STARTING_RUNTIME',
      'STATUS$RUNTIME_STARTED',
      'STATUS$SETTING_UP_WORKSPACE',
      'STATUS$SETTING_UP_GIT_HOOKS',
      'STATUS$READY',
    ];
    const idx = runtimeSeen.map((r) => order.indexOf(r as string));
    expect(idx.every((i) => i >= 0)).toBe(true);
    expect(idx).toEqual([...idx].sort((a, b) => a - b));
    expect(runtimeSeen.at(-1)).toBe('STATUS$READY');

    const c = await v0Conversation(s, id);
    expect(c?.status).toBe('RUNNING');
    expect(c?.pr_number).toEqual([1]);

    const events = await allV0Events(s, id, 3);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i));
    const states = events
      .filter((e) => e.observation === 'agent_state_changed')
      .map((e) => (e.extras as { agent_state: string }).agent_state);
    expect(states).toEqual(['loading', 'running', 'finished']);
    const user = events.find((e) => e.source === 'user' && e.action === 'message');
    expect((user?.args as { content?: string } | undefined)?.content).toBe('Fix the greeting');
    const mcp = events.find((e) => e.observation === 'mcp');
    expect((mcp?.extras as { name?: string } | undefined)?.name).toBe('create_pr');
    expect(mcp?.content).toMatch(PR_URL);
    const finish = events.find((e) => e.action === 'finish');
    expect((finish?.args as { final_thought?: string } | undefined)?.final_thought).toMatch(PR_URL);
    expect(events.some((e) => e.action === 'run') && events.some((e) => e.observation === 'run')).toBe(true);
  });

  it('answers 200 null for an unknown id', async () => {
    const s = await sim({ apiVersion: 'v0' });
    const res = await call(s, 'GET', '/api/conversations/0123456789abcdef0123456789abcdef');
    expect(res.status).toBe(200);
    expect(res.body).toBeNull();
  });

  it('events: 404 for unknown conversations, 400 for limit out of 0-100, inclusive start_id', async () => {
    const s = await sim({ apiVersion: 'v0' });
    const missing = await call(s, 'GET', '/api/conversations/deadbeef/events?start_id=0&limit=10');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: 'Conversation deadbeef not found' });
    const id = await startV0(s, 'Events please');
    expect((await call(s, 'GET', `/api/conversations/${id}/events?limit=101`)).status).toBe(400);
    expect((await call(s, 'GET', `/api/conversations/${id}/events?limit=-1`)).status).toBe(400);
    await waitFor(async () => (await allV0Events(s, id)).length >= 4, 'a few events');
    const page = await call<{ events: { id: number }[]; has_more: boolean }>(
      s,
      'GET',
      `/api/conversations/${id}/events?start_id=2&limit=1`,
    );
    expect(page.body.events.map((e) => e.id)).toEqual([2]);
    expect(page.body.has_more).toBe(true);
  });

  it('rejects unknown start fields with a FastAPI-like 422', async () => {
    const s = await sim({ apiVersion: 'v0' });
    const res = await call<{ detail: { type: string; loc: string[] }[] }>(s, 'POST', '/api/conversations', {
      initial_user_msg: 'hi',
      bogus_field: 1,
    });
    expect(res.status).toBe(422);
    expect(res.body.detail[0]).toMatchObject({ type: 'extra_forbidden', loc: ['body', 'bogus_field'] });
    expect(s.conversations()).toHaveLength(0);
  });

  it('stops, deletes, and forgets conversations on restart', async () => {
    const s = await sim({ apiVersion: 'v0', stepMs: 30 });
    const a = await startV0(s, 'Stop me [sim:slow]');
    const stop = await call(s, 'POST', `/api/conversations/${a}/stop`);
    expect(stop.body).toMatchObject({ status: 'ok', conversation_id: a, conversation_status: 'STOPPED' });
    expect((await v0Conversation(s, a))?.status).toBe('STOPPED');

    const b = await startV0(s, 'Delete me');
    expect((await call(s, 'DELETE', `/api/conversations/${b}`)).body).toBe(true);
    expect((await call(s, 'DELETE', `/api/conversations/${b}`)).body).toBe(false);
    expect(await v0Conversation(s, b)).toBeNull();

    const c = await startV0(s, 'Restart me [sim:slow]');
    await waitFor(async () => (await v0Conversation(s, c))?.status === 'RUNNING', 'RUNNING');
    s.restart();
    const after = await v0Conversation(s, c);
    expect(after?.status).toBe('STOPPED');
    expect(after?.runtime_status).toBeNull();
  });

  it('evicts the oldest conversation beyond maxConversations', async () => {
    const s = await sim({ apiVersion: 'v0', maxConversations: 2 });
    const ids = [await startV0(s, 'one'), await startV0(s, 'two'), await startV0(s, 'three')];
    const statuses = await Promise.all(ids.map(async (id) => (await v0Conversation(s, id))?.status));
    expect(statuses).toEqual(['STOPPED', 'STARTING', 'STARTING']);
  });

  it('scenarios: fail, sandbox-error, ask, gitlab create_mr', async () => {
    // Four at once: lift the default cap of 3 in-memory conversations.
    const s = await sim({ apiVersion: 'v0', maxConversations: 10 });
    const failing = await startV0(s, '[sim:fail]');
    const sandbox = await startV0(s, '[sim:sandbox-error]');
    const asking = await startV0(s, '[sim:ask]');
    const gitlab = await startV0(s, 'mr', { repository: 'grp/proj', git_provider: 'gitlab' });

    const failed = await waitFor(async () => {
      const c = await v0Conversation(s, failing);
      return c?.status === 'ERROR' ? c : null;
    }, 'fail ERROR');
    expect(failed.runtime_status).toBe('STATUS$ERROR');
    expect(lastAgentState(await allV0Events(s, failing))).toBe('error');

    const broken = await waitFor(async () => {
      const c = await v0Conversation(s, sandbox);
      return c?.status === 'ERROR' ? c : null;
    }, 'sandbox ERROR');
    expect(broken.runtime_status).toBe('STATUS$ERROR_RUNTIME_DISCONNECTED');

    await waitFor(
      async () => lastAgentState(await allV0Events(s, asking)) === 'awaiting_user_input',
      'awaiting input',
    );
    const msg = await call(s, 'POST', `/api/conversations/${asking}/message`, { message: 'go ahead' });
    expect(msg.body).toEqual({ success: true });
    await waitFor(
      async () => lastAgentState(await allV0Events(s, asking)) === 'finished',
      'asked run finished',
    );

    await waitFor(async () => lastAgentState(await allV0Events(s, gitlab)) === 'finished', 'gitlab finished');
    const mcp = (await allV0Events(s, gitlab)).find((e) => e.observation === 'mcp');
    expect((mcp?.extras as { name?: string } | undefined)?.name).toBe('create_mr');
    expect(mcp?.content).toMatch(/https:\/\/gitlab\.com\/grp\/proj\/-\/merge_requests\/\d+/);
  });

  it('[sim:blip] reads a false ERROR twice, then RUNNING', async () => {
    const s = await sim({ apiVersion: 'v0', stepMs: 40 });
    const id = await startV0(s, '[sim:blip]');
    await waitFor(async () => lastAgentState(await allV0Events(s, id)) === 'running', 'agent running');
    const reads = [await v0Conversation(s, id), await v0Conversation(s, id), await v0Conversation(s, id)];
    expect(reads.map((c) => c?.status)).toEqual(['ERROR', 'ERROR', 'RUNNING']);
  });
});

describe('server behaviour', () => {
  it('requires the session API key on API routes but not on health routes', async () => {
    const s = await sim({ sessionApiKey: 'secret' });
    const denied = await call(s, 'GET', '/api/v1/app-conversations/search');
    expect(denied.status).toBe(401);
    expect(denied.body).toEqual({ detail: 'Unauthorized' });
    const wrong = await call(s, 'GET', '/api/v1/app-conversations/search', undefined, {
      'X-Session-API-Key': 'nope',
    });
    expect(wrong.status).toBe(401);
    const allowed = await call(s, 'GET', '/api/v1/app-conversations/search', undefined, {
      'X-Session-API-Key': 'secret',
      Authorization: 'Bearer secret',
    });
    expect(allowed.status).toBe(200);
    expect((await call(s, 'GET', '/health')).body).toBe('OK');
    expect((await call(s, 'GET', '/alive')).body).toEqual({ status: 'ok' });
    expect((await call(s, 'GET', '/ready')).status).toBe(200);
    const info = await call<Record<string, unknown>>(s, 'GET', '/server_info');
    expect(info.body).toHaveProperty('uptime');
    expect(info.body).toHaveProperty('resources');
  });

  it('rate limits per IP: 11-20 delayed ~1 s, beyond 20 → 429 with Retry-After: 1', async () => {
    const s = await sim({ rateLimit: true });
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 25 }, async () => {
        const res = await call(s, 'GET', '/alive');
        return { res, ms: Date.now() - t0 };
      }),
    );
    const rejected = results.filter((r) => r.res.status === 429);
    expect(rejected).toHaveLength(5);
    for (const r of rejected) {
      expect(r.res.headers.get('retry-after')).toBe('1');
      expect(r.res.body).toEqual({ message: 'Too many requests' });
    }
    const okay = results.filter((r) => r.res.status === 200).map((r) => r.ms);
    expect(okay).toHaveLength(20);
    expect(okay.filter((ms) => ms >= 900)).toHaveLength(10);
    expect(okay.filter((ms) => ms < 900)).toHaveLength(10);
  });

  it('failNext injects statuses, optionally only for matching paths', async () => {
    const s = await sim();
    s.failNext(2, 503);
    const a = await call(s, 'GET', '/alive');
    const b = await call(s, 'GET', '/api/v1/app-conversations/search');
    const c = await call(s, 'GET', '/alive');
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(a.body).toEqual({ detail: 'Internal Server Error' });

    s.failNext(1, 429, { pathIncludes: '/search', retryAfter: 2 });
    expect((await call(s, 'GET', '/alive')).status).toBe(200);
    const limited = await call(s, 'GET', '/api/v1/app-conversations/search');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.body).toEqual({ message: 'Too many requests' });
    expect((await call(s, 'GET', '/api/v1/app-conversations/search')).status).toBe(200);

    const logged = s.requests
      .filter((r) => r.path === '/api/v1/app-conversations/search')
      .map((r) => r.status);
    expect(logged).toEqual([503, 429, 200]);
  });

  it('setDown drops connections until brought back up', async () => {
    const s = await sim();
    s.setDown(true);
    await expect(fetch(`${s.url}/alive`)).rejects.toThrow();
    s.setDown(false);
    expect((await call(s, 'GET', '/alive')).status).toBe(200);
  });

  it('stop() closes the server', async () => {
    const s = await startSimulator({ stepMs: 20 });
    await call(s, 'POST', '/api/v1/app-conversations', v1StartBody('[sim:slow]'));
    await s.stop();
    await expect(fetch(`${s.url}/alive`)).rejects.toThrow();
  });
});
