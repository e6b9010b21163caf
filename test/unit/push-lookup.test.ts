import { describe, expect, test } from 'vitest';
import { ConversationLookup } from '../../src/push/lookup.js';
import { Semaphore } from '../../src/push/serial.js';
import type { PushTarget } from '../../src/runs/store/find-runs-by-conversation.js';

const HEX = (n: number) => n.toString(16).padStart(32, '0');
const dashed = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

/** A store double: the runs it knows, and every statement it was asked. */
function fakeStore(runs: PushTarget[]) {
  const statements: string[][] = [];
  let release: () => void = () => {};
  let hold = false;
  const find = async (ids: string[]) => {
    statements.push(ids);
    if (hold) await new Promise<void>((resolve) => (release = resolve));
    return runs.filter((r) => ids.includes(r.conversationId));
  };
  return {
    find,
    statements,
    holdNext: () => {
      hold = true;
    },
    release: () => {
      hold = false;
      release();
    },
  };
}

describe('ConversationLookup', () => {
  test('an idle replica looks a conversation up at once, in every spelling', async () => {
    const store = fakeStore([{ id: 'run_a', conversationId: dashed(HEX(1)), sessionKeyHash: null }]);
    const lookup = new ConversationLookup(store.find, new Semaphore(1));
    expect(await lookup.runsOf(HEX(1))).toEqual([
      { id: 'run_a', conversationId: dashed(HEX(1)), sessionKeyHash: null },
    ]);
    expect(store.statements).toHaveLength(1);
    expect(store.statements[0]).toEqual(expect.arrayContaining([HEX(1), dashed(HEX(1))]));
  });

  test('look-ups that arrive while the connection is busy share the next statement', async () => {
    const store = fakeStore([
      { id: 'run_2', conversationId: HEX(2), sessionKeyHash: null },
      { id: 'run_3', conversationId: dashed(HEX(3)), sessionKeyHash: 'h' },
    ]);
    const lookup = new ConversationLookup(store.find, new Semaphore(1));
    store.holdNext();
    const first = lookup.runsOf(HEX(9));
    await new Promise((resolve) => setImmediate(resolve));
    // Meanwhile: three conversations (one asked twice, once dashed), none with a statement of its own.
    const waiting = [
      lookup.runsOf(HEX(2)),
      lookup.runsOf(dashed(HEX(3)).toUpperCase()),
      lookup.runsOf(HEX(3)),
      lookup.runsOf(HEX(4)),
    ];
    store.release();
    expect(await first).toEqual([]);
    const [two, threeDashed, three, four] = await Promise.all(waiting);
    expect(store.statements).toHaveLength(2);
    expect(two.map((t) => t.id)).toEqual(['run_2']);
    expect(threeDashed.map((t) => t.id)).toEqual(['run_3']);
    expect(three.map((t) => t.id)).toEqual(['run_3']);
    expect(four).toEqual([]);
  });

  test('a statement that fails fails only the pushes that were waiting for it', async () => {
    let calls = 0;
    const lookup = new ConversationLookup(async () => {
      calls++;
      if (calls === 1) throw new Error('connection lost');
      return [];
    }, new Semaphore(1));
    await expect(lookup.runsOf(HEX(5))).rejects.toThrow('connection lost');
    expect(await lookup.runsOf(HEX(5))).toEqual([]);
  });

  test('a burst larger than one statement takes is split', async () => {
    const store = fakeStore([]);
    const lookup = new ConversationLookup(store.find, new Semaphore(1), 2);
    store.holdNext();
    const first = lookup.runsOf(HEX(100));
    await new Promise((resolve) => setImmediate(resolve));
    const burst = [1, 2, 3, 4, 5].map((n) => lookup.runsOf(HEX(n)));
    store.release();
    await first;
    await Promise.all(burst);
    // One statement of its own, then 5 conversations at most 2 per statement.
    expect(store.statements.map((ids) => new Set(ids.map((id) => id.replaceAll('-', ''))).size)).toEqual([
      1, 2, 2, 1,
    ]);
  });
});
