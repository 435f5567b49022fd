/**
 * The real stack for the CLI, Web UI and ops tests: `scripts/stack up` (idempotent; honours the
 * RR_* knobs), a demo database of the test's own, a targets file, a real worker process
 * (`tsx src/worker.ts`), and a way to run `bin/reset-runbook` and other commands as child processes.
 * Everything a test starts here it stops in its afterAll.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { load } from '../../demo/generate';

export const REPO = path.resolve(__dirname, '..', '..');
export const CLI = path.join(REPO, 'bin', 'reset-runbook');

export type Env = Record<string, string>;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; never rejects on a non-zero exit (tests look at the code). */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: Env; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${path.basename(cmd)} ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 90_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 90_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

export async function stackEnv(): Promise<Env> {
  const up = await run(path.join(REPO, 'scripts', 'stack'), ['up'], { timeoutMs: 600_000 });
  if (up.code !== 0) throw new Error(`scripts/stack up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
  const env = await run(path.join(REPO, 'scripts', 'stack'), ['env', '--json']);
  if (env.code !== 0) throw new Error(`scripts/stack env --json failed:\n${env.stderr}`);
  return JSON.parse(env.stdout) as Env;
}

export interface Target {
  name: string;
  dir: string;
  targetsFile: string;
  databaseUrl: string;
  /** While this file exists, the target's pg_dump fails (the backup step fails). */
  failFlag: string;
  /** Environment for the worker and the CLI: the stack's, plus the target's secrets. */
  env: Env;
}

/** The demo data set, from a fixed seed: the same rows and objects every time (transcripts quote the counts). */
async function loadDemo(stack: Env, name: string, databaseUrl: string): Promise<void> {
  await load({
    databaseUrl,
    fresh: true,
    scale: 1,
    seed: 'docs',
    storage: { bucket: stack.RR_S3_BUCKET, endpoint: stack.RR_S3_ENDPOINT, prefix: `${name}/` },
  });
}

/** Loads the target's data afresh (after a test reset it), for a test that shows the plan's counts. */
export async function reloadTarget(stack: Env, t: Target): Promise<void> {
  await loadDemo(stack, t.name, t.databaseUrl);
}

/**
 * A target of the test's own: database `rr_<name>` loaded with the demo data set (small scale),
 * its S3 objects under `<name>/`, backups in a temp dir, and a pg_dump that fails on demand.
 */
export async function makeTarget(
  stack: Env,
  name: string,
  opts: { maximumAttempts?: number; approvalRequired?: boolean; codecKeys?: string } = {},
): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rr-${name}-`));
  const admin = new URL(stack.RR_PG_ADMIN_URL);
  admin.pathname = `/rr_${name.replace(/-/g, '_')}`;
  const databaseUrl = admin.toString();
  // The demo loader puts objects with the default AWS credential chain: the stack's test keys.
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) if (stack[k]) process.env[k] = stack[k];
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  await loadDemo(stack, name, databaseUrl);
  const failFlag = path.join(dir, 'fail-backup');
  const pgBin = stack.RR_PG_BIN;
  const pgDump = path.join(dir, 'pg_dump');
  fs.writeFileSync(
    pgDump,
    `#!/bin/sh\n# pg_dump that fails while ${failFlag} exists (for pause/resume tests)\n` +
      `if [ -e '${failFlag}' ] && [ "$1" != "--version" ]; then echo "pg_dump: simulated failure: ${failFlag} exists" >&2; exit 1; fi\n` +
      `exec '${pgBin}/pg_dump' "$@"\n`,
    { mode: 0o755 },
  );
  const secret = `RR_TEST_DB_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
  const targets = {
    targets: {
      [name]: {
        database: { urlEnv: secret },
        seeds: { sqlFile: path.join(REPO, 'demo', 'db', 'seeds.sql') },
        storage: {
          services: {
            amazon: {
              bucket: stack.RR_S3_BUCKET,
              prefix: `${name}/`,
              endpoint: stack.RR_S3_ENDPOINT,
              forcePathStyle: true,
              region: stack.AWS_REGION ?? 'us-east-1',
            },
          },
        },
        backup: { dir: path.join(dir, 'backups'), pgDump, pgRestore: `${pgBin}/pg_restore` },
        verify: {
          expect: [
            { label: 'Users', table: 'users', count: 6 },
            { label: 'Phone Models', table: 'phone_models', count: 10 },
            { label: 'Customers', table: 'customers', count: 0 },
          ],
        },
        approval: { required: opts.approvalRequired ?? true, timeout: '1h' },
        timing: { maximumAttempts: opts.maximumAttempts ?? 1, heartbeatTimeoutSeconds: 10 },
      },
    },
  };
  const targetsFile = path.join(dir, 'targets.json');
  fs.writeFileSync(targetsFile, JSON.stringify(targets, null, 2));
  return {
    name,
    dir,
    targetsFile,
    databaseUrl,
    failFlag,
    // codecKeys: RR_CODEC_KEYS for the worker and the CLI alike (encrypted history); the worker bundles
    // its workflows itself, with the encoding failure converter.
    env: {
      ...stack,
      [secret]: databaseUrl,
      RESET_RUNBOOK_TARGETS: targetsFile,
      RESET_RUNBOOK_POLL_MS: '300',
      NO_COLOR: '1',
      ...(opts.codecKeys ? { RR_CODEC_KEYS: opts.codecKeys } : {}),
    },
  };
}

export async function dropTarget(t: Target | undefined): Promise<void> {
  if (!t) return;
  const admin = new URL(t.databaseUrl);
  const db = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const c = new PgClient({ connectionString: admin.toString() });
  try {
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
  fs.rmSync(t.dir, { recursive: true, force: true });
}

export async function countRows(databaseUrl: string, table: string): Promise<number> {
  const c = new PgClient({ connectionString: databaseUrl });
  await c.connect();
  try {
    const r = await c.query(`SELECT count(*)::int AS n FROM "${table}"`);
    return r.rows[0].n;
  } finally {
    await c.end();
  }
}

export interface WorkerProcess {
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** A real worker process polling the stack's Temporal; resolves once it polls. */
export async function startWorker(env: Env, timeoutMs = 120_000): Promise<WorkerProcess> {
  // One process (node + tsx's require hook), so killing it kills the worker: a `tsx` launcher would
  // leave its node child polling after a SIGKILL.
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(REPO, 'src', 'worker.ts')], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  const deadline = Date.now() + timeoutMs;
  while (!/state: 'RUNNING'|reset-runbook worker: task queue/.test(out)) {
    if (child.exitCode !== null) throw new Error(`worker exited (${child.exitCode}) before polling:\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`worker did not start polling within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, log: () => out, stop };
}

/** Kills the worker at once, as a crash would (no graceful shutdown). */
export async function killWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
  w.child.kill('SIGKILL');
  await exited;
}

export function cli(args: string[], env: Env, opts: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return run(CLI, args, { env, ...opts });
}

/**
 * Runs a recovery line exactly as the CLI printed it (`reset-runbook resume <id>`): the rule that every recovery
 * the tool offers is tested as printed, on the path that prints it.
 */
export function cliAsPrinted(line: string, env: Env): Promise<Run> {
  const [bin, ...args] = line.split(' ');
  if (bin !== 'reset-runbook') throw new Error(`not a reset-runbook command line: ${JSON.stringify(line)}`);
  return cli(args, env);
}

/** Parses the single JSON document a --json command prints. */
export function json<T = any>(r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** Parses NDJSON output (follow/start --json). */
export function jsonLines<T = any>(r: Run): T[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        throw new Error(`not a JSON line: ${l}\nstderr:\n${r.stderr}`);
      }
    });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
