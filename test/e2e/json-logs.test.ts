/**
 * RR_LOG_FORMAT=json on a real worker process: a whole reset, then every line the worker wrote
 * (stdout and stderr, start to shutdown) is one JSON object, the activities' lines name their run,
 * target and step, and no secret of the worker's environment is in any of them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { STEP_OF_ACTIVITY } from '../../src/observability/log-line';
import { approveAndFinish } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { REPO_ROOT } from '../support/temporal';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('a json worker writes only JSON lines, each activity line with its run, target and step, and no secret', async () => {
  f = await fixture();
  expect(f.service('start')).toBe(0);
  // A warning as the process starts, and on SIGWINCH one that quotes every secret of the worker's environment:
  // Node would print both as plain text. NODE_OPTIONS preloads into the SDK's workflow threads too, whose process
  // warnings nothing of ours sees: the main thread's only.
  const preload = path.join(f.dir, 'warn.js');
  fs.writeFileSync(
    preload,
    [
      "if (require('node:worker_threads').isMainThread) {",
      "  process.emitWarning('a warning from a preloaded module', 'TestWarning');",
      "  process.on('SIGWINCH', () => {",
      '    const url = process.env.E2E_DATABASE_URL;',
      "    const quoted = [url, new URL(url).password, process.env.AWS_SECRET_ACCESS_KEY].join(' ');",
      "    process.emitWarning(`leak: ${quoted}`, 'LeakWarning');",
      '  });',
      '}',
      '',
    ].join('\n'),
  );
  // DEBUG: the SDK's own line for every activity start and end, so every step shows up.
  const worker = await f.startWorker({
    RR_LOG_FORMAT: 'json',
    RR_LOG_LEVEL: 'DEBUG',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
  });
  worker.child.kill('SIGWINCH');
  const deadline = Date.now() + 10_000;
  while (!worker.log().includes('LeakWarning') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const h = await f.start({ mode: 'execute', reason: 'e2e: json logs' });
  const r = await approveAndFinish(h, f.dbName);
  expect(r.outcome).toBe('completed');
  const { runId } = await h.describe();
  // A graceful stop, so the shutdown lines (and the runtime's flush of its buffered lines) are in the log too.
  await worker.kill('SIGTERM');

  const text = worker.log();
  const lines = text.split('\n').filter((l) => l !== '');
  const parsed = lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`worker log line ${i + 1} is not JSON: ${l}`);
    }
  });
  for (const o of parsed) {
    expect(typeof o.time).toBe('string');
    expect(['trace', 'debug', 'info', 'warn', 'error']).toContain(o.level);
    expect(typeof o.message).toBe('string');
  }
  expect(parsed.find((o) => String(o.message).startsWith('reset-runbook worker: task queue'))).toBeDefined();
  expect(parsed).toContainEqual(expect.objectContaining({ level: 'warn', warning: 'TestWarning' }));
  // The control: a line that did quote the secrets, redacted.
  expect(parsed).toContainEqual(
    expect.objectContaining({ warning: 'LeakWarning', message: 'leak: [redacted] [redacted] [redacted]' }),
  );

  const ofRun = parsed.filter((o) => o.workflowId === h.workflowId);
  const activity = ofRun.filter((o) => typeof o.activityType === 'string');
  const steps = new Set<unknown>();
  for (const o of activity) {
    expect(o).toMatchObject({ runId, target: f.target, attempt: expect.any(Number) });
    expect(o.step).toBe(STEP_OF_ACTIVITY[o.activityType as string]);
    steps.add(o.step);
  }
  expect([...steps].filter(Boolean).sort()).toEqual(
    ['backup', 'plan', 'purgeStorage', 'reset', 'startWorkers', 'stopWorkers', 'verify'].sort(),
  );
  // The workflow's own lines (through the SDK's logger sink) carry the run and its target too.
  expect(ofRun.filter((o) => o.sdkComponent === 'workflow' || o.message === 'Workflow started')).not.toEqual([]);
  for (const o of ofRun) expect(o).toMatchObject({ runId, target: f.target });

  // No secret: the database URL, its password, the S3 secret key.
  expect(text).toContain(f.target); // control: the log does name what it should
  for (const secret of [f.dbUrl, f.secret, `s3-${f.secret}`]) expect(text).not.toContain(secret);
});

test('an unknown RR_LOG_FORMAT stops the worker at once, exit 2, naming the variable and the allowed values', () => {
  // Port 1: nothing listens there, so a worker that tried to connect would say so instead.
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(REPO_ROOT, 'src', 'worker.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, RR_LOG_FORMAT: 'xml', TEMPORAL_ADDRESS: '127.0.0.1:1' },
    encoding: 'utf8',
  });
  expect(r.status).toBe(2);
  expect(r.stderr.trim()).toBe(
    'reset-runbook worker: RR_LOG_FORMAT="xml" is not a log format: use text (the default) or json',
  );
  expect(r.stdout).toBe('');
});
