/**
 * The blob table as purge-manifest lines, written by PostgreSQL itself (COPY … TO STDOUT): the worker
 * passes the bytes on in the socket's chunks and never makes a JavaScript object per row. At a million
 * blobs, one object per row (a cursor's rows, then JSON.stringify) grew the worker's heap by ~90 MB
 * before the collector caught up, whatever the fetch size; bytes in and bytes out stay flat.
 *
 * A line is exactly the one lib/manifest-format.ts writes from a row, `["<service>","<key>",<bytes>]`:
 * to_json escapes text as JSON.stringify does (quotes, backslashes, control characters as \u00xx), so
 * the two writers' bytes are equal. COPY's CSV mode with \x01 and \x02 as quote and delimiter passes a
 * JSON line through untouched: JSON never holds a raw control character, so nothing is ever quoted.
 *
 * Everything is read in one REPEATABLE READ transaction: the totals, the lines, and `seen`, the
 * snapshot's horizon, which tells a later reading which rows this one may not have seen (`newerThanSql`).
 */
import type { Readable } from 'node:stream';
import type { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { emptyTotals, type BlobHorizon, type ManifestTotals } from './manifest-format';

import { blobTableExists } from './blobs';

export interface BlobLines {
  horizon: BlobHorizon;
  totals: ManifestTotals;
  /** The lines, newline-terminated, ordered by service then key ("C" collation): read once. */
  lines: AsyncIterable<Buffer> | Iterable<Buffer>;
}

const LINE = `'[' || to_json(service_name)::text || ',' || to_json(key)::text || ',' || coalesce(byte_size, 0)::bigint || ']'`;
const ORDER = `ORDER BY service_name COLLATE "C", key COLLATE "C"`;

/**
 * Rows another reading with this horizon may not have seen: those whose version was written by a
 * transaction at or after its horizon (in progress then, or begun since). age() counts back from now, so
 * wraparound does no harm. A frozen row keeps the xid that wrote it (PostgreSQL has frozen with a hint
 * bit since 9.4), so a VACUUM FREEZE in between hides nothing. An updated row comes again (harmless: every
 * blob row is about to be truncated, and the purge merges the two readings).
 */
export function newerThanSql(h: BlobHorizon): string {
  if (!/^\d+$/.test(h.xmin)) throw new Error(`not a transaction id: ${JSON.stringify(h.xmin)}`);
  return `age(xmin) <= age('${Math.max(3, Number(h.xmin))}'::xid)`;
}

/**
 * Reads the whole blob table and hands its totals and lines to `use`, inside one read-only snapshot. The transaction ends
 * when `use` does; `use` must read the lines through.
 */
export async function withBlobLines<T>(c: Client, use: (b: BlobLines) => Promise<T>): Promise<T> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  let done = false;
  let copy: Readable | undefined;
  try {
    // The first statement fixes the snapshot every later one reads.
    const h = await c.query<{ xmin: string; at: Date }>(
      `SELECT (txid_snapshot_xmin(txid_current_snapshot()) % 4294967296)::text AS xmin, now() AS at`,
    );
    const horizon: BlobHorizon = { xmin: h.rows[0].xmin, at: h.rows[0].at.toISOString() };
    let result: T;
    if (!(await blobTableExists(c))) {
      result = await use({ horizon, totals: emptyTotals(), lines: [] as Buffer[] });
    } else {
      const totals = emptyTotals();
      const r = await c.query<{ service: string; n: string; b: string }>(
        `SELECT service_name AS service, count(*)::bigint AS n, coalesce(sum(byte_size), 0)::bigint AS b
           FROM active_storage_blobs GROUP BY 1`,
      );
      for (const x of r.rows) {
        totals.services[x.service] = { rows: Number(x.n), bytes: Number(x.b) };
        totals.rows += Number(x.n);
        totals.bytes += Number(x.b);
      }
      copy = c.query(
        copyTo(
          `COPY (SELECT ${LINE} FROM active_storage_blobs ${ORDER}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`,
        ),
      );
      // A reader that stops early leaves the stream whole, so that it can be drained below.
      result = await use({ horizon, totals, lines: copy.iterator({ destroyOnReturn: false }) });
    }
    await c.query('COMMIT');
    done = true;
    return result;
  } finally {
    if (!done) {
      // The connection answers nothing else until a COPY it began has sent its last row: drain it first,
      // or the ROLLBACK would wait forever behind it.
      if (copy && !copy.readableEnded && !copy.destroyed) await drain(copy);
      await c.query('ROLLBACK').catch(() => undefined);
    }
  }
}

function drain(s: Readable): Promise<void> {
  return new Promise((resolve) => {
    s.once('end', resolve)
      .once('error', () => resolve())
      .once('close', resolve);
    s.resume();
  });
}
