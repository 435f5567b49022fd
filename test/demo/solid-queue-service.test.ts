/**
 * The stand-in Solid Queue service against a real database, driven through scripts/solid-queue-service
 * exactly as a target's stop/start commands drive it. Every test starts its own service (own pid file)
 * and the afterEach stops whatever is still running.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { ensureDatabase, loadSchema, seed } from '../../demo/generate';
import { dropDatabase } from '../../demo/lib/db';
import { databaseUrl, uniqueName, waitFor } from './env';

const REPO = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(REPO, 'scripts', 'solid-queue-service');

let url: string;
let db: Client;
const started: { env: NodeJS.ProcessEnv; dir: string }[] = [];

function control(cmd: 'start' | 'stop' | 'status', env: NodeJS.ProcessEnv) {
  return spawnSync(SCRIPT, [cmd], { env, encoding: 'utf8', timeout: 60000 });
}

/** Starts a service with its own pid file; returns its env and pid. */
function startService(extra: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sq-test-'));
  const env = {
    ...process.env,
    DATABASE_URL: url,
    QUEUE_DATABASE_URL: '',
    SQ_PID_FILE: path.join(dir, 'solid_queue.pid'),
    SQ_HEARTBEAT_SECONDS: '1',
    SQ_POLL_SECONDS: '0.2',
    SQ_DISPATCHER_POLL_SECONDS: '0.2',
    ...extra,
  };
  started.push({ env, dir });
  const t0 = Date.now();
  const r = control('start', env);
  if (r.status !== 0) throw new Error(`start failed (${r.status}): ${r.stdout}${r.stderr}`);
  const pid = Number(fs.readFileSync(env.SQ_PID_FILE, 'utf8').trim());
  return { env, pid, startMs: Date.now() - t0, log: path.join(dir, 'solid_queue.log') };
}

async function rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query(sql, params)).rows as T[];
}

async function enqueue(n: number, opts: { scheduledAt?: string } = {}): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const [{ id }] = await rows<{ id: number }>(
      `INSERT INTO solid_queue_jobs (queue_name, class_name, arguments, priority, active_job_id, scheduled_at, created_at, updated_at)
       VALUES ('default', 'PaymentReminderJob', '{}', 0, gen_random_uuid()::text, coalesce($1::timestamp, now() AT TIME ZONE 'UTC'),
               now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC') RETURNING id::int`,
      [opts.scheduledAt ?? null],
    );
    if (opts.scheduledAt) {
      await db.query(
        `INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at) VALUES ($1, 'default', 0, $2, now() AT TIME ZONE 'UTC')`,
        [id, opts.scheduledAt],
      );
    } else {
      await db.query(
        `INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at) VALUES ($1, 'default', 0, now() AT TIME ZONE 'UTC')`,
        [id],
      );
    }
    ids.push(id);
  }
  return ids;
}

function isAlive(pid: number): boolean {
  try {
    const state = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\S)/m)?.[1];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

beforeAll(async () => {
  url = databaseUrl(uniqueName('demo_sq'));
  await ensureDatabase(url);
  await loadSchema(url);
  await seed(url);
  db = new Client({ connectionString: url });
  await db.connect();
});

afterEach(async () => {
  for (const s of started.splice(0)) {
    control('stop', s.env);
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
  await db.query(
    'TRUNCATE solid_queue_jobs, solid_queue_processes, solid_queue_claimed_executions, solid_queue_ready_executions, solid_queue_scheduled_executions, solid_queue_failed_executions CASCADE',
  );
});

afterAll(async () => {
  await db?.end();
  if (url) await dropDatabase(url);
});

test('start registers a supervisor, a worker and a dispatcher; status says running; start is idempotent', async () => {
  const s = startService();
  expect(s.startMs).toBeLessThan(5000);
  const procs = await rows<{
    id: string;
    kind: string;
    pid: number;
    supervisor_id: string | null;
    name: string;
    metadata: string;
  }>('SELECT id, kind, pid, supervisor_id, name, metadata FROM solid_queue_processes ORDER BY id');
  expect(procs.map((p) => p.kind)).toEqual(['Supervisor', 'Worker', 'Dispatcher']);
  expect(procs.every((p) => p.pid === s.pid)).toBe(true);
  expect(procs[0].supervisor_id).toBeNull();
  expect(procs.slice(1).every((p) => p.supervisor_id === procs[0].id)).toBe(true);
  expect(procs[1].name).toMatch(/^worker-[0-9a-f]{20}$/);
  expect(JSON.parse(procs[1].metadata)).toMatchObject({ queues: '*' });

  expect(control('status', s.env).status).toBe(0);
  const again = control('start', s.env);
  expect(again.status).toBe(0);
  expect(again.stdout).toMatch(/already running/);
  expect(await rows('SELECT id FROM solid_queue_processes')).toHaveLength(3);
});

test('heartbeats advance', async () => {
  startService();
  const beat = async () =>
    (await rows<{ t: Date }>(`SELECT max(last_heartbeat_at) AS t FROM solid_queue_processes`))[0].t.getTime();
  const first = await beat();
  await waitFor('a newer heartbeat', async () => (await beat()) > first, 10000, 200);
});

test('the worker finishes ready jobs and the dispatcher dispatches due scheduled ones', async () => {
  startService();
  const ready = await enqueue(5);
  const scheduled = await enqueue(2, { scheduledAt: '2000-01-01 00:00:00' });
  const future = await enqueue(1, { scheduledAt: '2999-01-01 00:00:00' });
  const all = [...ready, ...scheduled];
  await waitFor('all due jobs finished', async () => {
    const [{ n }] = await rows<{ n: number }>(
      'SELECT count(*)::int AS n FROM solid_queue_jobs WHERE id = ANY($1) AND finished_at IS NOT NULL',
      [all],
    );
    return n === all.length;
  });
  expect(await rows('SELECT * FROM solid_queue_ready_executions')).toEqual([]);
  expect(await rows('SELECT * FROM solid_queue_claimed_executions')).toEqual([]);
  expect(await rows<{ job_id: string }>('SELECT job_id::int AS job_id FROM solid_queue_scheduled_executions')).toEqual([
    { job_id: future[0] },
  ]);
});

test('SIGTERM (stop) releases claims back to ready and deregisters; stopping again is success', async () => {
  // Slow jobs and a short shutdown timeout: the jobs are still running when TERM arrives.
  const s = startService({ SQ_JOB_SECONDS: '60', SQ_SHUTDOWN_TIMEOUT_SECONDS: '0.5' });
  const jobs = await enqueue(3);
  await waitFor(
    '3 claimed executions',
    async () => (await rows('SELECT 1 FROM solid_queue_claimed_executions')).length === 3,
  );
  const stop = control('stop', s.env);
  expect(stop.status).toBe(0);
  expect(isAlive(s.pid)).toBe(false);
  expect(await rows('SELECT * FROM solid_queue_processes')).toEqual([]);
  expect(await rows('SELECT * FROM solid_queue_claimed_executions')).toEqual([]);
  const back = await rows<{ job_id: number }>(
    'SELECT job_id::int AS job_id FROM solid_queue_ready_executions ORDER BY job_id',
  );
  expect(back.map((r) => r.job_id)).toEqual(jobs);
  expect(control('status', s.env).status).toBe(3);
  expect(control('stop', s.env).status).toBe(0);
  expect(fs.readFileSync(s.log, 'utf8')).toMatch(/released 3 claimed job\(s\) back to ready/);
});

test('SIGKILL leaves the rows and the claims behind; the next start prunes them once stale', async () => {
  const s = startService({ SQ_JOB_SECONDS: '60' });
  await enqueue(2);
  await waitFor(
    '2 claimed executions',
    async () => (await rows('SELECT 1 FROM solid_queue_claimed_executions')).length === 2,
  );
  process.kill(s.pid, 'SIGKILL');
  await waitFor('the process to die', async () => !isAlive(s.pid));
  expect(control('status', s.env).status).toBe(3);
  const left = await rows<{ kind: string; t: Date }>(
    'SELECT kind, last_heartbeat_at AS t FROM solid_queue_processes ORDER BY id',
  );
  expect(left.map((p) => p.kind)).toEqual(['Supervisor', 'Worker', 'Dispatcher']);
  expect(await rows('SELECT 1 FROM solid_queue_claimed_executions')).toHaveLength(2);
  // No heartbeat any more.
  await new Promise((r) => setTimeout(r, 2500));
  const after = await rows<{ t: Date }>('SELECT last_heartbeat_at AS t FROM solid_queue_processes ORDER BY id');
  expect(after.map((p) => p.t.getTime())).toEqual(left.map((p) => p.t.getTime()));

  // A new start with a 1 s alive threshold finds them dead: prunes rows, fails their claims (as Solid Queue does).
  startService({ SQ_ALIVE_THRESHOLD_SECONDS: '1' });
  const procs = await rows<{ pid: number }>('SELECT pid FROM solid_queue_processes');
  expect(procs).toHaveLength(3);
  expect(procs.every((p) => p.pid !== s.pid)).toBe(true);
  expect(await rows('SELECT 1 FROM solid_queue_claimed_executions')).toHaveLength(0);
  const failed = await rows<{ error: string }>('SELECT error FROM solid_queue_failed_executions');
  expect(failed).toHaveLength(2);
  expect(JSON.parse(failed[0].error).exception_class).toBe('SolidQueue::Processes::ProcessPrunedError');
});

test('start fails with a message when the database is unreachable', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sq-test-'));
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl('demo_no_such_database'),
    QUEUE_DATABASE_URL: '',
    SQ_PID_FILE: path.join(dir, 'sq.pid'),
  };
  const r = control('start', env);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/failed to start/);
  expect(r.stderr).toMatch(/does not exist/);
  expect(control('status', env).status).toBe(3);
  fs.rmSync(dir, { recursive: true, force: true });
});
