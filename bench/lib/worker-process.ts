/**
 * A real worker process, run as the image runs it (the TypeScript compiled by tsc, a prebuilt workflow
 * bundle, the image's Node flags and malloc settings) with the bench's targets file, and its memory as the
 * kernel counts it: VmRSS now, VmHWM (the peak since it started, or since resetPeak).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './stack';

export interface WorkerProcess {
  pid: number;
  log: string;
  memory(): { rssMiB: number; hwmMiB: number };
  /** Sets VmHWM back to the current VmRSS (Linux's clear_refs "5"), so that a later reading is the peak since. */
  resetPeak(): void;
  stop(): Promise<void>;
}

/**
 * The worker runs with glibc's malloc thresholds fixed, as the image (Dockerfile), the systemd unit and
 * scripts/demo start it (docs/operators/deploy.md, "The worker's memory"); test/ops/deploy.test.ts keeps
 * the four equal. Its V8 generations are held the same way (WORKER_NODE_FLAGS).
 */
export const WORKER_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' } as const;
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=10'] as const;

/** RR_BENCH_WORKER_NODE_FLAGS (space-separated, may be empty) replaces them, to measure another setting. */
export function workerNodeFlags(): readonly string[] {
  const given = process.env.RR_BENCH_WORKER_NODE_FLAGS;
  return given === undefined ? WORKER_NODE_FLAGS : given.split(' ').filter(Boolean);
}

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** What a bench worker runs: src compiled by tsc (`main`), and the workflow bundle. */
export interface WorkerCode {
  main: string;
  bundle: string;
}

export async function startWorker(o: {
  targetsFile: string;
  code: WorkerCode;
  env: Record<string, string>;
  log: string;
}): Promise<WorkerProcess> {
  const out = fs.openSync(o.log, 'w');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...WORKER_MALLOC_ENV,
    ...o.env,
    RESET_RUNBOOK_TARGETS: o.targetsFile,
    RR_WORKFLOW_BUNDLE: o.code.bundle,
    // The compiled tree may sit outside the repository (RR_STATE_DIR): its requires still find our node_modules.
    NODE_PATH: path.join(REPO, 'node_modules'),
  };
  delete env.RR_CODEC_KEYS;
  const child: ChildProcess = spawn(process.execPath, [...workerNodeFlags(), o.code.main], {
    cwd: REPO,
    env,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 120_000;
  while (!fs.readFileSync(o.log, 'utf8').includes('reset-runbook worker: task queue')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the worker did not start; its log (${o.log}):\n${fs.readFileSync(o.log, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const pid = child.pid!;
  return {
    pid,
    log: o.log,
    memory: () => ({ rssMiB: status(pid, 'VmRSS'), hwmMiB: status(pid, 'VmHWM') }),
    resetPeak: () => fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Builds what the image builds (Dockerfile): src compiled by tsc into `dir`/dist and the workflow bundle,
 * once per bench, both at once. The worker used to run through tsx, which the image does not: its first run
 * paid for source-mapped stacks and transpiled code the shipped worker never carries.
 */
export async function buildWorkerCode(dir: string): Promise<WorkerCode> {
  const dist = path.join(dir, 'dist');
  fs.rmSync(dist, { recursive: true, force: true });
  const bundle = path.join(dir, 'workflow-bundle.js');
  await Promise.all([
    build('compiling src (tsc)', path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), [
      '-p',
      path.join(REPO, 'deploy', 'tsconfig.build.json'),
      '--outDir',
      dist,
    ]),
    build('building the workflow bundle', '--require', [
      'tsx/cjs',
      path.join(REPO, 'scripts', 'build-workflow-bundle.ts'),
      bundle,
    ]),
  ]);
  return { main: path.join(dist, 'src', 'worker.js'), bundle };
}

/** Runs node with `first` and `args` in the repository; its output is kept for the error only. */
function build(what: string, first: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [first, ...args], {
      cwd: REPO,
      env: { ...process.env, RR_CODEC_KEYS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} failed (exit ${code}):\n${output.slice(-2000)}`)),
    );
  });
}
