/**
 * Headless Chromium for the Web UI tests: installed once by scripts/install-browser, launched with a throwaway profile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BrowserContext, chromium } from 'playwright-core';
import { REPO, run } from '../cli/harness';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The browser's executable path (installs it when missing). */
export async function installChromium(): Promise<string> {
  const installed = await run(path.join(REPO, 'scripts', 'install-browser'), [], { timeoutMs: 600_000 });
  if (installed.code !== 0) throw new Error(`scripts/install-browser failed:\n${installed.stderr}`);
  return installed.stdout.trim().split('\n').pop()!;
}

/** A browser on a fresh profile folder; the caller closes the browser and removes the folder. */
export async function launchChromium(
  executablePath: string,
  height: number,
): Promise<{ browser: BrowserContext; profile: string }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1400, height },
    args: CHROMIUM_ARGS,
  });
  return { browser, profile };
}
