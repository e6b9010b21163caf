import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/auth/principal.js';
import { isPrivateAddress } from '../../src/notifications/address.js';
import { notificationTypes } from '../../src/notifications/events.js';
import { MAX_RESPONSE_BYTES, parseRetryAfter, postWebhook } from '../../src/notifications/http.js';
import { nextAttemptAt, RETRY_FOR_MS } from '../../src/notifications/schedule.js';
import { generateSecret, SecretBox } from '../../src/notifications/secrets.js';
import { NotificationService } from '../../src/notifications/service.js';
import { signatureHeaders } from '../../src/notifications/signing.js';
import type { NotificationStore } from '../../src/notifications/store.js';
import type { RunEvent } from '../../src/runs/store/index.js';

const event = (status: RunEvent['status'], type = 'STATUS_CHANGED') => ({ status, type, seq: 2 }) as RunEvent;

describe('which changes notify', () => {
  it('maps status changes and pull request events to notification types', () => {
    expect(notificationTypes('QUEUED', event('STARTING'))).toEqual(['RUN_STARTED']);
    expect(notificationTypes('STARTING', event('RUNNING'))).toEqual([]);
    expect(notificationTypes('RUNNING', event('RUNNING', 'PROGRESS'))).toEqual([]);
    expect(notificationTypes('RUNNING', event('AWAITING_INPUT'))).toEqual(['RUN_AWAITING_INPUT']);
    expect(notificationTypes('AWAITING_INPUT', event('RUNNING'))).toEqual([]);
    expect(notificationTypes('RUNNING', event('FAILED'))).toEqual(['RUN_FAILED']);
    expect(notificationTypes('QUEUED', event('CANCELLED'))).toEqual(['RUN_CANCELLED']);
    expect(notificationTypes('RUNNING', event('TIMED_OUT'))).toEqual(['RUN_TIMED_OUT']);
    expect(notificationTypes('RUNNING', event('COMPLETED', 'PULL_REQUEST'))).toEqual([
      'RUN_COMPLETED',
      'PULL_REQUEST_CHANGED',
    ]);
    expect(notificationTypes('COMPLETED', event('COMPLETED', 'PULL_REQUEST_UPDATED'))).toEqual([
      'PULL_REQUEST_CHANGED',
    ]);
  });
});

describe('address rules', () => {
  it('refuses loopback, private, link-local, metadata and mapped forms of them', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a9fe:a9fe',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(ip), ip).toBe(false);
    }
  });
});

describe('retry schedule', () => {
  const created = new Date('2030-01-01T00:00:00Z');
  const fixed = { scale: 1, random: () => 0.5 };
  it('waits about 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then hourly, within ±20%', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map(
      (n) => nextAttemptAt(n, created, created, fixed)!.getTime() - created.getTime(),
    );
    expect(waits).toEqual([5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 3_600_000]);
    const low =
      nextAttemptAt(1, created, created, { scale: 1, random: () => 0 })!.getTime() - created.getTime();
    const high =
      nextAttemptAt(1, created, created, { scale: 1, random: () => 0.9999 })!.getTime() - created.getTime();
    expect(low).toBe(4_000);
    expect(high).toBeLessThanOrEqual(6_000);
    expect(high).toBeGreaterThan(5_900);
  });
  it('honours a longer Retry-After and gives up after 24 hours', () => {
    expect(nextAttemptAt(1, created, created, fixed, 60_000)!.getTime() - created.getTime()).toBe(60_000);
    const late = new Date(created.getTime() + RETRY_FOR_MS - 1_000);
    expect(nextAttemptAt(20, created, late, fixed)).toBeNull();
    expect(parseRetryAfter('7')).toBe(7_000);
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8_000);
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('secrets and signatures', () => {
  it('encrypts secrets at rest and reads them back only with the key', () => {
    const secret = generateSecret();
    const box = new SecretBox('a key of at least thirty-two characters');
    const sealed = box.seal(secret);
    expect(sealed).toMatch(/^enc:v1:/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(box.open(sealed)).toBe(secret);
    expect(() => new SecretBox(undefined).open(sealed)).toThrow(/NOTIFY_SECRET_KEY must be set/);
    expect(() => new SecretBox('another key').open(sealed)).toThrow(/has changed/);
    expect(new SecretBox(undefined).seal(secret)).toBe(secret);
  });

  it('signs so that the standardwebhooks package verifies, with each secret during an overlap', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const body = JSON.stringify({ type: 'RUN_COMPLETED', data: { run: { run_id: 'run_1' } } });
    const headers = signatureHeaders('msg_1', Math.floor(Date.now() / 1000), body, [newSecret, oldSecret]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(newSecret).verify(body, headers)).toMatchObject({ type: 'RUN_COMPLETED' });
    expect(new Webhook(oldSecret).verify(body, headers)).toMatchObject({ type: 'RUN_COMPLETED' });
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(newSecret).verify(`${body} `, headers)).toThrow();
  });
});

describe('endpoint URLs', () => {
  const service = (allowHttp: boolean, allowPrivate = false) =>
    new NotificationService({} as NotificationStore, new SecretBox(undefined), {
      allowHttp,
      allowPrivate,
      maxPageSize: 10,
    });
  const create = (s: NotificationService, url: string, events = ['RUN_COMPLETED']) =>
    s.create({ projectId: 'p', url, events }, SYSTEM);

  it('needs https unless NOTIFY_ALLOW_HTTP, and refuses internal addresses unless NOTIFY_ALLOW_PRIVATE', async () => {
    await expect(create(service(false), 'http://93.184.216.34/hook')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      details: { field: 'url' },
      message: expect.stringMatching(/https:\/\/.*NOTIFY_ALLOW_HTTP/),
    });
    for (const url of [
      'https://127.0.0.1/hook',
      'https://localhost:8443/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://10.0.0.8/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
    ]) {
      await expect(create(service(true), url), url).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        message: expect.stringMatching(/NOTIFY_ALLOW_PRIVATE/),
      });
    }
    await expect(create(service(true), 'ftp://example.com/')).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    await expect(create(service(true), 'https://user:pw@93.184.216.34/')).rejects.toMatchObject({
      message: expect.stringMatching(/credentials/),
    });
    await expect(create(service(true, true), 'http://127.0.0.1/', ['RUN_DONE'])).rejects.toMatchObject({
      details: { field: 'events' },
    });
  });

  it('checks the address at connect time, reads at most 64 KiB and follows no redirect', async () => {
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/elsewhere' });
        res.end();
        return;
      }
      res.writeHead(200);
      res.end(Buffer.alloc(MAX_RESPONSE_BYTES * 4, 'x'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // "localhost" is resolved as the request connects: refused without the opt-in, nothing sent.
      const refused = await postWebhook(`http://localhost:${port}/`, {}, '{}', { allowPrivate: false });
      expect(refused).toMatchObject({ kind: 'error', refused: true });
      expect(hits).toBe(0);
      const big = await postWebhook(`http://localhost:${port}/`, {}, '{}', { allowPrivate: true });
      expect(big).toMatchObject({ kind: 'response', status: 200 });
      expect(big.kind === 'response' && big.body.length).toBe(MAX_RESPONSE_BYTES);
      const redirect = await postWebhook(`http://127.0.0.1:${port}/redirect`, {}, '{}', {
        allowPrivate: true,
      });
      expect(redirect).toMatchObject({ kind: 'response', status: 302 });
      expect(hits).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
