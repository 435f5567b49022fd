/**
 * Peak memory of an S3 backup, measured (not a test: the figures go into the closing note).
 *   eval "$(scripts/stack env)"; npx tsx test/support/measure-backup-rss.ts 10 250
 * For each size (MB) it makes a database of that much incompressible data, runs the backup activity
 * in a fresh process with an S3 destination, and prints that process's peak RSS (VmHWM) and dump size.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { createBackupActivities } from '../../src/activities/backup';
import { loadTargetsFile } from '../../src/config/load';

async function child(): Promise<void> {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const acts = createBackupActivities({
    targets: loadTargetsFile(process.env.RESET_RUNBOOK_TARGETS!),
    env: process.env,
  });
  const r = (await new MockActivityEnvironment().run(acts.backupDatabase, { target: 'rss' })) as {
    files: { bytes: number }[];
  };
  clearInterval(timer);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
  process.stdout.write(
    JSON.stringify({ bytes: r.files[0].bytes, sampledPeakRss: peak, vmHWM: Number(hwm) * 1024 }) + '\n',
  );
}

async function main(sizes: number[]): Promise<void> {
  const admin = process.env.RR_PG_ADMIN_URL!;
  for (const mb of sizes) {
    const db = `rr_rss_${mb}`;
    const c = new Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${db}`);
    await c.query(`CREATE DATABASE ${db}`);
    await c.end();
    const u = new URL(admin);
    u.pathname = `/${db}`;
    const d = new Client({ connectionString: u.toString() });
    await d.connect();
    await d.query(`CREATE TABLE blob (id int PRIMARY KEY, data bytea)`);
    await d.query(`ALTER TABLE blob ALTER COLUMN data SET STORAGE EXTERNAL`);
    // 1 MB of /dev/urandom per row: pg_dump -Fc cannot compress it, so the dump is as big as the data.
    await d.query(
      `INSERT INTO blob SELECT g, pg_read_binary_file('/dev/urandom', 0, 1048576) FROM generate_series(1, $1) g`,
      [mb],
    );
    await d.end();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-rss-'));
    const targets = path.join(dir, 'targets.json');
    fs.writeFileSync(
      targets,
      JSON.stringify({
        targets: {
          rss: {
            database: { urlEnv: 'RSS_DATABASE_URL' },
            backup: {
              keep: 1,
              destination: {
                kind: 's3',
                bucket: process.env.RR_S3_BUCKET,
                prefix: `rr-rss-${mb}/`,
                endpoint: process.env.RR_S3_ENDPOINT,
                forcePathStyle: true,
                region: 'us-east-1',
              },
            },
          },
        },
      }),
    );
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', __filename, '--child'], {
      env: { ...process.env, RESET_RUNBOOK_TARGETS: targets, RSS_DATABASE_URL: u.toString() },
      encoding: 'utf8',
    });
    const m = JSON.parse(out.trim().split('\n').pop()!);
    const MB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `database ${mb} MB of data: dump ${MB(m.bytes)}, peak RSS sampled ${MB(m.sampledPeakRss)}, VmHWM ${MB(m.vmHWM)}`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
    const c2 = new Client({ connectionString: admin });
    await c2.connect();
    await c2.query(`DROP DATABASE IF EXISTS ${db}`);
    await c2.end();
  }
}

if (process.argv.includes('--child')) child().catch((e) => (console.error(e), process.exit(1)));
else
  main(
    process.argv
      .slice(2)
      .map(Number)
      .filter((n) => n > 0),
  ).catch((e) => (console.error(e), process.exit(1)));
