/**
 * What the blob table costs inside the workers-stopped window with workers.startBeforePurge (a
 * measurement, not a test: the figures go into docs/runbook.md and the closing note).
 *   npx tsx test/support/measure-window-floor.ts 65000 1000000     (starts the local stack: scripts/stack up)
 * For each size N it makes a scratch database holding only an ActiveStorage-shaped blob table of N rows,
 * takes a horizon as the reading before the stop does, adds two rows after it, and times, on the
 * server's own connections, the three things the reset does to that table while the workers are
 * stopped: the delta (a cursor over the rows newer than the horizon), the exact count(*) it records
 * for the restore, both at once (as the reset runs them), and the TRUNCATE with its COMMIT. Three
 * rounds each; prints one JSON line per round. The scratch database is dropped at the end.
 */
import { Client } from 'pg';
import { databaseUrl, stackUp } from '../../bench/lib/stack';

const ROUNDS = 3;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const s = performance.now();
  await fn();
  return Math.round(performance.now() - s);
}

async function fill(c: Client, rows: number): Promise<string> {
  await c.query(`DROP TABLE IF EXISTS active_storage_blobs`);
  await c.query(`CREATE TABLE active_storage_blobs (id bigserial PRIMARY KEY, key varchar NOT NULL, filename varchar NOT NULL,
    content_type varchar, metadata text, service_name varchar NOT NULL, byte_size bigint NOT NULL, checksum varchar,
    created_at timestamp NOT NULL)`);
  await c.query(`CREATE UNIQUE INDEX ON active_storage_blobs (key)`);
  await c.query(
    `INSERT INTO active_storage_blobs (key, filename, service_name, byte_size, created_at)
     SELECT md5('k-' || g), 'f.bin', 'local', 16, now() FROM generate_series(1, $1::int) g`,
    [rows],
  );
  await c.query('ANALYZE active_storage_blobs');
  await c.query('CHECKPOINT');
  const h = await c.query<{ x: string }>(
    `SELECT (txid_snapshot_xmin(txid_current_snapshot()) % 4294967296)::text AS x`,
  );
  await c.query(`INSERT INTO active_storage_blobs (key, filename, service_name, byte_size, created_at)
                 VALUES ('new-1', 'f', 'local', 1, now()), ('new-2', 'f', 'local', 1, now())`);
  return h.rows[0].x;
}

async function main(sizes: number[]): Promise<void> {
  const stack = stackUp((l) => process.stderr.write(`${l}\n`));
  const db = `rr_window_floor_${process.pid}`;
  const a = new Client({ connectionString: stack.pgAdminUrl });
  await a.connect();
  await a.query(`CREATE DATABASE ${db}`);
  const c = new Client({ connectionString: databaseUrl(stack, db) });
  const c2 = new Client({ connectionString: databaseUrl(stack, db) });
  try {
    await c.connect();
    await c2.connect();
    for (const rows of sizes) {
      let horizon = await fill(c, rows);
      // The same statement the reset's delta declares (lib/blob-lines.ts newerThanSql, lib/blobs.ts streamBlobs).
      const delta = async () => {
        await c.query('BEGIN READ ONLY');
        await c.query(
          `DECLARE d NO SCROLL CURSOR FOR SELECT key, service_name, byte_size FROM active_storage_blobs
            WHERE age(xmin) <= age('${horizon}'::xid) ORDER BY service_name COLLATE "C", key COLLATE "C"`,
        );
        await c.query('FETCH 2000 FROM d');
        await c.query('COMMIT');
      };
      const count = () => c2.query('SELECT count(*) FROM active_storage_blobs');
      for (let i = 0; i < ROUNDS; i++) {
        const figures = {
          rows,
          deltaMs: await timed(delta),
          countMs: await timed(count),
          bothAtOnceMs: await timed(() => Promise.all([delta(), count()])),
          truncateMs: await timed(async () => {
            await c.query('BEGIN');
            await c.query('TRUNCATE active_storage_blobs');
            await c.query('COMMIT');
          }),
        };
        process.stdout.write(JSON.stringify(figures) + '\n');
        if (i < ROUNDS - 1) horizon = await fill(c, rows);
      }
    }
  } finally {
    await c.end().catch(() => undefined);
    await c2.end().catch(() => undefined);
    await a.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
    await a.end();
  }
}

main(process.argv.slice(2).map(Number)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
