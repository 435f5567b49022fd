/**
 * The Web UI with encrypted history, in headless Chromium: a dev server of this test's own (its UI's
 * codec endpoint set to `reset-runbook codec-server`, as an operator would with
 * --ui-codec-endpoint), a worker and the CLI with RR_CODEC_KEYS, a plan run. With the codec server
 * up, the run's page shows the decoded plan (the database's name); with it down, only encoded
 * payloads (binary/encrypted) and never the name. Screenshots: test-results/webui/codec-*.png.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BrowserContext, Page } from 'playwright-core';
import { installChromium, launchChromium } from './chromium';
import {
  CLI,
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

jest.setTimeout(420_000);

const NAME = `codecui${process.pid}`;
const TASK_QUEUE = `rr-codecui-${process.pid}`;
const KEYS = `k1:${randomBytes(32).toString('base64')}`;
const SHOTS = path.join(REPO, 'test-results', 'webui');

let stack: Env;
let target: Target | undefined;
let worker: WorkerProcess | undefined;
let codec: ChildProcess | undefined;
let server: ChildProcess | undefined;
let serverDir: string | undefined;
let browser: BrowserContext | undefined;
let profile: string | undefined;
let page: Page;
let ui: string;
let address: string;
let codecUrl: string;
let executablePath: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startCodecServer(origin: string): Promise<string> {
  codec = spawn(
    process.execPath,
    [
      '--require',
      'tsx/cjs',
      path.join(REPO, 'src', 'cli', 'index.ts'),
      'codec-server',
      '--port',
      '0',
      '--origin',
      origin,
      '--json',
    ],
    {
      cwd: REPO,
      env: { ...process.env, RR_CODEC_KEYS: KEYS },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  return new Promise<string>((resolve, reject) => {
    codec!.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line).url);
    });
    codec!.once('exit', (c) => reject(new Error(`codec-server exited ${c}: ${out}`)));
  });
}

async function stopCodecServer(): Promise<void> {
  if (!codec || codec.exitCode !== null || codec.signalCode !== null) return;
  const exited = new Promise((r) => codec!.once('exit', r));
  codec.kill('SIGINT');
  await exited;
}

beforeAll(async () => {
  executablePath = await installChromium();
  stack = await stackEnv();
  // The codec server must know the UI's origin, and the UI the codec server's address: pick the UI port first.
  const [port, uiPort] = [await freePort(), await freePort()];
  ui = `http://127.0.0.1:${uiPort}`;
  address = `127.0.0.1:${port}`;
  codecUrl = await startCodecServer(ui);
  serverDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-codecui-'));
  const log = fs.openSync(path.join(serverDir, 'temporal.log'), 'a');
  server = spawn(
    stack.RR_TEMPORAL_BIN,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--ui-codec-endpoint',
      codecUrl,
      '--namespace',
      'default',
      '--search-attribute',
      'ResetTarget=Keyword',
      '--search-attribute',
      'ResetStep=Keyword',
      '--search-attribute',
      'ResetOutcome=Keyword',
      '--ui-disable-news-fetch',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await run(
      stack.RR_TEMPORAL_BIN,
      ['operator', 'namespace', 'describe', '--namespace', 'default', '--address', address],
      { timeoutMs: 20_000 },
    );
    if (r.code === 0) break;
    if (Date.now() > deadline)
      throw new Error(
        `the test's dev server did not come up:\n${fs.readFileSync(path.join(serverDir, 'temporal.log'), 'utf8')}`,
      );
    await new Promise((r2) => setTimeout(r2, 500));
  }
  target = await makeTarget(stack, NAME, { codecKeys: KEYS });
  worker = await startWorker({ ...target.env, TEMPORAL_ADDRESS: address, RR_TASK_QUEUE: TASK_QUEUE });
  ({ browser, profile } = await launchChromium(executablePath, 1400));
  page = await browser.newPage();
  page.setDefaultTimeout(30_000);
});

afterAll(async () => {
  await browser?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
  await worker?.stop();
  await stopCodecServer();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (serverDir) fs.rmSync(serverDir, { recursive: true, force: true });
  await dropTarget(target);
});

async function pageText(): Promise<string> {
  let all = '';
  for (const frame of page.frames())
    all +=
      (await frame
        .locator('body')
        .innerText({ timeout: 2_000 })
        .catch(() => '')) + '\n';
  return all;
}

async function waitForText(pred: (t: string) => boolean, shot: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await pageText();
    if (pred(t)) return t;
    if (Date.now() > deadline) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `${shot}-failure.png`), fullPage: true });
      throw new Error(
        `the Web UI never showed what was expected (screenshot test-results/webui/${shot}-failure.png):\n${t.slice(0, 3000)}`,
      );
    }
    await page.waitForTimeout(1000);
  }
}

test('the UI shows the decoded plan through the codec server, and encoded payloads without it', async () => {
  const dbName = `rr_${NAME}`;
  const planned = await run(CLI, ['plan', NAME], {
    env: { ...target!.env, TEMPORAL_ADDRESS: address, RR_TASK_QUEUE: TASK_QUEUE },
    timeoutMs: 180_000,
  });
  expect(planned.code).toBe(0);
  const workflowId = /workflow (plan-\S+),/.exec(planned.stderr)![1];

  await page.goto(`${ui}/namespaces/default/workflows/${workflowId}`);
  const decoded = await waitForText((t) => t.includes(dbName), 'codec-decoded');
  expect(decoded).toContain('databaseName');
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'codec-decoded.png'), fullPage: true });

  // Without the codec server the UI has only what the server stores: ciphertext.
  await stopCodecServer();
  await browser!.close();
  fs.rmSync(profile!, { recursive: true, force: true });
  ({ browser, profile } = await launchChromium(executablePath, 1400));
  page = await browser.newPage();
  await page.goto(`${ui}/namespaces/default/workflows/${workflowId}`);
  const encoded = await waitForText((t) => /binary\/encrypted|YmluYXJ5L2VuY3J5cHRlZA/.test(t), 'codec-encoded');
  expect(encoded).not.toContain(dbName);
  await page.screenshot({ path: path.join(SHOTS, 'codec-encoded.png'), fullPage: true });
});
