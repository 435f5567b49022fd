/**
 * Peak memory of the process that runs the reset's database and storage steps, as the number of files
 * grows: planReset, resetDatabase (which writes the purge manifest) and purgeStorage, in a fresh
 * process each time (with the worker's malloc settings and V8 flags), on a Disk service (bench/lib/memory-fixture.ts).
 * Its figure is VmHWM (the kernel's peak resident set) minus VmRSS once the activities are loaded (idle),
 * as the full bench reads a worker.
 *
 *   npx tsx bench/memory.ts                                    # 100,000 and 1,000,000 objects, this tree
 *   npx tsx bench/memory.ts --objects 100000,1000000 --old <git ref> --runs 2 [--json] [--keep] [--s3]
 *
 * --old runs the same steps with the activities of another commit (extracted with git archive into the
 * state dir), interleaved with this tree's: old, new, new, old … --s3 puts the blobs on an S3 service in the
 * bench's in-memory S3 server (bench/lib/memory-s3.ts) with an empty bucket: DeleteObjects answers success
 * for a missing key, so the purge sends and reads what it would for real objects, without the minutes of
 * uploads. It starts the local stack itself
 * (scripts/stack up: the usual RR_* knobs) and keeps everything in $RR_STATE_DIR/bench-memory/.
 */
import { execFileSync, execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ensureTemplate, expectedDeleted, fillRoot, recreateDatabase, writeFixtureTargets } from './lib/memory-fixture';
import { startMemoryS3 } from './lib/memory-s3';
import { REPO, stackUp } from './lib/stack';
import { WORKER_MALLOC_ENV, workerNodeFlags } from './lib/worker-process';

interface ChildResult {
  idleMiB: number;
  idleHeapMiB: number;
  peakMiB: number;
  seconds: { plan: number; reset: number; purge: number };
  /** VmHWM after each step: which one made the peak. */
  peakAfter: { plan: number; reset: number; purge: number };
  /** process.memoryUsage() (MiB) at the highest RSS sampled every 50 ms: V8's heap, or memory outside it. */
  atPeak: Record<string, number>;
  manifestBlobs: number;
  deleted: number;
}

const status = (field: string) => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) / 1024;
};

/** In the measured process: the three activities, one after the other, on the target "mem". */
async function child(src: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the source tree is chosen at run time (old or new)
  const { createActivities } = require(path.join(src, 'activities')) as typeof import('../src/activities');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
  const { loadTargetsFile } = require(path.join(src, 'config', 'load')) as typeof import('../src/config/load');
  const acts = createActivities({ targets: loadTargetsFile(process.env.RESET_RUNBOOK_TARGETS!), env: process.env });
  const run = async <A, R>(fn: (a: A) => Promise<R>, args: A) => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 600_000 }, { logger: new DefaultLogger('WARN') });
    const t = process.hrtime.bigint();
    const value = (await env.run(fn, args)) as R;
    return { value, seconds: Number(process.hrtime.bigint() - t) / 1e9, hwm: status('VmHWM') };
  };
  await new Promise((r) => setTimeout(r, 1000));
  const idleMiB = status('VmRSS');
  const idleHeapMiB = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  let atPeak: Record<string, number> = { rss: 0 };
  const sampler = setInterval(() => {
    const u = process.memoryUsage() as unknown as Record<string, number>;
    if (u.rss / 2 ** 20 > atPeak.rss)
      atPeak = Object.fromEntries(Object.entries(u).map(([k, v]) => [k, Math.round(v / 2 ** 20)]));
  }, 50);
  const plan = await run(acts.planReset, { target: 'mem' });
  const runId = `mem-${Date.now()}`;
  const reset = await run(acts.resetDatabase, {
    target: 'mem',
    runId,
    planDigest: plan.value.digest,
    backupCreatedAt: new Date().toISOString(),
    expectedBlobs: plan.value.blobs.count,
  });
  const purge = await run(acts.purgeStorage, { target: 'mem', runId, expectedObjects: plan.value.blobs.count });
  clearInterval(sampler);
  const out: ChildResult = {
    idleMiB,
    idleHeapMiB,
    atPeak,
    peakMiB: status('VmHWM'),
    seconds: { plan: plan.seconds, reset: reset.seconds, purge: purge.seconds },
    peakAfter: { plan: plan.hwm, reset: reset.hwm, purge: purge.hwm },
    manifestBlobs: reset.value.manifest.blobs,
    deleted: purge.value.deleted,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
}

/** The activities of `ref`, as files, with this checkout's node_modules (same packages: same lock file assumed). */
function extractOld(ref: string, dir: string): string {
  const sha = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', ref], { encoding: 'utf8' }).trim();
  const into = path.join(dir, `src-${sha}`);
  if (!fs.existsSync(path.join(into, 'src'))) {
    fs.mkdirSync(into, { recursive: true });
    execSync(`git -C ${REPO} archive ${sha} src | tar -x -C ${into}`);
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(into, 'node_modules'));
  }
  return path.join(into, 'src');
}

async function main(): Promise<void> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const sizes = (arg('--objects', '100000,1000000') ?? '').split(',').map(Number);
  const runs = Number(arg('--runs', '1'));
  const oldRef = arg('--old');
  const stack = stackUp(log);
  const dir = path.join(stack.stateDir, 'bench-memory');
  fs.mkdirSync(dir, { recursive: true });
  const s3 = process.argv.includes('--s3') ? await startMemoryS3(stack.stateDir, log) : undefined;
  const sides: { name: string; src: string }[] = [{ name: 'new', src: path.join(REPO, 'src') }];
  if (oldRef) sides.unshift({ name: `old (${oldRef})`, src: extractOld(oldRef, dir) });
  const rows: { objects: number; side: string; r: ChildResult }[] = [];
  for (const n of sizes) {
    const db = `rr_mem_${n}`;
    log(`${n} objects: template database ...`);
    const template = await ensureTemplate(stack.pgAdminUrl, db, n);
    const root = path.join(dir, `files-${n}`);
    const targets = path.join(dir, `targets-${n}.json`);
    writeFixtureTargets(targets, {
      name: 'mem',
      urlEnv: 'MEM_DATABASE_URL',
      root,
      backups: path.join(dir, `backups-${n}`),
      keep: 1,
      s3: s3 && { bucket: 'bench-memory', endpoint: s3.endpoint },
    });
    for (let i = 0; i < runs; i++) {
      // Interleaved, and the order flips every run: neither side always goes first on a warm cache.
      for (const side of i % 2 ? [...sides].reverse() : sides) {
        const url = await recreateDatabase(stack.pgAdminUrl, db, template);
        const t0 = Date.now();
        const made = s3 ? 0 : fillRoot(root, n);
        log(
          `${n} objects, ${side.name}: ${made} files put back in ${((Date.now() - t0) / 1000).toFixed(1)} s; running`,
        );
        const out = execFileSync(
          process.execPath,
          [...workerNodeFlags(), '--require', 'tsx/cjs', __filename, '--child', side.src],
          {
            cwd: REPO,
            env: { ...process.env, ...WORKER_MALLOC_ENV, RESET_RUNBOOK_TARGETS: targets, MEM_DATABASE_URL: url },
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
            maxBuffer: 1 << 20,
          },
        );
        const r = JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
        if (!s3 && r.deleted !== expectedDeleted(n))
          log(`WARNING: ${r.deleted} files deleted, ${expectedDeleted(n)} expected`);
        log(`  ${JSON.stringify(r)}`);
        rows.push({ objects: n, side: side.name, r });
      }
    }
    if (!process.argv.includes('--keep')) {
      await recreateDatabase(stack.pgAdminUrl, db, template);
      fs.rmSync(path.join(dir, `backups-${n}`), { recursive: true, force: true });
    }
  }
  await s3?.stop();
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ load, nproc: execSync('nproc').toString().trim(), rows })}\n`);
    return;
  }
  const f = (x: number) => x.toFixed(0).padStart(5);
  console.log(`load average at the end: ${load}`);
  console.log('objects   | side            | idle MiB | peak MiB | peak − idle | plan s | reset s | purge s');
  for (const { objects, side, r } of rows)
    console.log(
      `${String(objects).padEnd(9)} | ${side.padEnd(15)} | ${f(r.idleMiB)}    | ${f(r.peakMiB)}    | ${f(r.peakMiB - r.idleMiB)}       | ${r.seconds.plan.toFixed(1).padStart(6)} | ${r.seconds.reset.toFixed(1).padStart(7)} | ${r.seconds.purge.toFixed(1).padStart(7)}`,
    );
}

if (process.argv[2] === '--child') child(process.argv[3]).catch((e) => (console.error(e), process.exit(1)));
else main().catch((e) => (console.error(e), process.exit(1)));
