import { describe, expect } from 'vitest';
import { loadConfig } from '../../src/config/service.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { type Database, openDatabase } from '../../src/storage/database.js';
import { DeliveryStore } from '../../src/webhooks/delivery-store.js';
import { pruneDeliveries } from '../../src/webhooks/retention.js';
import { test } from '../support/fixtures.js';
import { waitFor } from '../support/graphql.js';
import { startService } from '../support/service.js';

const DAY = 24 * 60 * 60 * 1000;

describe('webhook delivery retention (WEBHOOK_RETENTION_DAYS)', () => {
  let database: Database;
  let prisma: PrismaClient;

  test.beforeAll(async ({ db }) => {
    database = await openDatabase({ url: db.url, dataDir: '' });
    prisma = database.prisma;
  });
  // Before the file's database is dropped.
  test.afterAll(async () => {
    await database?.close();
  });

  async function record(id: string, daysAgo: number) {
    await prisma.webhookDelivery.create({
      data: {
        id,
        provider: 'GITHUB',
        deliveryId: id,
        event: 'pull_request',
        outcome: 'UNMATCHED',
        receivedAt: new Date(Date.now() - daysAgo * DAY),
      },
    });
  }
  const ids = async () =>
    (await prisma.webhookDelivery.findMany({ select: { id: true } })).map((r) => r.id).sort();

  test('deletes records older than the retention and keeps the rest', async () => {
    await record('old-1', 45);
    await record('old-2', 31);
    await record('recent', 29);
    await record('today', 0);
    expect(await pruneDeliveries(new DeliveryStore(prisma), 30)).toBe(2);
    expect(await ids()).toEqual(['recent', 'today']);
    expect(await pruneDeliveries(new DeliveryStore(prisma), 30)).toBe(0);
    await prisma.webhookDelivery.deleteMany();
  });

  test('runs in the service shortly after start-up, and not at all with 0', async ({ db }) => {
    await record('stale', 3);
    const keeping = await startService(db.url, 'http://127.0.0.1:9', {
      POLLER_ENABLED: 'false',
      WEBHOOK_RETENTION_DAYS: '0',
    });
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(await ids()).toEqual(['stale']);
    await keeping.stop();

    const pruning = await startService(db.url, 'http://127.0.0.1:9', {
      POLLER_ENABLED: 'false',
      WEBHOOK_RETENTION_DAYS: '2',
    });
    try {
      await waitFor('the stale record to be deleted', async () => (await ids()).length === 0, 15_000);
    } finally {
      await pruning.stop();
    }
  });

  test('refuses a negative or non-numeric WEBHOOK_RETENTION_DAYS, naming the variable', () => {
    for (const bad of ['-1', 'soon'])
      expect(() => loadConfig({ WEBHOOK_RETENTION_DAYS: bad })).toThrow(/WEBHOOK_RETENTION_DAYS/);
  });
});
