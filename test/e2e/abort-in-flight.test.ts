/**
 * An abort reaches the step in flight: a long backup, a seed command, a TRUNCATE blocked by another
 * session's lock and a long SQL seed each stop within the heartbeat timeout plus a few seconds —
 * processes killed with their group, the statement cancelled on the server and rolled back, no
 * partial file — and the run compensates (workers running) and ends "aborted".
 * And a worker SIGKILLed during a slow stop command takes that command with it: the replacement
 * worker's retry never runs while the first copy still runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import type { WorkflowHandle } from '@temporalio/client';
import { abortSignal } from '../../src/contract';
import type { productionDataReset } from '../../src/workflows';
import { approveAndFinish, approveWhenAsked } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { REPO_ROOT } from '../support/temporal';

const HEARTBEAT_TIMEOUT_S = 5;
/** "Within the heartbeat timeout plus a few seconds", with a generous margin for a loaded 2-core machine. */
const ABORT_LIMIT_MS = (HEARTBEAT_TIMEOUT_S + 20) * 1000;

let f: ResetFixture;
let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync('/tmp/rr-abort-');
});
afterEach(async () => {
  await f?.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Alive = exists and is not a zombie (a killed orphan may wait a while for PID 1 to reap it). */
function alive(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes of a process group (the guard's group: the command and everything it started). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // /proc/<pid>/stat: pid (comm) state ppid pgrp …; comm may hold spaces, so split after ')'.
      const fields = fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** A command for the target that records its process group, then sleeps (a long step). */
function sleeper(name: string, before = ''): string {
  const file = path.join(scratch, name);
  fs.writeFileSync(file, `#!/bin/sh\n${before}ps -o pgid= $$ | tr -d ' ' > ${file}.pgid\nsleep 600\n`, { mode: 0o755 });
  return file;
}
const pgidOf = (cmd: string) =>
  until(`${cmd} to start`, () =>
    fs.existsSync(`${cmd}.pgid`) ? Number(fs.readFileSync(`${cmd}.pgid`, 'utf8')) || undefined : undefined,
  );

async function liveProcesses(fx: ResetFixture): Promise<number> {
  const r = await fx.sql<{ n: string }>(
    `SELECT count(*) AS n FROM solid_queue_processes WHERE last_heartbeat_at > now() - interval '5 seconds'`,
  );
  return Number(r[0].n);
}

/** Sends abort and returns how long the run took to end, and how it ended. */
async function abortAndTime(
  h: WorkflowHandle<typeof productionDataReset>,
  label: string,
): Promise<{ ms: number; err: { cause?: { type?: string; message?: string } } }> {
  const t0 = Date.now();
  await h.signal(abortSignal, { reason: `abort during ${label}`, by: 'jest' });
  // Bounded: an abort that does not reach the step would leave the run sleeping for 10 minutes.
  let timer: NodeJS.Timeout | undefined;
  const tooLate = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the run had not ended ${2 * ABORT_LIMIT_MS} ms after the abort`)),
      2 * ABORT_LIMIT_MS,
    );
  });
  const err = await Promise.race([h.result(), tooLate])
    .then(
      (r) => {
        throw new Error(`the run ended ${r.outcome} instead of aborted`);
      },
      (e) => e,
    )
    .finally(() => clearTimeout(timer));
  if (err instanceof Error && /had not ended|instead of aborted/.test(err.message)) throw err;
  const ms = Date.now() - t0;
  // The closing note and the report quote these figures.
  process.stdout.write(`abort during ${label}: the run ended ${ms} ms after the abort signal\n`);
  fs.appendFileSync(
    path.join(REPO_ROOT, '.stack', 'abort-timings.log'),
    `${new Date().toISOString()} ${label}: ${ms} ms\n`,
  );
  return { ms, err };
}

/** The workers are back: the stand-in service runs and its processes heartbeat. */
async function expectWorkersRunning(fx: ResetFixture): Promise<void> {
  expect(fx.service('status')).toBe(0);
  await until('a fresh Solid Queue heartbeat', async () => (await liveProcesses(fx)) > 0, 15_000);
}

test('abort during a long backup: pg_dump killed with its group, no partial file, nothing touched', async () => {
  // A pg_dump that writes the whole dump, then hangs: the partial file exists and has bytes.
  const slow = path.join(scratch, 'pg_dump');
  fs.writeFileSync(
    slow,
    `#!/bin/sh\n[ "$1" = "--version" ] && exec ${path.join(process.env.RR_PG_BIN!, 'pg_dump')} "$@"\nps -o pgid= $$ | tr -d ' ' > ${slow}.pgid\n${path.join(process.env.RR_PG_BIN!, 'pg_dump')} "$@"\nsleep 600\n`,
    { mode: 0o755 },
  );
  f = await fixture({ target: { backup: { pgDump: slow }, timing: { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S } } });
  expect(f.service('start')).toBe(0);
  const customers = await f.count('customers');
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  const pgid = await pgidOf(slow);
  await until(
    'a partial backup file with bytes',
    () =>
      fs.existsSync(f.backupDir) &&
      fs
        .readdirSync(f.backupDir)
        .some((x) => x.endsWith('.partial') && fs.statSync(path.join(f.backupDir, x)).size > 0),
  );
  expect(groupMembers(pgid).length).toBeGreaterThan(0);

  const { ms, err } = await abortAndTime(h, 'a long backup');
  expect(err.cause?.type).toBe('ResetAborted');
  expect(ms).toBeLessThan(ABORT_LIMIT_MS);
  expect(groupMembers(pgid)).toEqual([]);
  expect(fs.readdirSync(f.backupDir)).toEqual([]);
  expect(await f.count('customers')).toBe(customers);
  await expectWorkersRunning(f);
});

test('abort during a seed command: the command and its children are killed, the workers are started again', async () => {
  const seed = sleeper('seed');
  f = await fixture({
    seeds: 'command',
    target: { seedCommand: [seed], timing: { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S } },
  });
  expect(f.service('start')).toBe(0);
  const phoneModels = await f.count('phone_models');
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const pgid = await pgidOf(seed);
  expect(groupMembers(pgid).length).toBeGreaterThan(0);

  const { ms, err } = await abortAndTime(h, 'a seed command');
  expect(err.cause?.type).toBe('ResetAborted');
  expect(ms).toBeLessThan(ABORT_LIMIT_MS);
  expect(groupMembers(pgid)).toEqual([]);
  // The TRUNCATE had committed before the seed command ran: that stays as it was, and nothing else moved.
  expect(await f.count('customers')).toBe(0);
  expect(await f.count('phone_models')).toBe(0);
  expect(phoneModels).toBeGreaterThan(0);
  await expectWorkersRunning(f);
});

async function truncateSessions(fx: ResetFixture): Promise<{ pid: number; wait: string | null; state: string }[]> {
  return fx.sql(
    `SELECT pid, wait_event_type AS wait, state FROM pg_stat_activity WHERE datname = $1 AND application_name = 'reset-runbook:truncate'`,
    [fx.dbName],
  );
}

test('abort during a TRUNCATE blocked by another session: the statement is cancelled on the server, rolled back', async () => {
  f = await fixture({ target: { timing: { lockTimeoutSeconds: 600, heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S } } });
  expect(f.service('start')).toBe(0);
  const customers = await f.count('customers');
  const loans = await f.count('loans');
  const users = await f.count('users');
  const objectsBefore = await f.objects();

  // Another session reads customers in an open transaction: TRUNCATE needs ACCESS EXCLUSIVE and waits.
  const blocker = new PgClient({ connectionString: f.dbUrl });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE customers IN ACCESS SHARE MODE');
  try {
    await f.startWorker();
    const h = await f.start({ mode: 'execute' });
    await approveWhenAsked(h, f.dbName);
    await until('the TRUNCATE to wait for its lock', async () =>
      (await truncateSessions(f)).some((s) => s.wait === 'Lock'),
    );

    const { ms, err } = await abortAndTime(h, 'a blocked TRUNCATE');
    expect(err.cause?.type).toBe('ResetAborted');
    expect(ms).toBeLessThan(ABORT_LIMIT_MS);
    // The blocker still holds its lock: only a server-side cancel can have ended the TRUNCATE.
    expect(await truncateSessions(f)).toEqual([]);
    expect(await f.count('customers')).toBe(customers);
    expect(await f.count('loans')).toBe(loans);
    expect(await f.count('users')).toBe(users);
    expect(await f.objects()).toEqual(objectsBefore);
    await expectWorkersRunning(f);
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await blocker.end();
  }
});

test('abort during a long SQL seed: the transaction is cancelled and rolled back, the tables keep their rows', async () => {
  const seeds = path.join(scratch, 'seeds.sql');
  fs.writeFileSync(
    seeds,
    `${fs.readFileSync(path.join(REPO_ROOT, 'demo', 'db', 'seeds.sql'), 'utf8')}\nSELECT pg_sleep(600);\n`,
  );
  f = await fixture({ target: { seedSqlFile: seeds, timing: { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S } } });
  expect(f.service('start')).toBe(0);
  const customers = await f.count('customers');
  const users = await f.count('users');
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  await until('the SQL seeds to sleep', async () => (await truncateSessions(f)).some((s) => s.wait === 'Timeout'));

  const { ms, err } = await abortAndTime(h, 'a long SQL seed');
  expect(err.cause?.type).toBe('ResetAborted');
  expect(ms).toBeLessThan(ABORT_LIMIT_MS);
  expect(await truncateSessions(f)).toEqual([]);
  expect(await f.count('customers')).toBe(customers);
  expect(await f.count('users')).toBe(users);
  await expectWorkersRunning(f);
});

test('a worker SIGKILLed during a slow stop command takes the command with it: no two copies ever run at once', async () => {
  // The stop command records its start and end (with its pid) and is slow the first time only; the
  // retry, on the replacement worker, is quick. Had the first copy outlived its worker, it would
  // still be sleeping when the retry starts (heartbeat timeout 5 s < 40 s).
  const record = path.join(scratch, 'stop.log');
  const stop = path.join(scratch, 'slow-stop');
  fs.writeFileSync(
    stop,
    [
      '#!/bin/sh',
      `echo "start $$ $(date +%s.%N)" >> ${record}`,
      `if [ ! -e ${record}.slow ]; then touch ${record}.slow; sleep 40; else sleep 1; fi`,
      `echo "end $$ $(date +%s.%N)" >> ${record}`,
      `exec ${path.join(REPO_ROOT, 'scripts', 'solid-queue-service')} stop`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  f = await fixture({ target: { timing: { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S } } });
  const targets = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
  targets.targets[f.target].workers.stop = stop;
  fs.writeFileSync(f.targetsFile, JSON.stringify(targets, null, 2));
  expect(f.service('start')).toBe(0);

  const doomed = await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  const finished = approveAndFinish(h, f.dbName);
  const lines = () => (fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim().split('\n') : []);
  const firstPid = await until('the first stop command', () => Number(lines()[0]?.split(' ')[1]) || undefined);
  expect(alive(firstPid)).toBe(true);

  await doomed.kill('SIGKILL');
  // The orphan dies with its worker, long before the heartbeat timeout lets the step be retried.
  await until('the orphaned stop command to die', () => !alive(firstPid), 3_000);
  const orphanGoneAt = Date.now() / 1000;
  await f.startWorker();
  const r = await finished;
  expect(r.outcome).toBe('completed');

  const runs = new Map<string, { start: number; end?: number }>();
  for (const l of lines()) {
    const [what, pid, at] = l.split(' ');
    if (what === 'start') runs.set(pid, { start: Number(at) });
    else runs.get(pid)!.end = Number(at);
  }
  const [first, ...rest] = [...runs.values()];
  expect(first.end).toBeUndefined(); // killed mid-sleep: it never reached its end
  expect(rest.length).toBeGreaterThanOrEqual(1);
  // The retry began only after the first copy was gone, and no two finished copies overlap either.
  expect(rest[0].start).toBeGreaterThan(orphanGoneAt);
  const intervals = [...runs.values()].map((x) => [x.start, x.end ?? orphanGoneAt]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < intervals.length; i++) expect(intervals[i][0]).toBeGreaterThanOrEqual(intervals[i - 1][1]);
  expect(f.service('status')).toBe(0);
});

test('a worker SIGKILLed during a backup takes pg_dump with it; the retry on a new worker completes the run', async () => {
  // Slow the first time only: the retry's pg_dump runs through.
  const slow = path.join(scratch, 'pg_dump');
  const real = path.join(process.env.RR_PG_BIN!, 'pg_dump');
  fs.writeFileSync(
    slow,
    `#!/bin/sh\n[ "$1" = "--version" ] && exec ${real} "$@"\n[ -e ${slow}.pgid ] && exec ${real} "$@"\nps -o pgid= $$ | tr -d ' ' > ${slow}.pgid\n${real} "$@"\nsleep 600\n`,
    {
      mode: 0o755,
    },
  );
  f = await fixture({ target: { backup: { pgDump: slow }, timing: { heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S } } });
  expect(f.service('start')).toBe(0);
  const doomed = await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  const finished = approveAndFinish(h, f.dbName);
  const pgid = await pgidOf(slow);
  expect(groupMembers(pgid).length).toBeGreaterThan(0);

  await doomed.kill('SIGKILL');
  await until('the orphaned pg_dump to die', () => groupMembers(pgid).length === 0, 3_000);
  await f.startWorker();
  const r = await finished;
  expect(r.outcome).toBe('completed');
  expect(fs.readdirSync(f.backupDir).filter((x) => x.endsWith('.partial'))).toEqual([]);
  for (const file of r.backup!.files) expect(fs.statSync(file.path).size).toBe(file.bytes);
});
