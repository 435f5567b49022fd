/**
 * npm run bench [-- --scale quick|large|xlarge|s3-200k] [-- --storage s3|disk] [-- --s3-server moto|memory]
 *               [-- --json] [-- --runs N] [-- --keep] [-- --reuse] [-- --load-only] [-- --warm]
 *               [-- --case run|backup-jobs [--no-storage]] [-- --quick]
 *
 * --scale picks the data: quick (scale 30, 25,000 rows), large (the default: 1.1 M rows, 65,000 objects),
 * xlarge (11 M rows, 650,000 files; Disk service only, whole run only), s3-200k (3.4 M rows, 200,000
 * objects; S3 with --s3-server memory only, whole run only); --quick is --scale quick. --s3-server memory
 * puts the bench's buckets in an in-memory S3 server (bench/s3-server, built with Go on first use)
 * instead of the stack's moto: the same S3 API, several times faster to fill.
 * --storage disk puts the run fixture's files on ActiveStorage's Disk service (a folder under
 * $RR_STATE_DIR/bench-fixtures/) instead of moto S3, and runs the whole-run case only (the purge case
 * is S3's): the same data at every scale in minutes, where moto takes an hour at xlarge. --case run
 * runs only the whole-run case. Each whole run's per-step times (ours from the run's result, the
 * script's from its own timestamps) go to `run.steps`; a whole-run-only bench keeps its results in
 * `$RR_STATE_DIR/bench-run-<scale>-<storage>.json` for the chart (bench/chart.ts). --reuse uses a
 * fixture an earlier `--keep` or `--load-only` left (its template database and folder); --load-only
 * loads the fixture, keeps it and stops. --warm: in the whole-run case each worker first serves one run
 * of its own, not measured, so the measured run is a deployed worker's usual one, not the first after
 * its start (`run.worker` says which; memory figures are a fresh worker's only).
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
import { chartOf, type RunResultsFile } from './chart';
import { backupCase } from './cases/backup';
import { backupJobsCase } from './cases/backup-jobs';
import { planCase } from './cases/plan';
import { purgeCase } from './cases/purge';
import { resetCase } from './cases/reset';
import { runCase } from './cases/run';
import { ourActivities } from './lib/activities';
import { PROFILES, type BenchContext, type Profile, type StorageKind } from './lib/context';
import { dropFixture, loadFixture } from './lib/fixture';
import { listKeys } from './lib/peers';
import { describeMachine, sampleMachine } from './lib/machine';
import { jobsTable, runStepsTable, table, type BenchResults } from './lib/report';
import { startMemoryS3 } from './lib/memory-s3';
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
      scale: { type: 'string' },
      storage: { type: 'string' },
      reuse: { type: 'boolean' },
      'load-only': { type: 'boolean' },
      's3-server': { type: 'string' },
      warm: { type: 'boolean' },
    },
  });
  if (values.quick && values.scale && values.scale !== 'quick')
    throw new Error(`--quick is --scale quick: it cannot go with --scale ${values.scale}`);
  const scaleName = values.quick ? 'quick' : (values.scale ?? 'large');
  if (!(scaleName in PROFILES))
    throw new Error(`--scale: quick, large, xlarge or s3-200k, not ${JSON.stringify(scaleName)}`);
  const profile: Profile = { ...PROFILES[scaleName as Profile['name']] };
  const storage = (values.storage ?? (scaleName === 'xlarge' ? 'disk' : 's3')) as StorageKind;
  if (storage !== 's3' && storage !== 'disk') throw new Error(`--storage: s3 or disk, not ${JSON.stringify(storage)}`);
  if (scaleName === 'xlarge' && storage === 's3')
    throw new Error(
      '--scale xlarge is on the Disk service only: moto takes about an hour for its 650,000 uploads (use --storage disk)',
    );
  const s3Server = values['s3-server'] ?? 'moto';
  if (s3Server !== 'moto' && s3Server !== 'memory')
    throw new Error(`--s3-server: moto or memory, not ${JSON.stringify(s3Server)}`);
  if (scaleName === 's3-200k' && (storage !== 's3' || s3Server !== 'memory'))
    throw new Error(
      '--scale s3-200k runs on S3 in the in-memory server only: add --s3-server memory (moto would take most of an hour to put the deleted objects back before each run)',
    );
  if (s3Server === 'memory' && storage === 'disk') throw new Error('--s3-server memory goes with --storage s3');
  if (values.runs) profile.runs = profile.dbRuns = Number(values.runs);
  if (!(profile.runs >= 1)) throw new Error('--runs must be a positive integer');
  if (values.case !== undefined && values.case !== 'backup-jobs' && values.case !== 'run')
    throw new Error('--case: "run" or "backup-jobs"');
  if (storage === 'disk' && values.case === 'backup-jobs')
    throw new Error('--case backup-jobs runs on S3 (its off-host destinations): drop --storage disk');
  if (values['no-storage'] && values.case !== 'backup-jobs')
    throw new Error('--no-storage goes with --case backup-jobs');
  const onlyJobs = values.case === 'backup-jobs';
  // The Disk service has no purge case (S3's DeleteObjects) to run: the whole run is what it measures.
  const onlyRun = values.case === 'run' || storage === 'disk' || scaleName === 's3-200k';
  const keep = values.keep || values['load-only'];
  const started = Date.now();
  const machine = sampleMachine();
  const log = (line: string) =>
    process.stderr.write(`bench [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

  const stack = stackUp(log);
  const memoryS3 = s3Server === 'memory' ? await startMemoryS3(stack.stateDir, log) : undefined;
  if (memoryS3) stack.s3Endpoint = process.env.RR_S3_ENDPOINT = memoryS3.endpoint;
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
      // One database (and folder) per scale on the Disk service, so that fixtures kept for --reuse coexist.
      database: storage === 'disk' ? `bench_run_${profile.name}_disk` : 'bench_run',
      bucket: 'bench-run',
      scale: profile.runScale,
      noStorage: onlyJobs && values['no-storage'],
      storageDir: storage === 'disk' ? path.join(stack.stateDir, 'bench-fixtures', `${profile.name}-disk`) : undefined,
      reuse: values.reuse,
    },
    log,
  );
  if (values['load-only']) {
    log(`--load-only: fixture kept in ${runFx.database}_template${runFx.storageDir ? ` and ${runFx.storageDir}` : ''}`);
    return;
  }
  // The backup.jobs and run cases alone need no purge fixture (minutes of uploads to moto at the full scale).
  const purgeFx =
    onlyJobs || onlyRun
      ? runFx
      : await loadFixture(
          stack,
          { name: 'purge', database: 'bench_purge', bucket: 'bench-purge', scale: profile.purgeScale },
          log,
        );
  const run = benchTarget(stack, dir, 'bench', runFx, counter.endpoint);
  const purge = purgeFx === runFx ? run : benchTarget(stack, dir, 'purge', purgeFx, counter.endpoint);
  const targets = purge === run ? [run] : [run, purge];
  const targetsFile = path.join(dir, 'targets.json');
  writeTargetsFile(targetsFile, targets);
  const tenv = targetEnv(targets);
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
    warmWorker: values.warm === true,
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
    if (onlyRun) {
      const runFigures = await runCase(ctx);
      const m = machine.stop();
      const results = {
        scale: {
          name: profile.name,
          demoScale: profile.runScale,
          storage,
          rows: runFx.report.totalRows,
          files: runFx.objects,
          deletedObjects: runFx.doomedKeys.length,
          databaseBytes: runFigures.databaseBytes,
        },
        run: runFigures,
        machine: m,
        date: new Date().toISOString(),
        seconds: Math.round((Date.now() - started) / 1000),
      };
      fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
      // A warm worker's figures are kept apart: the chart draws fresh workers' runs, as every scale has them.
      const keepFile = path.join(
        stack.stateDir,
        `bench-run-${profile.name}-${storage}${ctx.warmWorker ? '-warm-worker' : ''}.json`,
      );
      fs.writeFileSync(keepFile, JSON.stringify(results, null, 2) + '\n');
      const header =
        `reset-runbook bench, whole run (${profile.name}, ${storage === 'disk' ? 'Disk service' : 'S3'}): ${results.date.slice(0, 10)}, ${describeMachine(m)}; ` +
        `demo scale ${profile.runScale} (${runFx.report.totalRows} rows, ${runFx.objects} ${storage === 'disk' ? 'files' : 'objects'}, ${runFx.doomedKeys.length} deleted by a reset); ` +
        `${profile.runs} interleaved run(s) each${ctx.warmWorker ? ", ours each its worker's second (--warm)" : ''}; ${results.seconds} s in all`;
      if (values.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      else process.stdout.write(runStepsTable(runFigures, header) + '\n');
      log(`results also in ${keepFile}`);
      // The per-step chart, once two scales or more of this storage have results here.
      const files = fs
        .readdirSync(stack.stateDir)
        .filter((n) => n.startsWith('bench-run-') && n.endsWith(`-${storage}.json`))
        .map((n) => JSON.parse(fs.readFileSync(path.join(stack.stateDir, n), 'utf8')) as RunResultsFile);
      if (files.length >= 2) {
        const svg = path.join(stack.stateDir, `bench-steps-${storage}.svg`);
        fs.writeFileSync(svg, chartOf(files));
        log(`per-step chart of ${files.map((f) => f.scale.name).join(', ')}: ${svg} (npx tsx bench/chart.ts for docs)`);
      }
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
    await memoryS3?.stop();
    if (!keep) {
      await dropFixture(stack, runFx);
      if (purgeFx !== runFx) await dropFixture(stack, purgeFx);
    }
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
