/**
 * A schedule made by `reset-runbook schedule create` shows on the Temporal Web UI's Schedules page
 * (headless Chromium, as start-from-ui.test.ts), and its page shows what it starts (resetFleet) and
 * the note it was paused with. A screenshot is saved to test-results/webui/schedule.png.
 *
 *   RR_KEEP_STACK=1 RR_SKIP_CHECKS=1 scripts/test test/webui/schedules.test.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BrowserContext, Page } from 'playwright-core';
import { installChromium, launchChromium } from './chromium';
import {
  cli,
  dropTarget,
  Env,
  makeTarget,
  REPO,
  run,
  stackEnv,
  startWorker,
  Target,
  WorkerProcess,
} from '../cli/harness';

jest.setTimeout(300_000);

const NAME = `webuisched${process.pid}`;
const SCHEDULE_ID = `reset-schedule-${NAME}`;
const SCREENSHOT = path.join(REPO, 'test-results', 'webui', 'schedule.png');

let target: Target;
let env: Env;
let worker: WorkerProcess | undefined;
let browser: BrowserContext | undefined;
let profile: string | undefined;
let page: Page;
let ui: string;

beforeAll(async () => {
  const executablePath = await installChromium();
  const stack = await stackEnv();
  ui = stack.RR_TEMPORAL_UI_URL;
  target = await makeTarget(stack, NAME, { approvalRequired: false });
  env = { ...target.env, RR_TASK_QUEUE: `rr-webui-sched-${process.pid}` };
  // The demo database says production: a schedule is refused for it.
  await run(path.join(stack.RR_PG_BIN, 'psql'), [
    target.databaseUrl,
    '-c',
    "UPDATE ar_internal_metadata SET value = 'staging' WHERE key = 'environment'",
  ]);
  worker = await startWorker(env);
  ({ browser, profile } = await launchChromium(executablePath, 1000));
  page = await browser.newPage();
  page.setDefaultTimeout(30_000);
});

afterAll(async () => {
  await cli(['schedule', 'delete', NAME], env).catch(() => undefined);
  await browser?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await worker?.stop();
  await dropTarget(target);
});

/** Reloads the page until `text` shows (the list of schedules is eventually consistent). */
async function reloadUntil(text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The UI renders after its own fetches: look a few times before reloading.
    for (let i = 0; i < 10; i++) {
      const body = await page
        .locator('body')
        .innerText({ timeout: 5_000 })
        .catch(() => '');
      if (body.includes(text)) return;
      await page.waitForTimeout(500);
    }
    if (Date.now() > deadline) {
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT.replace('schedule.png', 'schedule-failure.png'), fullPage: true });
      throw new Error(
        `the Web UI never showed ${text} at ${page.url()} (screenshot: test-results/webui/schedule-failure.png)`,
      );
    }
    await page.reload();
  }
}

test('the schedule shows on the Schedules page, with what it starts and its pause note', async () => {
  const c = await cli(['schedule', 'create', NAME, '--cron', '0 5 1 1 *', '--timezone', 'Europe/Berlin'], env);
  expect(c.code).toBe(0);
  expect((await cli(['schedule', 'pause', NAME, '--note', 'seen in the Web UI test'], env)).code).toBe(0);

  await page.goto(`${ui}/namespaces/default/schedules`);
  await reloadUntil(SCHEDULE_ID);
  await page.goto(`${ui}/namespaces/default/schedules/${SCHEDULE_ID}`);
  await reloadUntil('resetFleet');
  await reloadUntil('seen in the Web UI test');
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});
