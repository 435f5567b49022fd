/**
 * npx tsx bench/fleet.ts [--targets 20] [--concurrency 1,4,8] [--json] [--keep]
 *
 * The fleet figures: a fleet reset of N small demo targets (databases only: no S3 objects, no Solid
 * Queue service, so what is measured is the runbook and PostgreSQL) at several maxConcurrent values,
 * on two worker processes, against the same N targets reset one after another as N single-target runs
 * (the Temporal client, with the database's name as confirmation, as `reset-runbook start <t>
 * --confirm <db>` does). Same data before every run (each database re-loaded), same workers, one run
 * each, in one process: the sequential resets first, then each fleet.
 *
 * Prints the wall time of each, its speed-up over the sequential resets, and what bounds it, sampled
 * every 500 ms while it runs: the load average, PostgreSQL's client backends (all and active), the
 * CPU seconds of each worker process (with the pg_dump and commands it ran), of PostgreSQL (the
 * postmaster and its reaped backends), of the Temporal dev server and of the whole machine, and how
 * busy the machine's cores were (/proc/stat).
 * --json prints one object instead. Starts the local stack if it is not up (scripts/stack up, with the
 * usual RR_* knobs); the databases bench_fleet_<i> are dropped at the end unless --keep.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { load } from '../demo/generate';
import {
  resetWorkflowId,
  WORKFLOW_TYPE,
  type ResetInput,
  type ResetResult,
  FLEET_WORKFLOW_TYPE,
  fleetWorkflowId,
  type FleetInput,
  type FleetResult,
} from '../src/contract';
import { demoTarget } from '../demo/target';
import { timed } from './lib/activities';
import { databaseUrl, stackUp, type BenchStack } from './lib/stack';
import { buildWorkerCode, startWorker, type WorkerProcess } from './lib/worker-process';

const TASK_QUEUE = 'reset-runbook-bench-fleet';
const FLEET = 'bench';
/** USER_HZ: the clock ticks per second /proc counts in (100 on Linux). */
const TICK = 100;

interface Sample {
  load1: number;
  backends: number;
  active: number;
}

interface Bounds {
  loadAverage: { mean: number; max: number };
  pgBackends: { mean: number; max: number; activeMean: number; activeMax: number };
  /**
   * CPU seconds during the run: each worker (itself and its reaped children: pg_dump, commands),
   * PostgreSQL, the Temporal dev server, and the whole machine (all cores; what others ran is the rest).
   */
  cpuSeconds: { workers: number[]; postgres: number; temporal: number; machine: number };
  /** Share of all cores busy over the run (/proc/stat), 0–100. */
  machineBusyPercent: number;
}

interface RunFigure {
  what: string;
  maxConcurrent: number | null;
  seconds: number;
  speedUp: number;
  completed: number;
  bounds: Bounds;
}

/** utime + stime (+ the reaped children's) of a process, in seconds. */
function cpuOf(pid: number, children = true): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after the comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
  const own = Number(f[11]) + Number(f[12]);
  return (children ? own + Number(f[13]) + Number(f[14]) : own) / TICK;
}

/** Busy and total jiffies of all cores. */
function machineTicks(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

async function postmasterPid(stack: BenchStack): Promise<number> {
  const c = new PgClient({ connectionString: stack.pgAdminUrl });
  await c.connect();
  try {
    const dir = (await c.query(`SELECT setting FROM pg_settings WHERE name = 'data_directory'`)).rows[0]
      .setting as string;
    return Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } finally {
    await c.end();
  }
}

/** Runs `fn` while sampling what bounds it. */
/** The stack's Temporal dev server (scripts/stack keeps "<pid> <port>" in its state folder). */
function temporalPid(stack: BenchStack): number {
  return Number(fs.readFileSync(path.join(stack.stateDir, 'temporal.pid'), 'utf8').split(/\s+/)[0]);
}

async function measured<T>(
  stack: BenchStack,
  workers: WorkerProcess[],
  postmaster: number,
  fn: () => Promise<T>,
): Promise<{ seconds: number; value: T; bounds: Bounds }> {
  const samples: Sample[] = [];
  const pg = new PgClient({ connectionString: stack.pgAdminUrl });
  await pg.connect();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const r = await pg.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE state = 'active')::int AS a FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      samples.push({ load1: os.loadavg()[0], backends: r.rows[0].n, active: r.rows[0].a });
      await new Promise((res) => setTimeout(res, 500));
    }
  })();
  const cpu0 = workers.map((w) => cpuOf(w.pid));
  const pg0 = cpuOf(postmaster);
  const temporal = temporalPid(stack);
  const t0 = cpuOf(temporal);
  const m0 = machineTicks();
  try {
    const { seconds, value } = await timed(fn);
    const m1 = machineTicks();
    const bounds: Bounds = {
      loadAverage: { mean: mean(samples.map((s) => s.load1)), max: Math.max(...samples.map((s) => s.load1)) },
      pgBackends: {
        mean: mean(samples.map((s) => s.backends)),
        max: Math.max(...samples.map((s) => s.backends)),
        activeMean: mean(samples.map((s) => s.active)),
        activeMax: Math.max(...samples.map((s) => s.active)),
      },
      cpuSeconds: {
        workers: workers.map((w, i) => round(cpuOf(w.pid) - cpu0[i])),
        postgres: round(cpuOf(postmaster) - pg0),
        temporal: round(cpuOf(temporal) - t0),
        machine: round((m1.busy - m0.busy) / TICK),
      },
      machineBusyPercent: round((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total)),
    };
    return { seconds: round(seconds), value, bounds };
  } finally {
    sampling = false;
    await sampler;
    await pg.end();
  }
}

const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
const round = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
      keep: { type: 'boolean' },
    },
  });
  const n = Number(values.targets ?? 20);
  const levels = (values.concurrency ?? '1,4,8').split(',').map(Number);
  if (!(n >= 1) || levels.some((c) => !(c >= 1))) throw new Error('--targets and --concurrency take whole numbers ≥ 1');
  const started = Date.now();
  const log = (line: string) =>
    process.stderr.write(`bench-fleet [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

  const stack = stackUp(log);
  const dir = path.join(stack.stateDir, 'bench-fleet');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: n }, (_, i) => `bench-fleet-${String(i + 1).padStart(2, '0')}`);
  const dbOf = (t: string) => t.replace(/-/g, '_');
  const urlEnv = (t: string) => `${dbOf(t).toUpperCase()}_URL`;
  const env: Record<string, string> = { RR_TASK_QUEUE: TASK_QUEUE };
  const targets: Record<string, unknown> = {};
  for (const t of names) {
    env[urlEnv(t)] = databaseUrl(stack, dbOf(t));
    const c = demoTarget({
      urlEnv: urlEnv(t),
      bucket: 'unused',
      endpoint: stack.s3Endpoint,
      backupDir: path.join(dir, 'backups', t),
      pidFile: path.join(dir, `${t}.pid`),
      noWorkers: true,
    });
    delete c.storage;
    targets[t] = c;
  }
  const targetsFile = path.join(dir, 'targets.json');
  fs.writeFileSync(targetsFile, JSON.stringify({ targets, groups: { [FLEET]: names } }, null, 2));

  /** Every database as the demo loads it (small scale), its environment staging: the fleet's approval covers it. */
  const reload = async () => {
    const queue = [...names];
    const lane = async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        await load({ databaseUrl: env[urlEnv(t)], scale: 'small', seed: t, fresh: true });
        const c = new PgClient({ connectionString: env[urlEnv(t)] });
        await c.connect();
        await c.query(`UPDATE ar_internal_metadata SET value = 'staging' WHERE key = 'environment'`);
        await c.end();
      }
    };
    await Promise.all([lane(), lane(), lane()]);
  };

  log(`loading ${n} small demo databases ...`);
  await reload();
  log('compiling the worker and its workflow bundle ...');
  const code = await buildWorkerCode(dir);
  const workers = [
    await startWorker({
      targetsFile,
      code,
      env: { ...env, RESET_RUNBOOK_HOST: 'bench-a' },
      log: path.join(dir, 'worker-a.log'),
    }),
    await startWorker({
      targetsFile,
      code,
      env: { ...env, RESET_RUNBOOK_HOST: 'bench-b' },
      log: path.join(dir, 'worker-b.log'),
    }),
  ];
  const postmaster = await postmasterPid(stack);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection, namespace: stack.namespace });
  // Runs left open by an interrupted bench would refuse the fixed workflow ids.
  for (const id of [fleetWorkflowId(FLEET), ...names.map(resetWorkflowId)]) {
    await client.workflow
      .getHandle(id)
      .terminate('bench: a new bench run')
      .catch(() => undefined);
  }
  const results: RunFigure[] = [];
  try {
    // 1 — the peer: one single-target run after another.
    log(`${n} single-target resets, one after another ...`);
    const seq = await measured(stack, workers, postmaster, async () => {
      let completed = 0;
      for (const t of names) {
        const input: ResetInput = { target: t, mode: 'execute', reason: 'bench', confirmation: dbOf(t) };
        const h = await client.workflow.start(WORKFLOW_TYPE, {
          taskQueue: TASK_QUEUE,
          workflowId: resetWorkflowId(t),
          args: [input],
        });
        const r = (await h.result()) as ResetResult;
        if (r.outcome === 'completed') completed++;
      }
      return completed;
    });
    results.push({
      what: `${n} single-target resets, one after another`,
      maxConcurrent: null,
      seconds: seq.seconds,
      speedUp: 1,
      completed: seq.value,
      bounds: seq.bounds,
    });
    log(`sequential: ${seq.seconds} s`);

    // 2 — ours: the fleet, at each concurrency.
    for (const c of levels) {
      await reload();
      log(`fleet of ${n}, maxConcurrent ${c} ...`);
      const input: FleetInput = {
        name: FLEET,
        group: FLEET,
        mode: 'execute',
        maxConcurrent: c,
        confirmation: FLEET,
        databases: n,
        reason: 'bench',
      };
      const run = await measured(stack, workers, postmaster, async () => {
        const h = await client.workflow.start(FLEET_WORKFLOW_TYPE, {
          taskQueue: TASK_QUEUE,
          workflowId: fleetWorkflowId(FLEET),
          args: [input],
        });
        try {
          return ((await h.result()) as FleetResult).totals.completed;
        } catch (err) {
          if (err instanceof WorkflowFailedError)
            throw new Error(`the fleet failed: ${err.cause?.message}`, { cause: err });
          throw err;
        }
      });
      results.push({
        what: `fleet, maxConcurrent ${c}`,
        maxConcurrent: c,
        seconds: run.seconds,
        speedUp: round(seq.seconds / run.seconds),
        completed: run.value,
        bounds: run.bounds,
      });
      log(`fleet maxConcurrent ${c}: ${run.seconds} s`);
    }
  } finally {
    await connection.close();
    for (const w of workers) await w.stop();
    if (!values.keep) {
      const c = new PgClient({ connectionString: stack.pgAdminUrl });
      await c.connect();
      for (const t of names) await c.query(`DROP DATABASE IF EXISTS "${dbOf(t)}" WITH (FORCE)`);
      await c.end();
    }
  }
  for (const r of results) if (r.completed !== n) throw new Error(`${r.what}: ${r.completed} of ${n} completed`);

  const header = `reset-runbook fleet bench: ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}; ${n} small demo databases (no objects, no Solid Queue service), 2 worker processes; ${((Date.now() - started) / 1000).toFixed(0)} s in all`;
  if (values.json) {
    process.stdout.write(JSON.stringify({ header, targets: n, workers: 2, results }, null, 2) + '\n');
    return;
  }
  const rows = [
    [
      'run',
      'wall s',
      'speed-up',
      'load avg mean/max',
      'PG backends mean/max (active)',
      'CPU s: workers a+b, PG, Temporal / machine',
      'cores busy',
    ],
    ...results.map((r) => [
      r.what,
      r.seconds.toFixed(1),
      `${r.speedUp.toFixed(2)}×`,
      `${r.bounds.loadAverage.mean.toFixed(1)}/${r.bounds.loadAverage.max.toFixed(1)}`,
      `${r.bounds.pgBackends.mean.toFixed(1)}/${r.bounds.pgBackends.max} (${r.bounds.pgBackends.activeMean.toFixed(1)}/${r.bounds.pgBackends.activeMax})`,
      `${r.bounds.cpuSeconds.workers.map((x) => x.toFixed(1)).join('+')}, ${r.bounds.cpuSeconds.postgres.toFixed(1)}, ${r.bounds.cpuSeconds.temporal.toFixed(1)} / ${r.bounds.cpuSeconds.machine.toFixed(1)}`,
      `${r.bounds.machineBusyPercent.toFixed(0)}%`,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  process.stdout.write(
    [header, '', line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n') +
      '\n',
  );
}

main().catch((err: Error) => {
  process.stderr.write(`bench-fleet: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
