/**
 * npm run bench [-- --quick] [-- --json] [-- --runs N] [-- --keep] [-- --case backup-jobs [--no-storage]]
 *
 * The benchmarks: ours and the bare procedure side by side on the same data in the same run,
 * interleaved (ours, peer, ours, peer …), the data re-created between runs. Full: the large demo
 * (1.1 M rows, 65,000 objects) and a purge of ~10,000 objects; --quick: a medium fixture, under 5
 * minutes. Prints one table (stderr carries the progress); --json prints one object instead, with the
 * keys purge, backup, backupJobs, reset, plan, run. Starts the local stack if it is not up (scripts/stack up, with
 * the usual RR_* port and state knobs); the fixtures live in databases bench_run / bench_purge and
 * buckets bench-run / bench-purge of that stack, dropped at the end unless --keep. `--case backup-jobs`
 * runs only the backup.jobs case (backup -Fc vs -Fd -j N, and their restores) on the run fixture;
 * with --no-storage that fixture has no blobs and no objects (the demo's rows only: no uploads to wait for).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../demo/lib/objects';
import { backupCase } from './cases/backup';
import { backupJobsCase } from './cases/backup-jobs';
import { planCase } from './cases/plan';
import { purgeCase } from './cases/purge';
import { resetCase } from './cases/reset';
import { runCase } from './cases/run';
import { ourActivities } from './lib/activities';
import { PROFILES, type BenchContext } from './lib/context';
import { dropFixture, loadFixture } from './lib/fixture';
import { listKeys } from './lib/peers';
import { describeMachine, sampleMachine } from './lib/machine';
import { jobsTable, table, type BenchResults } from './lib/report';
import { startS3Counter } from './lib/s3-counter';
import { stackUp } from './lib/stack';
import { benchTarget, targetEnv, writeTargetsFile } from './lib/target';

async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  const keys = await listKeys(s3, bucket, '').catch(() => [] as string[]);
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      json: { type: 'boolean' },
      runs: { type: 'string' },
      keep: { type: 'boolean' },
      case: { type: 'string' },
      'no-storage': { type: 'boolean' },
    },
  });
  const profile = { ...PROFILES[values.quick ? 'quick' : 'full'] };
  if (values.runs) profile.runs = profile.dbRuns = Number(values.runs);
  if (!(profile.runs >= 1)) throw new Error('--runs must be a positive integer');
  if (values.case !== undefined && values.case !== 'backup-jobs') throw new Error('--case: only "backup-jobs"');
  const onlyJobs = values.case === 'backup-jobs';
  const started = Date.now();
  const machine = sampleMachine();
  const log = (line: string) =>
    process.stderr.write(`bench [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

  const stack = stackUp(log);
  const dir = path.join(stack.stateDir, 'bench');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const counter = await startS3Counter(stack.s3Endpoint);
  const direct = (bucket: string) => s3Client({ bucket, endpoint: stack.s3Endpoint });
  for (const b of ['bench-run', 'bench-purge']) await emptyBucket(direct(b), b);

  const runFx = await loadFixture(
    stack,
    {
      name: 'run',
      database: 'bench_run',
      bucket: 'bench-run',
      scale: profile.runScale,
      noStorage: onlyJobs && values['no-storage'],
    },
    log,
  );
  // The backup.jobs case alone needs no purge fixture (minutes of uploads to moto at the full scale).
  const purgeFx = onlyJobs
    ? runFx
    : await loadFixture(
        stack,
        { name: 'purge', database: 'bench_purge', bucket: 'bench-purge', scale: profile.purgeScale },
        log,
      );
  const run = benchTarget(stack, dir, 'bench', runFx, counter.endpoint);
  const purge = benchTarget(stack, dir, 'purge', purgeFx, counter.endpoint);
  const targetsFile = path.join(dir, 'targets.json');
  writeTargetsFile(targetsFile, [run, purge]);
  const tenv = targetEnv([run, purge]);
  const ctx: BenchContext = {
    stack,
    profile,
    dir,
    targetsFile,
    targetEnv: tenv,
    acts: ourActivities(targetsFile, { ...process.env, ...tenv }),
    counter,
    s3: s3Client({ bucket: 'bench-run', endpoint: counter.endpoint }),
    run,
    purge,
    log,
  };
  try {
    if (onlyJobs) {
      const jobs = await backupJobsCase(ctx);
      fs.writeFileSync(path.join(dir, 'results-backup-jobs.json'), JSON.stringify(jobs, null, 2) + '\n');
      const m = machine.stop();
      const header = `reset-runbook bench, backup.jobs (${profile.name}): ${new Date().toISOString().slice(0, 10)}, ${describeMachine(m)}, demo scale ${profile.runScale} (${runFx.report.totalRows} rows); ${profile.dbRuns} interleaved run(s) each`;
      process.stdout.write(
        (values.json ? JSON.stringify({ backupJobs: jobs, machine: m }, null, 2) : jobsTable(jobs, header)) + '\n',
      );
      return;
    }
    const backup = await backupCase(ctx);
    const backupJobs = await backupJobsCase(ctx);
    const plan = await planCase(ctx);
    const reset = await resetCase(ctx);
    const runFigures = await runCase(ctx);
    const purgeFigures = await purgeCase(ctx);
    const m = machine.stop();
    const results: BenchResults = {
      purge: purgeFigures,
      backup,
      backupJobs,
      reset,
      plan,
      run: runFigures,
      machine: m,
    };
    fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    const header =
      `reset-runbook bench (${profile.name}): ${new Date().toISOString().slice(0, 10)}, ${describeMachine(m)}; ` +
      `demo scale ${profile.runScale} (${runFx.report.totalRows} rows, ${runFx.objects} objects), purge of ${purgeFx.doomedKeys.length} objects; ${profile.runs} interleaved run(s) each ` +
      `(${profile.dbRuns} for backup/plan/reset); ${((Date.now() - started) / 1000).toFixed(0)} s in all` +
      (profile.name === 'quick'
        ? '\nThe goals are set for the large demo: a quick run shows the trend, `npm run bench` measures them.'
        : '');
    if (values.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    else process.stdout.write(table(results, header) + '\n\n' + jobsTable(backupJobs, 'backup.jobs:') + '\n');
    log(`results also in ${path.join(dir, 'results.json')}`);
  } finally {
    await counter.close();
    if (!values.keep) {
      await dropFixture(stack, runFx);
      if (purgeFx !== runFx) await dropFixture(stack, purgeFx);
    }
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
