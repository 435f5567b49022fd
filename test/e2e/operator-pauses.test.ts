/**
 * When a step fails after its retries: the data is as it should be, the workers run again, and the
 * run waits for an operator. "abort" ends it cleanly; "retry" after the cause is fixed completes it,
 * and so does the `reset-runbook resume …` the CLI prints, run exactly as printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { abortSignal, retrySignal } from '../../src/contract';
import { cli, cliAsPrinted } from '../cli/harness';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { freePort, scrapeUntil, valueOf } from '../support/prometheus';
import { REPO_ROOT, temporalAddress } from '../support/temporal';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

async function liveProcesses(fx: ResetFixture): Promise<number> {
  const r = await fx.sql<{ n: string }>(
    `SELECT count(*) AS n FROM solid_queue_processes WHERE last_heartbeat_at > now() - interval '5 seconds'`,
  );
  return Number(r[0].n);
}

test('a TRUNCATE blocked by another session past lock_timeout: data intact, workers back, run waits; abort ends it', async () => {
  f = await fixture({ target: { timing: { lockTimeoutSeconds: 1, maximumAttempts: 2, heartbeatTimeoutSeconds: 5 } } });
  expect(f.service('start')).toBe(0);
  const customers = await f.count('customers');
  const loans = await f.count('loans');
  const objectsBefore = await f.objects();

  // Another session reads customers in an open transaction: TRUNCATE needs ACCESS EXCLUSIVE and waits.
  const blocker = new PgClient({ connectionString: f.dbUrl });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE customers IN ACCESS SHARE MODE');
  try {
    const metrics = `127.0.0.1:${await freePort()}`;
    await f.startWorker({ RR_METRICS_ADDRESS: metrics });
    const h = await f.start({ mode: 'execute' });
    await approveWhenAsked(h, f.dbName);
    const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
    // The pause shows in the worker's metrics (the ResetRunbookWaitingForOperator alert), the workers back.
    const target = f.target;
    const paused = await scrapeUntil(
      metrics,
      (x) => valueOf(x, 'reset_runbook_runs_waiting', { target, reason: 'operator' }) === 1,
    );
    expect(valueOf(paused, 'reset_runbook_runs_waiting', { target, reason: 'operator' })).toBe(1);
    expect(valueOf(paused, 'reset_runbook_runs_waiting', { target, reason: 'approval' })).toBe(0);
    expect(valueOf(paused, 'reset_runbook_workers_stopped', { target })).toBe(0);
    expect(valueOf(paused, 'reset_runbook_worker_restart_attempts_total', { target, result: 'ok' })).toBe(1);
    expect(valueOf(paused, 'reset_runbook_workers_downtime_seconds_count', { target })).toBe(1);

    expect(p.waiting?.step).toBe('reset');
    expect(p.waiting?.error).toMatch(/TRUNCATE could not lock its tables within 1s/);
    expect(p.waiting?.error).toMatch(/Nothing was changed/);
    expect(p.workers.status).toBe('running');
    expect(p.waiting?.workersRestarted).toBe(true);
    expect(await f.count('customers')).toBe(customers);
    expect(await f.count('loans')).toBe(loans);
    expect(await f.objects()).toEqual(objectsBefore);
    expect(f.service('status')).toBe(0);
    expect(await liveProcesses(f)).toBeGreaterThan(0);

    await h.signal(abortSignal, { reason: 'lock held by a report', by: 'jest' });
    const err = await h.result().catch((e) => e);
    expect(err.cause?.type).toBe('ResetAborted');
    expect(err.cause?.message).toMatch(/lock held by a report/);
    const ended = { target, outcome: 'aborted', end_reason: 'aborted' };
    const after = await scrapeUntil(metrics, (x) => valueOf(x, 'reset_runbook_runs_ended_total', ended) === 1);
    expect(valueOf(after, 'reset_runbook_runs_ended_total', ended)).toBe(1);
    expect(valueOf(after, 'reset_runbook_runs_waiting', { target, reason: 'operator' })).toBe(0);
    expect(await f.count('customers')).toBe(customers);
    expect(await f.objects()).toEqual(objectsBefore);
    expect(f.service('status')).toBe(0);
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await blocker.end();
  }
});

test('a seed command that fails: the run waits; retry after the seeds are fixed completes it', async () => {
  const dirSeed = fs.mkdtempSync('/tmp/rr-seed-');
  const wrapper = path.join(dirSeed, 'seed');
  // An operator's broken seeds file, as a command that fails the way `bin/rails db:seed` would.
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh\necho "seeds.rb:12: undefined method 'find_or_create_by!' (NoMethodError)" >&2\nexit 1\n`,
    { mode: 0o755 },
  );
  f = await fixture({
    seeds: 'command',
    target: { seedCommand: [wrapper], timing: { maximumAttempts: 1, heartbeatTimeoutSeconds: 5 } },
  });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('reset');
  expect(p.waiting?.error).toMatch(/Seed command .* exited with code 1: .*NoMethodError/);
  expect(p.waiting?.error).not.toContain(f.secret);
  expect(f.service('status')).toBe(0);

  // The fix: the seeds work again.
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${path.join(REPO_ROOT, 'demo', 'bin', 'seed')}\n`, { mode: 0o755 });
  await h.signal(retrySignal);
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(
    ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join('\n'),
  );
  expect(f.service('status')).toBe(0);
  fs.rmSync(dirSeed, { recursive: true, force: true });
});

/**
 * The reset locks the tables it empties against writers before it reads what it records (activities/database.ts):
 * an upload whose transaction stays open past lock_timeout makes the step fail with nothing changed. In both
 * orders (the keys recorded by the reset itself, or before the stop), the CLI's status prints the recovery, and
 * that line, run as printed once the upload has committed, completes the reset: the upload's row is truncated
 * with the rest, its key recorded, its file purged.
 */
describe.each([false, true])(
  'an upload open while the reset asks for its lock (startBeforePurge %s)',
  (startBeforePurge) => {
    test('the run waits with nothing changed; the printed resume, once the upload commits, completes it', async () => {
      f = await fixture({
        target: { startBeforePurge, timing: { lockTimeoutSeconds: 1, maximumAttempts: 1, heartbeatTimeoutSeconds: 5 } },
      });
      expect(f.service('start')).toBe(0);
      const blobs = await f.count('active_storage_blobs');
      const customers = await f.count('customers');
      const objectsBefore = await f.objects();

      // The app's upload: its file is in the bucket, its row inserted by a transaction that has not committed.
      const key = `upload${f.id}lockwait`;
      const s3 = new S3Client({
        endpoint: f.endpoint,
        forcePathStyle: true,
        region: process.env.AWS_REGION ?? 'us-east-1',
      });
      await s3.send(new PutObjectCommand({ Bucket: f.bucket, Key: `${f.prefix}${key}`, Body: 'uploaded' }));
      s3.destroy();
      const [{ service }] = await f.sql<{ service: string }>(
        'SELECT service_name AS service FROM active_storage_blobs LIMIT 1',
      );
      const upload = new PgClient({ connectionString: f.dbUrl });
      await upload.connect();
      await upload.query('BEGIN');
      await upload.query(
        `INSERT INTO active_storage_blobs (key, filename, service_name, byte_size, created_at) VALUES ($1, 'upload.jpg', $2, 8, now())`,
        [key, service],
      );
      try {
        await f.startWorker();
        const h = await f.start({ mode: 'execute' });
        await approveWhenAsked(h, f.dbName);
        const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
        expect(p.waiting?.step).toBe('reset');
        expect(p.waiting?.error).toMatch(/TRUNCATE could not lock its tables within 1s .*database "primary"/);
        expect(p.waiting?.error).toMatch(/Nothing was changed/);
        expect(p.workers.status).toBe('running');
        expect(f.service('status')).toBe(0);
        expect(await f.count('customers')).toBe(customers);
        expect(await f.count('active_storage_blobs')).toBe(blobs);
        expect((await f.objects()).size).toBe(objectsBefore.size + 1);

        // What an operator reads, and the line they run once the upload is through.
        const env = { TEMPORAL_ADDRESS: temporalAddress(), RR_TASK_QUEUE: f.taskQueue, NO_COLOR: '1' };
        const status = await cli(['status', f.target], env);
        expect(status.code).toBe(3);
        expect(status.stdout).toContain('TRUNCATE could not lock its tables');
        const printed = /retry the step: (reset-runbook resume \S+)/.exec(status.stdout)?.[1];
        expect(printed).toBe(`reset-runbook resume ${h.workflowId}`);
        await upload.query('COMMIT');
        const resumed = await cliAsPrinted(printed!, env);
        expect(resumed.code).toBe(0);
        expect(resumed.stdout).toContain('retrying step "reset"');

        const r = await h.result();
        expect(r.outcome).toBe('completed');
        expect(r.verify?.report).toBe(
          ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join(
            '\n',
          ),
        );
        // The committed upload was counted before the TRUNCATE, recorded, and its file purged with the others'.
        expect(r.countsBefore?.['primary/public.active_storage_blobs']).toBe(blobs + 1);
        const after = await f.objects();
        expect(after.has(`${f.prefix}${key}`)).toBe(false);
        expect(r.objectsDeleted?.count).toBe(
          [...objectsBefore.keys(), `${f.prefix}${key}`].filter((k) => !after.has(k)).length,
        );
        expect(f.service('status')).toBe(0);
      } finally {
        await upload.query('ROLLBACK').catch(() => undefined);
        await upload.end();
      }
    });
  },
);
