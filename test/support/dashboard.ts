/** Dashboard tests: their own build of the bundle, Debian's Chromium, screenshots as artifacts. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const ROOT = join(import.meta.dirname, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of each page (gitignored; CI keeps them as artifacts). */
export const ARTIFACTS = join(ROOT, 'test-artifacts/dashboard');

/** Builds the dashboard into a fresh temporary folder, so test files never race over dashboard/dist. */
export function buildDashboardCopy(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ohr-dashboard-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-dashboard.mjs'), '--out', join(dir, 'dist')], {
    stdio: 'pipe',
  });
  return { dir: join(dir, 'dist'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
