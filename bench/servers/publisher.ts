/**
 * Scenario 2's publisher, in a process of its own: appending events costs CPU (the service's
 * RunStore transaction especially), and in the process that timestamps the subscribers' receipts it
 * would delay them and count as latency. Answers {type: 'publish', runId} with the new seq and the
 * commit time on the wall clock (performance.timeOrigin + now(), comparable across processes).
 *
 * BENCH_PUBLISH=service: through the service's own RunStore (transaction + NOTIFY), as another
 * replica's poller writes. BENCH_PUBLISH=baseline: one INSERT + pg_notify of the whole event into
 * the baseline's table and channel.
 */
import pg from 'pg';
import { RunStore } from '../../src/runs/store/index.js';
import { openDatabase } from '../../src/storage/database.js';
import { serveChild } from '../lib/child.js';
import { BASELINE_CHANNEL } from '../lib/common.js';

const url = process.env.DATABASE_URL ?? '';
const now = () => performance.timeOrigin + performance.now();

async function serviceWriter() {
  const database = await openDatabase({ url, dataDir: '', poolSize: 20 });
  const store = new RunStore(database.prisma, true);
  return {
    async publish(runId: string) {
      const result = await store.transition(runId, (run) => ({
        phase: 'Agent working',
        event: { type: 'PROGRESS', message: `tick ${run.lastSeq + 1}` },
      }));
      return result!.events[0].seq;
    },
    close: () => database.close(),
  };
}

async function baselineWriter() {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const seqs = new Map<string, number>();
  return {
    async publish(runId: string) {
      const seq = (seqs.get(runId) ?? 1) + 1;
      seqs.set(runId, seq);
      const event = {
        runId,
        seq,
        type: 'PROGRESS',
        status: 'RUNNING',
        percent: 50,
        phase: 'Agent working',
        message: `tick ${seq}`,
        run: { id: runId, status: 'RUNNING', percent: 50 },
      };
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO bench_event (run_id, seq, type, status, percent, phase, message) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [runId, seq, event.type, event.status, event.percent, event.phase, event.message],
        );
        await client.query(`SELECT pg_notify($1, $2)`, [BASELINE_CHANNEL, JSON.stringify(event)]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      return seq;
    },
    close: () => pool.end(),
  };
}

const writer = process.env.BENCH_PUBLISH === 'baseline' ? await baselineWriter() : await serviceWriter();
serveChild(
  '',
  () => writer.close(),
  {},
  async (message) => {
    if (message.type !== 'publish') return null;
    try {
      const seq = await writer.publish(String(message.runId));
      return { seq, committedAt: now() };
    } catch (error) {
      return { error: String(error) };
    }
  },
);
