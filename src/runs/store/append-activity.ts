import { type ActivityEvent, type ActivityItem, admitActivity } from '../activity.js';
import type { Db } from './types.js';

/**
 * The activity events to append for `items` on the locked run: items whose upstream event is already
 * stored (a re-read, a retry after a crash, another replica) are dropped, the rest go through the
 * per-run cap. The unique index on (runId, upstreamId) backs this up.
 */
export async function activityToAppend(
  db: Db,
  runId: string,
  counted: number,
  items: ActivityItem[],
): Promise<{ events: ActivityEvent[]; counted: number }> {
  const unique = [...new Map(items.map((item) => [item.upstreamId, item])).values()];
  if (unique.length === 0) return { events: [], counted };
  const stored = await db.runEvent.findMany({
    where: { runId, upstreamId: { in: unique.map((item) => item.upstreamId) } },
    select: { upstreamId: true },
  });
  const seen = new Set(stored.map((row) => row.upstreamId));
  return admitActivity(
    counted,
    unique.filter((item) => !seen.has(item.upstreamId)),
  );
}
