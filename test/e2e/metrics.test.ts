/**
 * The worker's Prometheus endpoint (RR_METRICS_ADDRESS) during and after a real reset: the run waiting
 * for approval shows in the gauge; afterwards the step durations and the workers' downtime equal the
 * run's own figures, the runs are counted by outcome, the SDK's poller gauge is there, and no secret is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approveSignal, progressQuery } from '../../src/contract';
import { waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { freePort, parseMetrics, scrape, scrapeUntil, valueOf } from '../support/prometheus';
import { REPO_ROOT } from '../support/temporal';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

const P = 'reset_runbook_';

test('a reset shows in the worker metrics: waiting, step durations, downtime, counts, and no secret', async () => {
  f = await fixture();
  expect(f.service('start')).toBe(0);
  const address = `127.0.0.1:${await freePort()}`;
  await f.startWorker({ RR_METRICS_ADDRESS: address });
  const target = f.target;

  const h = await f.start({ mode: 'execute', reason: 'e2e: metrics' });
  await waitFor(h, (p) => p.phase === 'awaiting-approval');
  // Each scrape is kept in the test's folder (RR_KEEP_TEST_FILES=1 keeps the folder).
  const waitingText = await scrape(address);
  fs.writeFileSync(path.join(f.dir, 'metrics-waiting.txt'), waitingText);
  const waiting = parseMetrics(waitingText);
  expect(valueOf(waiting, `${P}runs_waiting`, { target, kind: 'reset', reason: 'approval' })).toBe(1);
  expect(valueOf(waiting, `${P}runs_started_total`, { target, kind: 'reset', mode: 'execute' })).toBe(1);
  // The SDK's own: this worker polls the run's task queue (what the "no worker polling" alert reads).
  expect(
    valueOf(waiting, 'temporal_num_pollers', { task_queue: f.taskQueue, poller_type: 'workflow_task' }),
  ).toBeGreaterThan(0);

  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  const progress = await h.query(progressQuery);

  const after = await scrapeUntil(address, (x) => valueOf(x, `${P}runs_ended_total`, { target }) !== undefined);
  expect(
    valueOf(after, `${P}runs_ended_total`, { target, kind: 'reset', outcome: 'completed', end_reason: 'completed' }),
  ).toBe(1);
  expect(valueOf(after, `${P}runs_waiting`, { target, reason: 'approval' })).toBe(0);
  expect(valueOf(after, `${P}workers_stopped`, { target })).toBe(0);
  expect(valueOf(after, `${P}workers_still_stopped`, { target })).toBe(0);

  // Each step's duration is the result's, to the millisecond.
  for (const [step, ms] of Object.entries(r.stepDurationsMs ?? {})) {
    expect({ step, s: valueOf(after, `${P}step_duration_seconds_sum`, { target, step, status: 'done' }) }).toEqual({
      step,
      s: expect.closeTo(ms / 1000, 3),
    });
    expect(valueOf(after, `${P}step_duration_seconds_count`, { target, step })).toBe(1);
  }
  // The downtime: from the stop (workers.stoppedSince) to the end of step 5.
  const started = progress.steps.find((s) => s.name === 'startWorkers')!;
  const downtime = (Date.parse(started.endedAt!) - Date.parse(r.workers!.stoppedSince!)) / 1000;
  expect(downtime).toBeGreaterThan(0);
  expect(valueOf(after, `${P}workers_downtime_seconds_sum`, { target, kind: 'reset' })).toBeCloseTo(downtime, 3);
  expect(valueOf(after, `${P}workers_downtime_seconds_count`, { target })).toBe(1);

  // What the activities did, from their results.
  const reset = progress.steps.find((s) => s.name === 'reset')!;
  const truncated = Number(/^(\d+) rows truncated/.exec(reset.detail ?? '')?.[1]);
  expect(truncated).toBeGreaterThan(0);
  expect(valueOf(after, `${P}rows_truncated_total`, { target })).toBe(truncated);
  expect(valueOf(after, `${P}objects_purged_total`, { target })).toBe(r.objectsDeleted!.count);
  const quarantine = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8')).targets[target].storage?.quarantine;
  expect(valueOf(after, `${P}objects_quarantined_total`, { target })).toBe(quarantine ? r.objectsDeleted!.count : 0);
  const bytes = r.backup!.files.reduce((a, x) => a + x.bytes, 0);
  expect(valueOf(after, `${P}backup_bytes_sum`, { target })).toBe(bytes);
  const backupSeconds = valueOf(after, `${P}backup_duration_seconds_sum`, { target })!;
  expect(backupSeconds).toBeGreaterThan(0);
  expect(backupSeconds).toBeLessThanOrEqual(r.stepDurationsMs!.backup! / 1000 + 0.5);

  // The docs' table names what the exporter serves: every one of ours is there after a reset
  // (but the restart attempts, which only a compensation counts).
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'operators', 'observability.md'), 'utf8');
  const names = [...doc.matchAll(/^\| `(reset_runbook_[a-z_]+)`/gm)].map((m) => m[1]);
  expect(names.length).toBeGreaterThan(10);
  const served = new Set(after.map((x) => x.name.replace(/_(bucket|sum|count)$/, '')));
  expect(names.filter((n) => !served.has(n) && !n.includes('restart_attempts'))).toEqual([]);

  // No secret and no URL: the database password, the S3 secret key, the database URL.
  const text = await scrape(address);
  fs.writeFileSync(path.join(f.dir, 'metrics-after.txt'), text);
  for (const secret of [f.secret, `s3-${f.secret}`, f.dbUrl, 'postgres://', f.dbName])
    expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
}, 60_000);
