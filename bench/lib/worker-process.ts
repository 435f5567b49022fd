/**
 * A real worker process (src/worker.ts, as scripts/demo starts it, with the image's malloc settings) with
 * the bench's targets file, and its memory as the kernel counts it: VmRSS now, VmHWM (the peak since it
 * started, or since resetPeak).
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
 * the four equal. Its V8 young generation is kept small the same way (WORKER_NODE_FLAGS).
 */
export const WORKER_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' } as const;
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=4'] as const;

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

export async function startWorker(o: {
  targetsFile: string;
  bundle: string;
  env: Record<string, string>;
  log: string;
}): Promise<WorkerProcess> {
  const out = fs.openSync(o.log, 'w');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...WORKER_MALLOC_ENV,
    ...o.env,
    RESET_RUNBOOK_TARGETS: o.targetsFile,
    RR_WORKFLOW_BUNDLE: o.bundle,
  };
  delete env.RR_CODEC_KEYS;
  const child: ChildProcess = spawn(
    process.execPath,
    [...workerNodeFlags(), '--require', 'tsx/cjs', path.join(REPO, 'src', 'worker.ts')],
    {
      cwd: REPO,
      env,
      stdio: ['ignore', out, out],
    },
  );
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

/** Builds the workflow bundle once (scripts/build-workflow-bundle.ts), so each worker starts in seconds. */
export function buildBundle(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--require', 'tsx/cjs', path.join(REPO, 'scripts', 'build-workflow-bundle.ts'), file],
      {
        cwd: REPO,
        env: { ...process.env, RR_CODEC_KEYS: '' },
        stdio: 'ignore',
      },
    );
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`building the workflow bundle failed (exit ${code})`)),
    );
  });
}
