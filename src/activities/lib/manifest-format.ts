/**
 * The purge manifest's bytes, written and read as a stream: neither the reset nor the purge ever holds
 * every key (a million keys are ~60 MB of rows, and the worker's memory must not grow with the data).
 *
 * Version 2, JSON lines (any key, even one with a newline in it, stays on its line: JSON escapes it):
 *   {"format":"reset-runbook-purge-manifest","version":2,"target":…,"runId":…,"createdAt":…}
 *   ["<service>","<key>",<bytes>]        one per blob, ordered by service then key (PostgreSQL's "C" collation)
 *   {"end":{"rows":N,"bytes":B,"sha256":"…"}}   the SHA-256 of every byte before this line
 * Version 3, every key as read before the reset locks the blob table (before the workers stop, with
 * workers.startBeforePurge; else by the reset step, just before its lock): version 2's lines, with a
 * header that also names its delta and the horizon of the snapshot it was read from:
 *   {"format":…,"version":3,"target":…,"runId":…,"createdAt":…,"horizon":{"xmin":…,"at":…},"delta":"<name>"}
 * The delta is a version-2 manifest the reset writes under its lock, before its TRUNCATE, with the rows this one may
 * not have seen (lib/blob-lines.ts). A version-3 manifest is read only with its delta, merged in order
 * (a key in both counts once); a reader from before version 3 refuses it rather than miss the delta.
 * Version 1, written before: one JSON object {target, runId, createdAt, blobs: [{key, service, bytes}]}.
 * It is still read (a run in flight, a backup written before), whole, as it always was, and in the same
 * order (sorted in memory), so a purge position recorded against it still points at the same keys.
 *
 * The end line is what tells a whole manifest from a cut one: a reader that runs out of bytes before it,
 * or whose count or checksum differs from it, throws ManifestDamaged. The purge reads the manifest through
 * once (check) before it deletes anything, so a damaged manifest deletes nothing.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupStore } from './backup-store';
import type { BlobRow } from './blobs';
import { sortManifestBlobs } from './purge-keys';
import { compareCodePoints } from './variant-owners';

export const MANIFEST_FORMAT = 'reset-runbook-purge-manifest';
/** How a version-2 manifest begins (JSON.stringify keeps the header's key order). */
const V2_START = `{"format":"${MANIFEST_FORMAT}"`;
/** Rows are written in chunks of about this many characters: few writes, little held. */
const CHUNK_CHARS = 64 * 1024;

export interface ManifestHeader {
  target: string;
  runId: string;
  createdAt: string;
}

/**
 * What a reading of the blob table saw (lib/blob-lines.ts): the oldest transaction it could not see (a
 * 32-bit xid), and the database's clock then.
 */
export interface BlobHorizon {
  xmin: string;
  at: string;
}

/** A version-3 manifest's header adds these. */
export interface BaseParts {
  horizon: BlobHorizon;
  delta: string;
}

export interface Totals {
  rows: number;
  bytes: number;
}

export interface ManifestTotals extends Totals {
  services: Record<string, Totals>;
}

export interface ManifestReader {
  readonly version: 1 | 2 | 3;
  /** Version 3: the horizon of the reading it was written from (its delta is taken against it). */
  readonly horizon?: BlobHorizon;
  /** Reads every row once, checked (count, checksum, end line); visit sees each. Throws ManifestDamaged. */
  check(visit?: (row: BlobRow) => void): Promise<ManifestTotals>;
  /**
   * One service's rows in the manifest's order (the order a purge position's index counts), as read: a
   * chunk of the file's rows at a time. The purge's loops run over arrays: a promise per row and per layer
   * of generators cost ~15 ms per layer at 176,000 rows, and the purge reads the manifest twice.
   */
  chunks(service: string): AsyncGenerator<BlobRow[]>;
}

/**
 * One service's rows of a reading's chunks (each the chunk itself when all its rows are that service's:
 * the manifest is in service order). A reader stopped early (a failed batch) closes the reading, and with
 * it the file or the GET: for-await does.
 */
async function* ofService(parsed: AsyncIterable<BlobRow[]>, service: string): AsyncGenerator<BlobRow[]> {
  for await (const chunk of parsed) {
    const mine = chunk.every((r) => r.service === service) ? chunk : chunk.filter((r) => r.service === service);
    if (mine.length) yield mine;
  }
}

export function emptyTotals(): ManifestTotals {
  return { rows: 0, bytes: 0, services: {} };
}

function count(t: ManifestTotals, r: BlobRow): void {
  const s = (t.services[r.service] ??= { rows: 0, bytes: 0 });
  t.rows++;
  s.rows++;
  t.bytes += r.bytes;
  s.bytes += r.bytes;
}

/** A version-2 manifest's text, chunk by chunk, from rows as they arrive; `totals` fills in as they go. */
export async function* manifestChunks(
  header: ManifestHeader,
  rows: AsyncIterable<BlobRow> | Iterable<BlobRow>,
  totals: ManifestTotals,
): AsyncGenerator<string> {
  const hash = createHash('sha256');
  let buf = JSON.stringify({ format: MANIFEST_FORMAT, version: 2, ...header }) + '\n';
  for await (const r of rows) {
    buf += JSON.stringify([r.service, r.key, r.bytes]) + '\n';
    count(totals, r);
    if (buf.length >= CHUNK_CHARS) {
      hash.update(buf, 'utf8');
      yield buf;
      buf = '';
    }
  }
  hash.update(buf, 'utf8');
  yield buf + JSON.stringify({ end: { rows: totals.rows, bytes: totals.bytes, sha256: hash.digest('hex') } }) + '\n';
}

/**
 * A manifest's bytes from lines already in the manifest's form (COPY's, lib/blob-lines.ts) and their
 * totals, known before the first line: the header, the lines as they come, the end line. A line count
 * that disagrees with the totals fails the write (the two come from one snapshot: they never should).
 */
export async function* manifestFromLines(
  header: ManifestHeader & Partial<BaseParts>,
  lines: AsyncIterable<Buffer> | Iterable<Buffer>,
  totals: ManifestTotals,
): AsyncGenerator<Buffer | string> {
  const hash = createHash('sha256');
  const version = header.delta ? 3 : 2;
  const first = JSON.stringify({ format: MANIFEST_FORMAT, version, ...header }) + '\n';
  hash.update(first, 'utf8');
  yield first;
  let n = 0;
  let last = 10;
  for await (const chunk of lines) {
    if (!chunk.length) continue;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    last = chunk[chunk.length - 1];
    hash.update(chunk);
    yield chunk;
  }
  if (n !== totals.rows || last !== 10)
    throw new Error(`the blob table gave ${n} manifest lines for ${totals.rows} rows; nothing was recorded`);
  yield JSON.stringify({ end: { rows: totals.rows, bytes: totals.bytes, sha256: hash.digest('hex') } }) + '\n';
}

export function manifestDamaged(where: string, what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `The purge manifest ${where} is damaged: ${what}. Nothing was deleted from it; retrying cannot repair it. Put back an intact copy (e.g. an earlier version of the object, if the bucket keeps versions) and retry, or abort: the dropped blobs' files then stay in storage.`,
    'ManifestDamaged',
  );
}

/** The manifest's reader, by its first line; undefined when there is none. `where` names it in errors. */
export async function openManifest(
  store: BackupStore,
  name: string,
  where: string,
): Promise<ManifestReader | undefined> {
  const stream = await store.readStream(name);
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  const it = stream[Symbol.asyncIterator]();
  // The first line (a version 3's names its delta); a version 1 has none and is read whole below anyway.
  for (let next = await it.next(); !next.done; next = await it.next()) {
    chunks.push(next.value);
    if (next.value.includes(10)) break;
  }
  const head = Buffer.concat(chunks).toString('utf8');
  if (head.startsWith(V2_START)) {
    await it.return?.(); // closes the file or the GET: each reading opens its own
    const header = firstLine(head);
    if (header?.version === 3 && typeof header.delta === 'string' && header.horizon)
      return v3Reader(store, name, where, header.delta, header.horizon);
    return v2Reader(store, name, where);
  }
  // Version 1 is one JSON document: it can only be read whole (as it always was).
  for (let next = await it.next(); !next.done; next = await it.next()) chunks.push(next.value);
  let m: { blobs?: unknown };
  try {
    m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { blobs?: unknown };
  } catch (err) {
    throw manifestDamaged(where, `it is neither a version-2 manifest nor JSON (${(err as Error).message}): cut short?`);
  }
  if (!Array.isArray(m?.blobs)) throw manifestDamaged(where, 'it is JSON without a "blobs" list');
  return v1Reader(m.blobs as BlobRow[]);
}

function firstLine(text: string): (Partial<BaseParts> & { version?: unknown }) | undefined {
  try {
    return JSON.parse(text.slice(0, text.indexOf('\n') === -1 ? undefined : text.indexOf('\n'))) as Partial<BaseParts>;
  } catch {
    return undefined; // the full reading says what is wrong with it
  }
}

function v1Reader(blobs: BlobRow[]): ManifestReader {
  sortManifestBlobs(blobs); // the order the purge's positions were recorded against
  return {
    version: 1,
    async check(visit) {
      const t = emptyTotals();
      for (const b of blobs) {
        count(t, b);
        visit?.(b);
      }
      return t;
    },
    async *chunks(service) {
      const mine = blobs.filter((b) => b.service === service);
      for (let i = 0; i < mine.length; i += 1000) yield mine.slice(i, i + 1000);
    },
  };
}

function v2Reader(store: BackupStore, name: string, where: string): ManifestReader {
  // Every reading checks the whole file again as it goes: it was checked before the first deletion, and a
  // copy that changed since (it never should) fails here rather than being half believed.
  const open = async () => {
    // parseV2 copies what it keeps (strings, the hash's state, a line split across two chunks).
    const s = await store.readStream(name, { reuse: true });
    if (!s) throw manifestDamaged(where, 'it was there a moment ago and is gone now');
    return parseV2(s, where, 2);
  };
  return {
    version: 2,
    async check(visit) {
      const parsed = await open();
      for (let next = await parsed.next(); ; next = await parsed.next()) {
        if (next.done) return next.value;
        if (visit) for (const r of next.value) visit(r);
      }
    },
    async *chunks(service) {
      yield* ofService(await open(), service);
    },
  };
}

/**
 * A version-3 manifest and its delta, read as one: both parsed and checked as they go, merged in the
 * manifest's order, a key found in both given once (a row updated between the two readings).
 */
function v3Reader(
  store: BackupStore,
  name: string,
  where: string,
  delta: string,
  horizon: BlobHorizon,
): ManifestReader {
  const deltaWhere = where.endsWith(name) ? where.slice(0, where.length - name.length) + delta : delta;
  const open = async () => {
    // parseV2 copies what it keeps (strings, the hash's state, a line split across two chunks).
    const s = await store.readStream(name, { reuse: true });
    if (!s) throw manifestDamaged(where, 'it was there a moment ago and is gone now');
    const d = await store.readStream(delta, { reuse: true });
    if (!d) throw manifestDamaged(where, `the reset's delta of it, ${deltaWhere}, is missing`);
    return merged(parseV2(s, where, 3), parseV2(d, deltaWhere, 2));
  };
  return {
    version: 3,
    horizon,
    async check(visit) {
      const t = emptyTotals();
      for await (const chunk of await open())
        for (const r of chunk) {
          count(t, r);
          visit?.(r);
        }
      return t;
    },
    async *chunks(service) {
      yield* ofService(await open(), service);
    },
  };
}

const compareRows = (a: BlobRow, b: BlobRow) =>
  a.service === b.service ? compareCodePoints(a.key, b.key) : compareCodePoints(a.service, b.service);

type Parsed = AsyncGenerator<BlobRow[], ManifestTotals>;

/** The next chunk with a row in it; undefined once the reading has ended. */
async function refill(g: Parsed): Promise<BlobRow[] | undefined> {
  for (;;) {
    const next = await g.next();
    if (next.done) return undefined;
    if (next.value.length) return next.value;
  }
}

async function* merged(a: Parsed, b: Parsed): AsyncGenerator<BlobRow[], void> {
  // Each side's chunk in hand and the place in it; undefined once that side has ended.
  let xs: BlobRow[] | undefined = [];
  let ys: BlobRow[] | undefined = [];
  let i = 0;
  let j = 0;
  try {
    for (;;) {
      if (xs && i === xs.length) [xs, i] = [await refill(a), 0];
      if (ys && j === ys.length) [ys, j] = [await refill(b), 0];
      if (!xs && !ys) return;
      const out: BlobRow[] = [];
      // Until the chunk of a side that has not ended runs out (it is refilled above).
      while ((!xs || i < xs.length) && (!ys || j < ys.length)) {
        const order = !xs ? 1 : !ys ? -1 : compareRows(xs[i], ys[j]);
        out.push(order <= 0 ? xs![i] : ys![j]);
        if (order <= 0) i++;
        if (order >= 0) j++;
      }
      yield out;
    }
  } finally {
    await a.return(emptyTotals()); // a reader stopped early closes both files or GETs
    await b.return(emptyTotals());
  }
}

/**
 * Lines with their newline (the last one without, if the bytes end mid-line), those of one chunk of
 * the bytes at a time. A line is a view into the chunk it came in, valid until the next is asked for;
 * only one split by a chunk's end is copied.
 */
async function* lines(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer[]> {
  let rest: Buffer | undefined;
  for await (const chunk of src) {
    const out: Buffer[] = [];
    let start = 0;
    if (rest) {
      const nl = chunk.indexOf(10);
      if (nl === -1) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      out.push(Buffer.concat([rest, chunk.subarray(0, nl + 1)]));
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      out.push(chunk.subarray(start, nl + 1));
      start = nl + 1;
    }
    rest = start < chunk.length ? Buffer.from(chunk.subarray(start)) : undefined;
    yield out;
  }
  if (rest) yield [rest];
}

const [OPEN, QUOTE, COMMA, CLOSE, BACKSLASH, NEWLINE] = [0x5b, 0x22, 0x2c, 0x5d, 0x5c, 0x0a];

/**
 * A row line in the form both writers give it, `["<service>","<key>",<digits>]` and its newline, with no
 * escape in it: read without a line string, JSON.parse or an array (a million rows per pass, twice per
 * purge; fewer objects per row keep V8's heap from growing). The service string of the row before is
 * reused when the bytes match. Undefined for anything else: JSON.parse reads it, and says what is wrong.
 */
function plainRow(raw: Buffer, service: string): BlobRow | undefined {
  if (raw[0] !== OPEN || raw[1] !== QUOTE || raw.includes(BACKSLASH)) return undefined;
  const q1 = raw.indexOf(QUOTE, 2);
  if (q1 === -1 || raw[q1 + 1] !== COMMA || raw[q1 + 2] !== QUOTE) return undefined;
  const q2 = raw.indexOf(QUOTE, q1 + 3);
  if (q2 === -1 || raw[q2 + 1] !== COMMA) return undefined;
  let bytes = 0;
  let i = q2 + 2;
  for (; i < raw.length && raw[i] >= 0x30 && raw[i] <= 0x39 && i - q2 < 17; i++) bytes = bytes * 10 + raw[i] - 0x30;
  if (i === q2 + 2 || raw[i] !== CLOSE || raw[i + 1] !== NEWLINE || i + 2 !== raw.length) return undefined;
  const sameService = Buffer.byteLength(service) === q1 - 2 && raw.toString('utf8', 2, q1) === service;
  return { service: sameService ? service : raw.toString('utf8', 2, q1), key: raw.toString('utf8', q1 + 3, q2), bytes };
}

async function* parseV2(
  src: AsyncIterable<Buffer>,
  where: string,
  version: 2 | 3,
): AsyncGenerator<BlobRow[], ManifestTotals> {
  const hash = createHash('sha256');
  const totals = emptyTotals();
  let n = 0;
  let ended = false;
  let service = '';
  /** One line: its row, or undefined (the header, the end line, blank lines after it). Throws ManifestDamaged. */
  const parse = (raw: Buffer): BlobRow | undefined => {
    n++;
    const cut = raw[raw.length - 1] !== 10;
    if (ended) {
      if (raw.toString('utf8').trim()) throw manifestDamaged(where, `line ${n} follows its end line`);
      return undefined;
    }
    if (n > 1) {
      const fast = plainRow(raw, service);
      if (fast) {
        service = fast.service;
        count(totals, fast);
        hash.update(raw);
        return fast;
      }
    }
    let v: unknown;
    try {
      v = JSON.parse(raw.toString('utf8'));
    } catch {
      throw manifestDamaged(where, `line ${n} is not JSON${cut ? ' (the last line is cut short: truncated)' : ''}`);
    }
    if (n === 1) {
      if ((v as { version?: unknown } | null)?.version !== version)
        throw manifestDamaged(where, `its first line is no version-${version} header`);
    } else if (Array.isArray(v)) {
      const [s, key, bytes] = v as unknown[];
      if (typeof s !== 'string' || typeof key !== 'string' || typeof bytes !== 'number' || v.length !== 3)
        throw manifestDamaged(where, `line ${n} is not a [service, key, bytes] row`);
      if (s !== service) service = s; // one string per service, not one per row: rows wait in batches
      const row = { service, key, bytes };
      count(totals, row);
      hash.update(raw);
      return row;
    } else if (v && typeof v === 'object' && 'end' in v) {
      const end = (v as { end: { rows?: unknown; bytes?: unknown; sha256?: unknown } }).end;
      const sha = hash.digest('hex');
      if (end.rows !== totals.rows || end.bytes !== totals.bytes || end.sha256 !== sha)
        throw manifestDamaged(
          where,
          `its end line records ${String(end.rows)} rows, ${String(end.bytes)} bytes, SHA-256 ${String(end.sha256)}; the rows read add up to ${totals.rows}, ${totals.bytes} and ${sha}`,
        );
      ended = true;
      return undefined;
    } else throw manifestDamaged(where, `line ${n} is neither a row nor the end line`);
    hash.update(raw);
    return undefined;
  };
  for await (const raws of lines(src)) {
    const out: BlobRow[] = [];
    try {
      for (const raw of raws) {
        const row = parse(raw);
        if (row) out.push(row);
      }
    } catch (err) {
      // The rows before a damaged line go out before its error, as when they were read one by one.
      if (out.length) yield out;
      throw err;
    }
    yield out;
  }
  if (!ended)
    throw manifestDamaged(where, `it stops after ${totals.rows} rows without its end line: cut short (truncated)`);
  return totals;
}
