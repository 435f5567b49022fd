/**
 * backup.jobs: our backup step with jobs 1 (pg_dump -Fc), 2 and 4 (pg_dump -Fd -j N, a folder in
 * backup.dir) against bare `pg_dump -Fc`, interleaved in one run (the order rotates each round, so a
 * neighbour's load or a warm cache favours no side), then the restore of the bare -Fc file with
 * `pg_restore -j 1` against the -Fd folders with `pg_restore -j N`, each into a fresh empty database.
 * Our jobs-1 figure is also the backup case's: here it is the control beside the parallel ones.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { ourActivities, runActivity, timed } from '../lib/activities';
import type { BenchContext } from '../lib/context';
import { libpq, pgDump, run } from '../lib/peers';
import { databaseUrl } from '../lib/stack';
import { figures, ratio, type Figures } from '../lib/stats';
import { targetEnv } from '../lib/target';

export const JOBS = [1, 2, 4] as const;
/** To S3 the parallel dump is written to disk, then uploaded: measured at 1 and 2 jobs against the streamed -Fc. */
export const S3_JOBS = [1, 2] as const;

export interface BackupJobsFigures {
  /** Bare `pg_dump -Fc`. */
  peerSeconds: Figures;
  /** Our backup step per backup.jobs, and its median over the peer's. */
  ours: { jobs: number; seconds: Figures; ratio: number; bytes: number }[];
  /** The same to the S3 destination (moto on this machine). */
  oursS3: { jobs: number; seconds: Figures; ratio: number; bytes: number }[];
  peerBytes: number;
  /** A whole restore into an empty database: the -Fc file with -j 1, the -Fd folders with -j N. */
  restore: { what: string; seconds: Figures }[];
  /** The machine's 1-minute load average before each round: the figures mean little under a neighbour's load. */
  load: number[];
}

async function admin(ctx: BenchContext, sql: string): Promise<void> {
  const c = new Client({ connectionString: ctx.stack.pgAdminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * The run fixture as more targets that differ only in backup.jobs and where the backup goes: a folder
 * each (`-j<N>`), and the S3 destination (`-s3-j<N>`: moto, direct, not through the counting proxy).
 */
function jobsTargets(ctx: BenchContext) {
  const local = JOBS.map((j) => [
    `${ctx.run.name}-j${j}`,
    {
      ...ctx.run.config,
      backup: { ...ctx.run.config.backup, keep: 1, jobs: j, dir: path.join(ctx.dir, `jobs${j}-backups`) },
    },
  ]);
  const s3 = S3_JOBS.map((j) => [
    `${ctx.run.name}-s3-j${j}`,
    {
      ...ctx.run.config,
      backup: {
        ...ctx.run.config.backup,
        keep: 1,
        jobs: j,
        // The scratch folder of a parallel dump before its upload.
        dir: path.join(ctx.dir, `s3-jobs${j}-scratch`),
        destination: {
          kind: 's3',
          bucket: ctx.run.fixture.bucket,
          prefix: `bench-jobs-${j}/`,
          endpoint: ctx.stack.s3Endpoint,
          forcePathStyle: true,
          region: 'us-east-1',
        },
      },
    },
  ]);
  const targets = Object.fromEntries([...local, ...s3]);
  const file = path.join(ctx.dir, 'targets-jobs.json');
  fs.writeFileSync(file, JSON.stringify({ targets }, null, 2) + '\n');
  return ourActivities(file, { ...process.env, ...targetEnv([ctx.run]) });
}

export async function backupJobsCase(ctx: BenchContext): Promise<BackupJobsFigures> {
  const acts = jobsTargets(ctx);
  const peerFile = path.join(ctx.dir, 'peer-jobs.dump');
  const times = new Map<string, number[]>();
  const bytes = new Map<string, number>();
  const paths = new Map<number, string>();
  const add = (k: string, s: number) => times.set(k, [...(times.get(k) ?? []), s]);
  const sides: { key: string; go: () => Promise<void> }[] = [
    {
      key: 'peer',
      go: async () => {
        await pgDump(ctx.stack.pgBin, ctx.run.fixture.url, peerFile);
        bytes.set('peer', fs.statSync(peerFile).size);
      },
    },
    ...JOBS.map((j) => ({
      key: `j${j}`,
      go: async () => {
        const r = await runActivity(acts.backupDatabase, { target: `${ctx.run.name}-j${j}` });
        bytes.set(`j${j}`, r.files[0].bytes);
        paths.set(j, r.files[0].path);
      },
    })),
    ...S3_JOBS.map((j) => ({
      key: `s3-j${j}`,
      go: async () => {
        const r = await runActivity(acts.backupDatabase, { target: `${ctx.run.name}-s3-j${j}` });
        bytes.set(`s3-j${j}`, r.files[0].bytes);
      },
    })),
  ];
  const load: number[] = [];
  for (let i = 0; i < ctx.profile.dbRuns; i++) {
    load.push(Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]));
    const order = [...sides.slice(i % sides.length), ...sides.slice(0, i % sides.length)];
    for (const side of order) {
      const t = await timed(side.go);
      add(side.key, t.seconds);
    }
    ctx.log(
      `backup jobs ${i + 1}/${ctx.profile.dbRuns} (load ${load[i]}): ` +
        order.map((s) => `${s.key} ${times.get(s.key)!.at(-1)!.toFixed(2)} s`).join(', '),
    );
  }

  // Restores: the same archive each time, into a database made empty before each (not timed).
  const scratch = 'bench_restore_jobs';
  const scratchUrl = databaseUrl(ctx.stack, scratch);
  const restoreTimes = new Map<string, number[]>();
  const restores: { what: string; args: string[] }[] = [
    { what: 'pg_restore -j 1 of the pg_dump -Fc file', args: ['-j', '1', peerFile] },
    ...JOBS.filter((j) => j > 1).map((j) => ({
      what: `pg_restore -j ${j} of the backup.jobs ${j} folder`,
      args: ['-j', String(j), paths.get(j)!],
    })),
  ];
  for (let i = 0; i < ctx.profile.dbRuns; i++) {
    for (const r of [...restores.slice(i % restores.length), ...restores.slice(0, i % restores.length)]) {
      await admin(ctx, `DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
      await admin(ctx, `CREATE DATABASE ${scratch}`);
      const t = await timed(() =>
        run(
          path.join(ctx.stack.pgBin, 'pg_restore'),
          ['--no-owner', '--exit-on-error', '-d', scratch, ...r.args],
          libpq(scratchUrl),
        ),
      );
      restoreTimes.set(r.what, [...(restoreTimes.get(r.what) ?? []), t.seconds]);
      ctx.log(`restore ${i + 1}/${ctx.profile.dbRuns}: ${r.what} ${t.seconds.toFixed(2)} s`);
    }
  }
  await admin(ctx, `DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
  fs.rmSync(peerFile, { force: true });

  const peer = figures(times.get('peer')!);
  return {
    peerSeconds: peer,
    peerBytes: bytes.get('peer') ?? 0,
    ours: JOBS.map((j) => {
      const f = figures(times.get(`j${j}`)!);
      return { jobs: j, seconds: f, ratio: ratio(f, peer), bytes: bytes.get(`j${j}`) ?? 0 };
    }),
    oursS3: S3_JOBS.map((j) => {
      const f = figures(times.get(`s3-j${j}`)!);
      return { jobs: j, seconds: f, ratio: ratio(f, peer), bytes: bytes.get(`s3-j${j}`) ?? 0 };
    }),
    restore: restores.map((r) => ({ what: r.what, seconds: figures(restoreTimes.get(r.what)!) })),
    load,
  };
}
