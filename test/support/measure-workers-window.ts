/**
 * The workers-stopped window of a whole reset with workers.startBeforePurge off and on, against the
 * number of files the purge deletes (a measurement, not a test: the figures go into the closing note).
 *   eval "$(scripts/stack env)"; npx tsx test/support/measure-workers-window.ts [--at-rest] [--floor] 2000 65000 [1000000:on]
 * For each count N and each setting it makes a fresh small demo database (scale 1), adds N blobs on an
 * ActiveStorage Disk service with one file each (files on a local folder are quick to make; moto takes
 * minutes for 65,000 objects), and runs a real reset: Temporal, a worker process, the stand-in Solid
 * Queue service. The window is read as the bench reads it (bench/lib/target.ts): the target's stop and
 * start commands write a timestamp, from the moment the stop begins to the moment the start returns.
 * Prints one JSON line per run, then on stderr the window's growth from the fewest files to the most
 * with the setting on (test/support/window-growth.ts).
 * --at-rest (before the counts): the blob table and its files as production has them, not just written.
 * Before each run the table is vacuumed (its hint bits set, its visibility map made), PostgreSQL takes a
 * checkpoint and the kernel writes the files out (sync): a fixture's first reading otherwise pays for the
 * pages its inserts just dirtied, inside the window.
 * --floor: after each run with the setting on, a floor run on a like fixture (interleaved, so that the
 * machine's drift falls alike on both): the target's own stop command, the TRUNCATE and the seeds in one
 * psql transaction (bench/lib/peers.ts, as the bare script does them), the target's own start command.
 * Nothing is read or recorded before the TRUNCATE: the least any tool holds the workers for, and how much
 * of the window's growth with the files is PostgreSQL's alone.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { psqlTruncateAndSeed, tablesToTruncate } from '../../bench/lib/peers';
import { markedWorkerCommands, windowSecondsIn } from '../../bench/lib/target';
import { approveAndFinish } from './drive';
import { writeDiskFiles } from './disk-layout';
import { fixture, type ResetFixture } from './fixture';
import { windowGrowth, type WindowRun } from './window-growth';

/** The run in progress: a measurement stopped with Ctrl-C or `kill` still removes what it started. */
let current: { cleanup(): Promise<void> } | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    process.stderr.write(`${signal}: cleaning up the run in progress\n`);
    // A worker still starting is not in the fixture's list yet: every child of this process goes first.
    spawnSync('pkill', ['-KILL', '-P', String(process.pid)]);
    void (current?.cleanup() ?? Promise.resolve()).finally(() => process.exit(130));
  });

/** A small demo database plus `files` blobs on a Disk service, one file each; the Solid Queue stand-in running. */
async function prepare(files: number, atRest: boolean): Promise<{ f: ResetFixture; root: string; marks: string }> {
  const f = (current = await fixture({ scale: 1 }));
  try {
    const root = path.join(f.dir, 'storage');
    await f.sql(`UPDATE active_storage_blobs SET service_name = 'local'`);
    await f.sql(
      `INSERT INTO active_storage_blobs (key, filename, service_name, byte_size, created_at)
       SELECT md5('${f.id}-' || g), 'f.bin', 'local', 16, now() FROM generate_series(1, $1::int) g`,
      [files],
    );
    const keys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
    writeDiskFiles(root, keys, () => 'x'.repeat(16));
    if (atRest) {
      await f.sql('VACUUM (ANALYZE) active_storage_blobs');
      await f.sql('CHECKPOINT');
      if (spawnSync('sync').status !== 0) throw new Error('sync failed');
    }
    if (f.service('start') !== 0) throw new Error('the Solid Queue stand-in did not start');
    return { f, root, marks: path.join(f.dir, 'marks.log') };
  } catch (e) {
    current = undefined;
    await f.cleanup();
    throw e;
  }
}

async function once(
  files: number,
  startBeforePurge: boolean,
  atRest: boolean,
): Promise<WindowRun & Record<string, unknown>> {
  const { f, root, marks } = await prepare(files, atRest);
  try {
    const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
    const t = file.targets[f.target];
    t.storage = { services: { local: { kind: 'disk', root } } };
    Object.assign(t.workers, markedWorkerCommands(marks), { startBeforePurge });
    fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
    await f.startWorker();
    const r = await approveAndFinish(await f.start({ mode: 'execute' }), f.dbName);
    if (r.outcome !== 'completed') throw new Error(`run ended ${r.outcome}: ${r.message}`);
    const w = r.workers!;
    return {
      files,
      startBeforePurge,
      atRest,
      objectsDeleted: r.objectsDeleted?.count,
      windowSeconds: windowSecondsIn(marks),
      resultWindowSeconds: (Date.parse(w.startedAgainAt!) - Date.parse(w.stoppedSince!)) / 1000,
      stepSeconds: Object.fromEntries(Object.entries(r.stepDurationsMs ?? {}).map(([k, v]) => [k, (v ?? 0) / 1000])),
    };
  } finally {
    current = undefined;
    await f.cleanup();
  }
}

/**
 * The floor: the same fixture's workers stopped, its tables truncated and seeded, its workers started, by
 * the same commands as a run's, with nothing read before the TRUNCATE. The files stay (no purge: it comes
 * after the window either way).
 */
async function floorOnce(files: number, atRest: boolean): Promise<WindowRun & Record<string, unknown>> {
  const { f, marks } = await prepare(files, atRest);
  try {
    const pgBin = process.env.RR_PG_BIN;
    if (!pgBin) throw new Error('--floor needs RR_PG_BIN: run eval "$(scripts/stack env)" first');
    const c = new Client({ connectionString: f.dbUrl });
    await c.connect();
    const tables = await tablesToTruncate(c).finally(() => c.end());
    const sh = (command: string) => {
      const r = spawnSync('/bin/sh', ['-c', command], { env: f.serviceEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`"${command}" exited ${r.status}: ${r.stderr}`);
    };
    const { stop, start } = markedWorkerCommands(marks);
    sh(stop);
    await psqlTruncateAndSeed(pgBin, f.dbUrl, tables);
    sh(start);
    return { files, startBeforePurge: true, floor: true, atRest, windowSeconds: windowSecondsIn(marks) };
  } finally {
    current = undefined;
    await f.cleanup();
  }
}

async function main(args: string[]): Promise<void> {
  // Interleaved, off then on, for each count: the machine's load drifts alike for both settings.
  // "N:on" runs only the setting on (at 1 M files the run with it off holds the workers for minutes).
  const runs: WindowRun[] = [];
  const flags = ['--at-rest', '--floor'];
  const atRest = args.includes('--at-rest');
  const floor = args.includes('--floor');
  const counts = args.filter((x) => !flags.includes(x));
  for (const a of counts)
    if (!/^\d+(:on)?$/.test(a))
      throw new Error(`"${a}": expected a number of files, N or N:on, or one of ${flags.join(', ')}`);
  if (!counts.length) throw new Error('expected at least one number of files (N or N:on)');
  for (const a of counts) {
    const [n, only] = a.split(':');
    for (const on of only === 'on' ? [true] : [false, true]) {
      const r = await once(Number(n), on, atRest);
      runs.push(r);
      process.stdout.write(JSON.stringify(r) + '\n');
      if (on && floor) {
        const b = await floorOnce(Number(n), atRest);
        runs.push(b);
        process.stdout.write(JSON.stringify(b) + '\n');
      }
    }
  }
  // On stderr: stdout stays one JSON line per run.
  const growth = windowGrowth(runs);
  if (growth) process.stderr.write(`${growth}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
