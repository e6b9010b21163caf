/**
 * The dashboard in Debian's Chromium (playwright-core) against the real service, PostgreSQL and the
 * OpenHands simulator. One browser and one stack for the file, to stay well inside the CI budget.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, buildDashboardCopy, launchChromium } from '../support/dashboard.js';
import { finalRun, gql, type Stack, startRun, startStack } from '../support/runs.js';
import { TEST_TOKEN } from '../support/service.js';

const DOCS = join(import.meta.dirname, '../../docs/images');
const WAIT_MS = 20_000;

describe('the dashboard in a browser', () => {
  let build: ReturnType<typeof buildDashboardCopy>;
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let base: string;

  beforeAll(async () => {
    build = buildDashboardCopy();
    stack = await startStack({}, {}, { app: { dashboardDir: build.dir } });
    base = stack.service.url;
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(WAIT_MS);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    build?.remove();
  });

  /** Into test-artifacts/ always; into docs/images too with UPDATE_DOCS_SCREENSHOTS=1. */
  async function screenshot(page: Page, name: string) {
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOTS) {
      mkdirSync(DOCS, { recursive: true });
      copyFileSync(path, join(DOCS, `dashboard-${name}.png`));
    }
  }

  async function signIn(page: Page, token = TEST_TOKEN) {
    await page.goto(`${base}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function signedInPage(path = '/'): Promise<Page> {
    const page = await context.newPage();
    await signIn(page);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    if (path !== '/') await page.goto(`${base}${path}`);
    return page;
  }

  const row = (page: Page, id: string) => page.locator(`tr[data-run-id="${id}"]`);

  it('refuses a bad token with a clear message and keeps it out of storage and the URL', async () => {
    const page = await context.newPage();
    await screenshotAfter(
      page,
      async () => {
        await page.goto(`${base}/`);
        await page.getByLabel('API token').waitFor();
      },
      'sign-in',
    );
    await signIn(page, 'not-a-real-token');
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: WAIT_MS })
      .toContain('That API token was not accepted');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(page.url()).toBe(`${base}/`);
    await page.close();
  });

  async function screenshotAfter(page: Page, action: () => Promise<void>, name: string) {
    await action();
    await screenshot(page, name);
  }

  it('signs in, shows health, and signs out', async () => {
    const page = await signedInPage();
    expect(page.url()).not.toContain(TEST_TOKEN);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([TEST_TOKEN]);
    const health = page.getByRole('list', { name: 'Service health' });
    await expect.poll(() => health.textContent(), { timeout: WAIT_MS }).toContain('Database: ok');
    await expect.poll(() => health.textContent(), { timeout: WAIT_MS }).toContain('OpenHands: reachable');
    await expect.poll(() => health.textContent(), { timeout: WAIT_MS }).toContain('Live updates: connected');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.close();
  });

  it('starts a run from the form, goes to it, and sees its row reach COMPLETED with its PR link without reloading', async () => {
    const page = await signedInPage();
    // Survives only if nothing reloads the document.
    await page.evaluate(() => Object.assign(window, { noReload: true }));
    await page.getByText('Start a run').click();
    const form = page.getByRole('form', { name: 'Start a run' });
    await form.getByLabel('Project').fill('dash');
    await form.getByLabel('Repository').fill('acme/widgets');
    await form.getByLabel('Branch').fill('main');
    await form.getByLabel('Prompt').fill('Fix the flaky test [sim:slow]');
    await form.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/\/runs\/run_[^/]+$/);
    const id = decodeURIComponent(page.url().split('/runs/')[1]);
    await page.getByRole('link', { name: '← All runs' }).click();
    await row(page, id).waitFor();
    await expect
      .poll(() => row(page, id).getAttribute('data-status'), { timeout: WAIT_MS })
      .toBe('COMPLETED');
    const cells = await row(page, id).textContent();
    expect(cells).toContain('completed');
    expect(cells).toContain('dash');
    expect(cells).toContain('acme/widgets');
    expect(cells).toContain('100%');
    await expect
      .poll(() => row(page, id).locator('a.pr-link').getAttribute('href'), { timeout: WAIT_MS })
      .toMatch(/^https:\/\/github\.com\/acme\/widgets\/pull\/\d+$/);
    expect(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload)).toBe(true);
    await screenshot(page, 'runs');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'runs-phone');
    await page.close();
  });

  it('filters by status, in the URL query', async () => {
    const held = await startRun(stack.url, { projectId: 'filters', compiledPrompt: 'Wait here [sim:hang]' });
    const done = await startRun(stack.url, { projectId: 'filters', compiledPrompt: 'Quick one' });
    await finalRun(stack.url, done.id);
    const page = await signedInPage('/?project=filters');
    await row(page, held.id).waitFor();
    await row(page, done.id).waitFor();
    const filters = page.getByRole('form', { name: 'Filter runs' });
    await filters.getByRole('checkbox', { name: 'completed' }).check();
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/status=COMPLETED/);
    expect(new URL(page.url()).searchParams.get('project')).toBe('filters');
    await row(page, done.id).waitFor();
    await row(page, held.id).waitFor({ state: 'detached' });
    const statuses = await page
      .locator('tr[data-run-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['COMPLETED']));
    // Back to the unfiltered list: the URL is the state.
    await page.goBack();
    await row(page, held.id).waitFor();
    stack.sim.complete();
    await page.close();
  });

  it('shows a run page whose timeline grows live and resumes after a lost connection without gaps or duplicates', async () => {
    const page = await context.newPage();
    // Every graphql-ws socket goes through here, so the test can cut it and read what the page sends.
    const sockets: WebSocketRoute[] = [];
    const sent: Array<{ type: string; payload?: { query?: string; variables?: Record<string, unknown> } }> =
      [];
    await page.routeWebSocket(/\/graphql$/, (socket) => {
      const server = socket.connectToServer();
      socket.onMessage((message) => {
        sent.push(JSON.parse(String(message)));
        server.send(message);
      });
      server.onMessage((message) => socket.send(message));
      sockets.push(socket);
    });
    await signIn(page);
    const run = await startRun(stack.url, { projectId: 'live', compiledPrompt: 'Take your time [sim:slow]' });
    await page.goto(`${base}/runs/${run.id}`);
    const items = page.locator('ol.timeline > li');
    await expect.poll(() => items.count(), { timeout: WAIT_MS }).toBeGreaterThanOrEqual(2);
    const before = await items.count();
    // Cut the socket as a network drop would (1012: the client retries).
    await sockets.at(-1)!.close({ code: 1012, reason: 'test drop' });
    await page.locator('#run-status [data-status="COMPLETED"]').waitFor();
    await expect.poll(() => page.getByText('the timeline is complete').count(), { timeout: WAIT_MS }).toBe(1);
    expect(await items.count()).toBeGreaterThan(before);
    // Agent messages and actions show in the conversation, the rest in the timeline: together, the log.
    const seqs = await page
      .locator('ol.timeline > li, ol.conversation > li')
      .evaluateAll((li) => li.map((el) => Number(el.getAttribute('data-seq'))).sort((a, b) => a - b));
    const stored = await finalRun(stack.url, run.id);
    const expected = stored.events.edges.map((e: { node: { seq: number } }) => e.node.seq);
    expect(seqs).toEqual(expected);
    // The subscription was sent again after the drop, resuming after the last seq shown.
    const resumes = sent.filter((m) => m.type === 'subscribe' && m.payload?.query?.includes('runProgress'));
    expect(resumes.length).toBeGreaterThanOrEqual(2);
    expect(resumes[0].payload!.variables!.afterSeq).toBe(0);
    expect(resumes.at(-1)!.payload!.variables!.afterSeq).toBeGreaterThanOrEqual(before);
    await expect.poll(() => page.locator('a.pr-link').count(), { timeout: WAIT_MS }).toBe(1);
    await screenshot(page, 'run');
    await page.close();
  });

  it('shows the agent’s question and sends the answer typed in the "Answer" box; the run goes on to COMPLETED', async () => {
    const run = await startRun(stack.url, { projectId: 'answer', compiledPrompt: 'Ask me first [sim:ask]' });
    const page = await signedInPage(`/runs/${run.id}`);
    await page.locator('#run-status [data-status="AWAITING_INPUT"]').waitFor();
    const asked = await gql(stack.url, 'query($id: ID!) { run(id: $id) { status question } }', {
      id: run.id,
    });
    const question = asked.data?.run.question as string;
    expect(asked.data?.run.status).toBe('AWAITING_INPUT');
    expect(question).toBeTruthy();
    await page.getByText(question, { exact: false }).first().waitFor();
    await page.getByLabel('Answer').fill('Yes, go ahead.');
    await page.getByRole('button', { name: 'Send answer' }).click();
    await page.locator('#run-status [data-status="COMPLETED"]').waitFor();
    await expect.poll(() => page.getByLabel('Answer').count()).toBe(0);
    await page.getByText('Yes, go ahead.').first().waitFor();
    // The outcome the service read from OpenHands: the agent's summary and the files it changed.
    await page.getByRole('heading', { name: 'Outcome' }).waitFor();
    await page.locator('ul.changed-files > li').first().waitFor();
    const done = await finalRun(stack.url, run.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.pullRequest).toBeTruthy();
    await screenshot(page, 'run-answered');
    await page.close();
  });

  it('cancels a run after confirmation', async () => {
    const run = await startRun(stack.url, { projectId: 'cancel', compiledPrompt: 'Never ends [sim:hang]' });
    const page = await signedInPage(`/runs/${run.id}`);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    const confirm = page.getByRole('button', { name: 'Yes, cancel the run' });
    // The confirmation takes the focus, so Enter alone confirms from the keyboard.
    await expect.poll(() => confirm.evaluate((b) => b === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.locator('#run-status [data-status="CANCELLED"]').waitFor();
    await expect.poll(() => page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    expect((await finalRun(stack.url, run.id)).status).toBe('CANCELLED');
    await page.close();
  });
});
