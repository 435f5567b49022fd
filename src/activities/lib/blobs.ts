/**
 * Which S3 objects belong to which ActiveStorage blobs. A blob's object lives at `<prefix><key>`;
 * untracked variants (the pre-7.0 style, still written when variant tracking is off) live under
 * `<prefix>variants/<key>/…`. Tracked variants have blob rows of their own, so they are blobs too.
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

/**
 * The blob key an object belongs to, or undefined for an object no blob pattern names
 * (orphans that predate the reset, other applications' files): those are never ours to delete.
 */
export function ownerKey(
  objectKey: string,
  prefix: string,
  recorded: { has(key: string): boolean },
): string | undefined {
  if (!objectKey.startsWith(prefix)) return undefined;
  const rel = objectKey.slice(prefix.length);
  if (recorded.has(rel)) return rel;
  const m = /^variants\/([^/]+)\//.exec(rel);
  if (m && recorded.has(m[1])) return m[1];
  return undefined;
}
