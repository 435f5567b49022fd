/**
 * What the restore drill costs: the backup activity with backup.verify "list" (pg_dump -Fc, SHA-256,
 * pg_restore --list) against the same with "restore" (plus the source counted in the dump's snapshot,
 * pg_restore into a scratch database, its tables counted), interleaved on the same database.
 *
 *   eval "$(scripts/stack env)"
 *   scripts/demo-db load --database-url "$RR_PG_ADMIN_URL_BASE/rr_drill_bench" --scale small --no-storage --fresh
 *   npx tsx bench/drill-cost.ts postgres://postgres@127.0.0.1:15432/rr_drill_bench [runs=3]
 *
 * Prints one JSON line per run and a summary (min and median seconds per mode, their ratio).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities } from '../src/activities/backup';
import { loadTargetsFile } from '../src/config/load';
import type { BackupRecord } from '../src/contract';

async function main(url: string, runs: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-drill-bench-'));
  const file = path.join(dir, 'targets.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      targets: {
        bench: { database: { urlEnv: 'BENCH_DATABASE_URL' }, backup: { dir: path.join(dir, 'backups'), keep: 1 } },
      },
    }),
  );
  const env = { ...process.env, BENCH_DATABASE_URL: url };
  const acts = createBackupActivities({ targets: loadTargetsFile(file, env), env });
  const times: Record<'list' | 'restore', number[]> = { list: [], restore: [] };
  try {
    for (let i = 0; i < runs; i++) {
      for (const verify of ['list', 'restore'] as const) {
        const t0 = process.hrtime.bigint();
        const b = (await new MockActivityEnvironment().run(acts.backupDatabase, {
          target: 'bench',
          verify,
        })) as BackupRecord;
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        times[verify].push(s);
        console.log(
          JSON.stringify({
            run: i + 1,
            verify,
            seconds: Number(s.toFixed(2)),
            dumpBytes: b.files[0].bytes,
            tables: b.drill?.tables,
            rows: b.drill?.rows,
          }),
        );
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (k: 'list' | 'restore') =>
    `${k.padEnd(8)} min ${Math.min(...times[k]).toFixed(2)} s  median ${median(times[k]).toFixed(2)} s`;
  console.log(row('list'));
  console.log(row('restore'));
  console.log(`restore/list (medians): ${(median(times.restore) / median(times.list)).toFixed(2)}×`);
}

main(process.argv[2] ?? process.env.DATABASE_URL ?? '', Number(process.argv[3] ?? 3)).catch((err) => {
  console.error(err);
  process.exit(1);
});
