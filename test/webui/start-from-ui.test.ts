/**
 * The Temporal Web UI of the dev server, driven in headless Chromium (Debian's chromium through
 * playwright-core): an operator starts a reset from the Start Workflow form, finds it by its search
 * attribute, sees it wait for approval (the run's current details), approves it with a signal from
 * the UI, and sees it complete. A screenshot of the finished run is saved to
 * test-results/webui/finished-run.png.
 *
 *   npx jest --runInBand test/webui      (scripts/install-browser installs chromium when missing)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BrowserContext, Page } from 'playwright-core';
import { installChromium, launchChromium } from './chromium';
import {
  countRows,
  dropTarget,
  Env,
  makeTarget,
  REPO,
  stackEnv,
  startWorker,
  Target,
  WorkerProcess,
} from '../cli/harness';

jest.setTimeout(300_000);

const NAME = `webui${process.pid}`;
const WORKFLOW_ID = `reset-${NAME}`;
const TASK_QUEUE = `rr-webui-${process.pid}`;
const SCREENSHOT = path.join(REPO, 'test-results', 'webui', 'finished-run.png');

let stack: Env;
let target: Target;
let worker: WorkerProcess | undefined;
let browser: BrowserContext | undefined;
let profile: string | undefined;
let page: Page;
let ui: string;

beforeAll(async () => {
  const executablePath = await installChromium();
  stack = await stackEnv();
  ui = stack.RR_TEMPORAL_UI_URL;
  target = await makeTarget(stack, NAME);
  worker = await startWorker({ ...target.env, RR_TASK_QUEUE: TASK_QUEUE });
  // A fresh profile each run (Chromium as root also needs --no-sandbox).
  ({ browser, profile } = await launchChromium(executablePath, 1000));
  page = await browser.newPage();
  page.setDefaultTimeout(30_000);
});

afterAll(async () => {
  await browser?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await worker?.stop();
  await dropTarget(target);
});

/** Whether `text` shows in the page or any of its frames (the UI renders a run's markdown details in an iframe). */
async function shows(text: string | RegExp): Promise<boolean> {
  for (const frame of page.frames()) {
    const body = await frame
      .locator('body')
      .innerText({ timeout: 2_000 })
      .catch(() => '');
    if (typeof text === 'string' ? body.includes(text) : text.test(body)) return true;
  }
  return false;
}

/** Reloads the page until `text` shows (the UI fetches a run's state once per load). */
async function reloadUntil(text: string | RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (let i = 0; i < 6; i++) {
      if (await shows(text)) return;
      await page.waitForTimeout(500);
    }
    if (Date.now() > deadline) {
      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT.replace('finished-run', 'failure'), fullPage: true });
      throw new Error(`the Web UI never showed ${text} at ${page.url()} (screenshot: test-results/webui/failure.png)`);
    }
    await page.reload();
  }
}

/** Types JSON into a CodeMirror "Data" editor of the UI, then leaves it so the form takes it. */
async function typeJson(scope: Page | ReturnType<Page['locator']>, value: unknown): Promise<void> {
  const editor = scope.locator('.cm-content').first();
  await editor.click();
  await page.keyboard.insertText(JSON.stringify(value));
  await page.keyboard.press('Tab');
}

test('start a reset from the Web UI, approve it with a signal, see it complete', async () => {
  // 1. The Start Workflow form: workflow id, task queue, workflow type, one JSON input.
  await page.goto(`${ui}/namespaces/default/workflows/start-workflow`);
  await page.getByTestId('workflowId').fill(WORKFLOW_ID);
  await page.getByTestId('taskQueue').fill(TASK_QUEUE);
  await page.getByTestId('workflowType').fill('productionDataReset');
  await typeJson(page, { target: NAME, mode: 'execute', reason: 'started from the Web UI' });
  await page.getByText('Task Queue is Active').waitFor();
  const started = page.waitForResponse(
    (r) => r.request().method() === 'POST' && r.url().includes(`/workflows/${WORKFLOW_ID}`),
  );
  await page.getByTestId('start-workflow-button').click();
  expect((await started).status()).toBe(200);

  // 2. The run appears in the list, filtered by its search attribute.
  await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(`ResetTarget="${NAME}"`)}`);
  await reloadUntil(WORKFLOW_ID, 60_000);

  // 3. It waits for approval: the run's current details say so; the timeline names the runbook's steps.
  await page.goto(`${ui}/namespaces/default/workflows/${WORKFLOW_ID}`);
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await reloadUntil(/\(execute\): awaiting-approval/);
  expect(await shows(/waiting for signal .approve. with/)).toBe(true);
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await page.getByText('1 Backup the database').first().waitFor();

  // 4. Approve: More Actions → Send a Signal → "approve" with the database's name.
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
  const dialog = page.locator('dialog[open]').filter({ hasText: 'Send a Signal' });
  await dialog.getByTestId('signal-select-button').click();
  await page.getByRole('option', { name: 'approve', exact: true }).click();
  await typeJson(dialog, { confirmation: `rr_${NAME}` });
  const signalled = page.waitForResponse((r) => r.request().method() === 'POST' && /\/signal\//.test(r.url()));
  await dialog.getByTestId('confirm-modal-button').click();
  expect((await signalled).status()).toBe(200);

  // 5. It completes; the database is reset; the finished run is photographed.
  await page.goto(`${ui}/namespaces/default/workflows/${WORKFLOW_ID}`);
  await reloadUntil(/\bCOMPLETED\b/, 120_000);
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await reloadUntil(/\(execute\): completed/);
  expect(await countRows(target.databaseUrl, 'customers')).toBe(0);
  expect(await countRows(target.databaseUrl, 'users')).toBe(6);
  // The steps that are activities by their titles; step 6, a local activity, by its type (the UI names a local
  // activity's marker so).
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await page.getByText('3 Reset the database').first().waitFor();
  await page.getByText('verifyCounts').first().waitFor();
  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
});
