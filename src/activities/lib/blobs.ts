/**
 * The ActiveStorage blob table, as the reset, plan and purge read it. A blob's object lives at
 * `<prefix><key>`; untracked variants (the pre-7.0 style, still written when variant tracking is off)
 * live under `<prefix>variants/<key>/…` (variant-owners.ts). Tracked variants have blob rows of their
 * own, so they are blobs too.
 */
import type { Client } from 'pg';

export interface BlobRow {
  key: string;
  service: string;
  bytes: number;
}

export async function blobTableExists(c: Client): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(`SELECT to_regclass('active_storage_blobs') IS NOT NULL AS ok`);
  return r.rows[0].ok;
}

/**
 * Every blob row, ordered by service then key, through a server-side cursor: at most `fetch` rows are
 * in memory at a time, whatever the table holds. `where`, an SQL condition, narrows the rows (a manifest's
 * delta: lib/blob-lines.ts). The cursor lives in a read-only transaction on `c`, ended when the rows are
 * read or the reader stops.
 */
export async function* streamBlobs(c: Client, fetch = 2000, where = ''): AsyncGenerator<BlobRow> {
  if (!(await blobTableExists(c))) return;
  await c.query('BEGIN READ ONLY');
  let done = false;
  try {
    await c.query(
      `DECLARE rr_blobs NO SCROLL CURSOR FOR SELECT key, service_name AS service, byte_size::bigint AS bytes FROM active_storage_blobs ${where ? `WHERE ${where}` : ''} ORDER BY service_name COLLATE "C", key COLLATE "C"`,
    );
    for (;;) {
      const r = await c.query<{ key: string; service: string; bytes: string }>(`FETCH ${fetch} FROM rr_blobs`);
      for (const x of r.rows) yield { key: x.key, service: x.service, bytes: Number(x.bytes) };
      if (r.rows.length < fetch) break;
    }
    await c.query('COMMIT');
    done = true;
  } finally {
    if (!done) await c.query('ROLLBACK').catch(() => undefined);
  }
}

export async function blobTableEmpty(c: Client): Promise<boolean> {
  if (!(await blobTableExists(c))) return true;
  return !(await c.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM active_storage_blobs) AS any`)).rows[0].any;
}

/** Every blob row at once: only for a table known to be small (what the seeds made). */
export async function readBlobs(c: Client): Promise<BlobRow[]> {
  if (!(await blobTableExists(c))) return [];
  const r = await c.query<{ key: string; service: string; bytes: string }>(
    `SELECT key, service_name AS service, byte_size::bigint AS bytes FROM active_storage_blobs ORDER BY service_name COLLATE "C", key COLLATE "C"`,
  );
  return r.rows.map((x) => ({ key: x.key, service: x.service, bytes: Number(x.bytes) }));
}

export async function summariseBlobs(c: Client): Promise<{ count: number; bytes: number; services: string[] }> {
  if (!(await blobTableExists(c))) return { count: 0, bytes: 0, services: [] };
  const r = await c.query<{ service: string; n: string; b: string }>(
    `SELECT service_name AS service, count(*)::bigint AS n, coalesce(sum(byte_size), 0)::bigint AS b
       FROM active_storage_blobs GROUP BY 1 ORDER BY 1`,
  );
  return {
    count: r.rows.reduce((a, x) => a + Number(x.n), 0),
    bytes: r.rows.reduce((a, x) => a + Number(x.b), 0),
    services: r.rows.map((x) => x.service),
  };
}

/** Blobs (count, bytes) per service: what the plan reports as the objects to delete, without listing a bucket. */
export async function blobsByService(c: Client): Promise<Map<string, { count: number; bytes: number }>> {
  const out = new Map<string, { count: number; bytes: number }>();
  if (!(await blobTableExists(c))) return out;
  const r = await c.query<{ service: string; n: string; b: string }>(
    `SELECT service_name AS service, count(*)::bigint AS n, coalesce(sum(byte_size), 0)::bigint AS b FROM active_storage_blobs GROUP BY 1`,
  );
  for (const x of r.rows) out.set(x.service, { count: Number(x.n), bytes: Number(x.b) });
  return out;
}

/** Up to n blob keys of a service, picked at random (the plan's existence sample). */
export async function sampleBlobKeys(c: Client, service: string, n: number): Promise<string[]> {
  if (n <= 0 || !(await blobTableExists(c))) return [];
  const r = await c.query<{ key: string }>(
    `SELECT key FROM active_storage_blobs WHERE service_name = $1 ORDER BY random() LIMIT $2`,
    [service, n],
  );
  return r.rows.map((x) => x.key);
}
