import type { Run } from '../runs/store/index.js';
import type { Db } from '../storage/database.js';

/**
 * Loads runs by id for one operation, batching the ids asked for in the same tick into one query
 * (as DataLoader does): a page of events resolving `RunEvent.run` costs one query, not one per event.
 */
type Waiting = Map<string, Array<{ resolve: (run: Run) => void; reject: (error: unknown) => void }>>;

export function runLoader(prisma: Db): (id: string) => Promise<Run> {
  let batch: Waiting | null = null;

  const flush = async (ids: Waiting) => {
    try {
      const rows = await prisma.run.findMany({ where: { id: { in: [...ids.keys()] } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const [id, waiting] of ids) {
        const run = byId.get(id);
        for (const w of waiting) run ? w.resolve(run) : w.reject(new Error(`Run ${id} not found`));
      }
    } catch (error) {
      for (const waiting of ids.values()) for (const w of waiting) w.reject(error);
    }
  };

  return (id) =>
    new Promise<Run>((resolve, reject) => {
      if (!batch) {
        const current: Waiting = new Map();
        batch = current;
        // After the resolvers of this tick have asked: graphql-js resolves a list's items together.
        setImmediate(() => {
          batch = null;
          void flush(current);
        });
      }
      const waiting = batch.get(id) ?? [];
      waiting.push({ resolve, reject });
      batch.set(id, waiting);
    });
}
