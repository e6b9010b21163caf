/** The simulator's side of the agent conversation (shared/openhands-api.md, "Messages, questions and results"). */
import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../tools/simulator/index.js';
import {
  allV0Events,
  allV1Events,
  call,
  lastAgentState,
  startV0,
  startV1Ready,
  v1Conversation,
  waitFor,
} from '../support/simulator.js';

const running: Simulator[] = [];
async function sim(opts: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator({ stepMs: 20, rateLimit: false, ...opts });
  running.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

const message = (text: string) => ({ role: 'user', content: [{ type: 'text', text }], run: true });

/** The agent server of a V1 conversation, as the AppConversation names it. */
async function agentServer(s: Simulator, id: string) {
  const conversation = (await v1Conversation(s, id)) as Record<string, any>;
  const url = new URL(conversation.conversation_url);
  return {
    path: url.pathname,
    base: url.pathname.replace(/\/api\/conversations\/.*$/, ''),
    headers: { 'x-session-api-key': conversation.session_api_key as string },
  };
}

describe('V1 questions, messages and results', () => {
  it('[sim:ask]: a MessageEvent then execution_status finished; a message brings it back to running and on to a PR', async () => {
    const s = await sim();
    const id = (await startV1Ready(s, 'Ask [sim:ask]')).app_conversation_id as string;
    await waitFor(async () => (await v1Conversation(s, id))?.execution_status === 'finished', 'finished');
    const events = await allV1Events(s, id);
    const lastAgent = events.filter((e) => e.source === 'agent').at(-1)!;
    expect(lastAgent.kind).toBe('MessageEvent');
    const sent = await call(s, 'POST', `/api/v1/app-conversations/${id}/send-message`, message('Yes.'));
    expect(sent.status).toBe(200);
    const last = await waitFor(async () => {
      const agent = (await allV1Events(s, id)).filter((e) => e.source === 'agent').at(-1);
      return (agent?.action as { kind?: string } | undefined)?.kind === 'FinishAction' ? agent : null;
    }, 'the finish action');
    expect(JSON.stringify(last)).toMatch(/pull\/\d+/);
    expect((await v1Conversation(s, id))?.execution_status).toBe('finished');
  });

  it('[sim:idle-pause]: send-message answers 409 until the sandbox is resumed', async () => {
    const s = await sim();
    const task = await startV1Ready(s, 'Ask [sim:ask] [sim:idle-pause]');
    const id = task.app_conversation_id as string;
    await waitFor(async () => (await v1Conversation(s, id))?.sandbox_status === 'PAUSED', 'paused');
    const refused = await call(s, 'POST', `/api/v1/app-conversations/${id}/send-message`, message('Go.'));
    expect(refused.status).toBe(409);
    expect((await call(s, 'POST', `/api/v1/sandboxes/${task.sandbox_id}/resume`)).status).toBe(200);
    expect((await v1Conversation(s, id))?.sandbox_status).toBe('RUNNING');
    const sent = await call(s, 'POST', `/api/v1/app-conversations/${id}/send-message`, message('Go.'));
    expect(sent.status).toBe(200);
    await waitFor(async () => (await v1Conversation(s, id))?.pr_number?.length === 1, 'a PR');
  });

  it('an older server lacks send-message; the agent server takes the message with the session key', async () => {
    const s = await sim({ sendMessageRoute: false });
    const id = (await startV1Ready(s, 'Ask [sim:ask]')).app_conversation_id as string;
    await waitFor(async () => (await v1Conversation(s, id))?.execution_status === 'finished', 'finished');
    expect((await call(s, 'POST', `/api/v1/app-conversations/${id}/send-message`, message('x'))).status).toBe(
      404,
    );
    const server = await agentServer(s, id);
    expect((await call(s, 'POST', `${server.path}/events`, message('Yes.'))).status).toBe(401);
    expect((await call(s, 'POST', `${server.path}/events`, message('Yes.'), server.headers)).status).toBe(
      200,
    );
    expect(s.conversations().find((c) => c.id === id)?.messages).toEqual(['Yes.']);
  });

  it('agent_final_response and git changes (query and path forms) from the agent server', async () => {
    const s = await sim();
    const id = (await startV1Ready(s, 'Work [sim:no-pr]')).app_conversation_id as string;
    const edits = await sim();
    const editId = (await startV1Ready(edits, 'Edit')).app_conversation_id as string;
    await waitFor(async () => (await v1Conversation(s, id))?.execution_status === 'finished', 'finished');
    await waitFor(
      async () => (await v1Conversation(edits, editId))?.execution_status === 'finished',
      'finished',
    );
    const server = await agentServer(s, id);
    const final = await call<{ response: string }>(
      s,
      'GET',
      `${server.path}/agent_final_response`,
      undefined,
      server.headers,
    );
    expect(final.body.response).toMatch(/no changes were needed/);
    const none = await call(
      s,
      'GET',
      `${server.base}/api/git/changes?path=/workspace/project/widgets`,
      undefined,
      server.headers,
    );
    expect(none.body).toEqual([]);
    const edited = await agentServer(edits, editId);
    const query = await call(
      edits,
      'GET',
      `${edited.base}/api/git/changes?path=/workspace/project/widgets`,
      undefined,
      edited.headers,
    );
    expect(query.body).toEqual([{ status: 'UPDATED', path: '/workspace/project/widgets/src/index.ts' }]);
    const older = await call(
      edits,
      'GET',
      `${edited.base}/api/git/changes/${encodeURIComponent('/workspace/project/widgets')}`,
      undefined,
      edited.headers,
    );
    expect(older.body).toEqual(query.body);
  });
});

describe('V0 questions and git changes', () => {
  it('[sim:ask] awaits input after a message action; [sim:confirm] awaits confirmation; git changes list the edit', async () => {
    const s = await sim({ apiVersion: 'v0', maxConversations: 10 });
    const asking = await startV0(s, '[sim:ask]');
    const confirming = await startV0(s, '[sim:confirm]');
    const working = await startV0(s, 'edit');
    await waitFor(
      async () => lastAgentState(await allV0Events(s, asking)) === 'awaiting_user_input',
      'input',
    );
    await waitFor(
      async () => lastAgentState(await allV0Events(s, confirming)) === 'awaiting_user_confirmation',
      'confirmation',
    );
    const question = (await allV0Events(s, asking))
      .filter((e) => e.action === 'message' && e.source === 'agent')
      .at(-1)!;
    expect(question.args).toMatchObject({ wait_for_response: true });
    await waitFor(async () => lastAgentState(await allV0Events(s, working)) === 'finished', 'finished');
    const changes = await call(s, 'GET', `/api/conversations/${working}/git/changes`);
    expect(changes.body).toEqual([{ status: 'UPDATED', path: '/workspace/project/widgets/src/index.ts' }]);
  });
});
