/**
 * The purge manifest as a stream (src/activities/lib/manifest-format.ts): written from rows as they
 * come, read back row by row with its count and checksum checked, the old one-document format still
 * read, and a cut or altered manifest refused with ManifestDamaged — before the purge deletes anything.
 * A real folder (LocalStore) and the in-memory S3 stand-in (S3Store, its multipart upload included).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore, S3Store } from '../../../src/activities/lib/backup-store';
import type { BlobRow } from '../../../src/activities/lib/blobs';
import { manifestFromLines } from '../../../src/activities/lib/manifest-format';
import { manifestDeltaName, manifestName, readManifest, writeManifestOnce } from '../../../src/activities/manifest';
import { FakeS3 } from '../../support/fake-s3';
import { rowsOf } from '../../support/manifest-rows';

let dir: string;
let store: LocalStore;
const NAME = manifestName('app', 'run-1');
const header = { target: 'app', runId: 'run-1', createdAt: '2026-12-03T00:00:00.000Z' };
const file = () => path.join(dir, NAME);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-unit-manifest-'));
  store = new LocalStore(dir);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Rows made one at a time, counting how many were made before the consumer asked for the next. */
async function* generated(n: number, service = 'amazon'): AsyncGenerator<BlobRow> {
  for (let i = 0; i < n; i++) yield { service, key: `k${String(i).padStart(7, '0')}`, bytes: i % 7 };
}
const collect = async <T>(g: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
};

test('written from a stream of rows and read back per service, in order, with the totals', async () => {
  const rows: BlobRow[] = [
    { service: 'amazon', key: 'a1', bytes: 10 },
    { service: 'amazon', key: 'a2\nwith a newline', bytes: 20 },
    { service: 'local', key: 'ünï "quoted"', bytes: 5 },
  ];
  const totals = await writeManifestOnce(store, NAME, { ...header, blobs: rows });
  expect(totals).toEqual({
    rows: 3,
    bytes: 35,
    services: { amazon: { rows: 2, bytes: 30 }, local: { rows: 1, bytes: 5 } },
  });
  const lines = fs.readFileSync(file(), 'utf8').trimEnd().split('\n');
  expect(JSON.parse(lines[0])).toEqual({ format: 'reset-runbook-purge-manifest', version: 2, ...header });
  expect(lines).toHaveLength(5); // header, 3 rows (the newline in a key is escaped), end
  const m = (await readManifest(store, NAME))!;
  expect(m.version).toBe(2);
  expect(await m.check()).toEqual(totals);
  expect(await collect(rowsOf(m, 'amazon'))).toEqual(rows.slice(0, 2));
  expect(await collect(rowsOf(m, 'local'))).toEqual(rows.slice(2));
  expect(await collect(rowsOf(m, 'other'))).toEqual([]);
  // Written once: a second write returns the first copy's totals and leaves it as it was.
  const before = fs.readFileSync(file(), 'utf8');
  expect(await writeManifestOnce(store, NAME, { ...header, blobs: [] })).toEqual(totals);
  expect(fs.readFileSync(file(), 'utf8')).toBe(before);
});

test('50,000 rows go through in chunks: the writer never holds them all, the file has no partial copy left', async () => {
  let pulled = 0;
  let maxAhead = 0;
  let written = 0;
  // A store that counts what reached it, to see the rows leave as they are made.
  const counting = Object.assign(Object.create(store) as LocalStore, {
    writeStream: async (name: string, body: AsyncIterable<string>) => {
      async function* seen() {
        for await (const chunk of body) {
          written += chunk.split('\n').length - 1;
          maxAhead = Math.max(maxAhead, pulled - written);
          yield chunk;
        }
      }
      await store.writeStream(name, seen());
    },
  });
  async function* rows() {
    for await (const r of generated(50_000)) {
      pulled++;
      yield r;
    }
  }
  const totals = await writeManifestOnce(counting, NAME, { ...header, blobs: rows() });
  expect(totals.rows).toBe(50_000);
  expect(maxAhead).toBeLessThan(2_000); // one chunk of ~64 KB, not 50,000 rows
  expect(fs.readdirSync(dir)).toEqual([NAME]);
  const m = (await readManifest(store, NAME))!;
  let n = 0;
  let ordered = true;
  let last = '';
  for await (const r of rowsOf(m, 'amazon')) {
    ordered &&= r.key > last;
    last = r.key;
    n++;
  }
  expect({ n, ordered }).toEqual({ n: 50_000, ordered: true });
});

test('the old format (one JSON document) is still read, sorted as the purge positions of its time expect', async () => {
  fs.writeFileSync(
    file(),
    JSON.stringify({
      ...header,
      blobs: [
        { key: 'k9', service: 'b', bytes: 1 },
        { key: 'x', service: 'a', bytes: 2 },
        { key: 'k1', service: 'b', bytes: 3 },
      ],
    }),
  );
  const m = (await readManifest(store, NAME))!;
  expect(m.version).toBe(1);
  expect(await m.check()).toEqual({
    rows: 3,
    bytes: 6,
    services: { a: { rows: 1, bytes: 2 }, b: { rows: 2, bytes: 4 } },
  });
  expect((await collect(rowsOf(m, 'b'))).map((r) => r.key)).toEqual(['k1', 'k9']);
  // And a retry of the reset keeps it (written once), reporting its figures.
  expect((await writeManifestOnce(store, NAME, { ...header, blobs: [] })).rows).toBe(3);
});

test('no manifest reads as undefined', async () => {
  expect(await readManifest(store, NAME)).toBeUndefined();
});

describe('a damaged manifest is refused, naming the file and what is wrong', () => {
  const write = async (n = 3000) => {
    await writeManifestOnce(store, NAME, { ...header, blobs: generated(n) });
    return fs.readFileSync(file(), 'utf8');
  };
  const refused = async (re: RegExp) => {
    const m = await readManifest(store, NAME);
    const err = await m!.check().then(
      () => undefined,
      (e: Error & { type?: string }) => e,
    );
    expect(err).toBeDefined();
    expect(err!.type).toBe('ManifestDamaged');
    expect(err!.message).toContain(file());
    expect(err!.message).toMatch(re);
    expect(err!.message).toMatch(/Nothing was deleted/);
  };

  test('cut short mid-line', async () => {
    const text = await write();
    fs.writeFileSync(file(), text.slice(0, Math.floor(text.length / 2)));
    await refused(/not JSON \(the last line is cut short: truncated\)/);
  });
  test('cut short at a line end: no end line', async () => {
    const text = await write();
    const lines = text.split('\n');
    fs.writeFileSync(file(), lines.slice(0, 1000).join('\n') + '\n');
    await refused(/stops after 999 rows without its end line/);
  });
  test('a row changed: the checksum differs', async () => {
    const text = await write();
    fs.writeFileSync(file(), text.replace('"k0000042"', '"k0000043"'));
    await refused(/end line records 3000 rows.*SHA-256/);
  });
  test('a row dropped: the count differs', async () => {
    const text = await write();
    fs.writeFileSync(file(), text.replace('["amazon","k0000042",0]\n', ''));
    await refused(/end line records 3000 rows, .* the rows read add up to 2999/);
  });
  test('something after the end line', async () => {
    await write(5);
    fs.appendFileSync(file(), '["amazon","extra",1]\n');
    await refused(/follows its end line/);
  });
  test('an old-format manifest cut short', async () => {
    fs.writeFileSync(file(), JSON.stringify({ ...header, blobs: [{ key: 'k', service: 's', bytes: 1 }] }).slice(0, 60));
    const err = await readManifest(store, NAME).catch((e: Error & { type?: string }) => e);
    expect((err as { type?: string }).type).toBe('ManifestDamaged');
    expect((err as Error).message).toMatch(/neither a version-2 manifest nor JSON/);
  });
  test('a reading stopped early closes the file (no descriptor left open)', async () => {
    await write();
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    const m = (await readManifest(store, NAME))!;
    const rows = rowsOf(m, 'amazon');
    await rows.next();
    expect(fds()).toBeGreaterThan(before);
    await rows.return(undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(fds()).toBe(before);
  });
});

test('in S3: written through an upload, read back as a stream', async () => {
  const s3 = new FakeS3();
  const s3store = new S3Store(
    { kind: 's3', bucket: 'backups', prefix: 'app/' } as ConstructorParameters<typeof S3Store>[0],
    () => s3.client(),
  );
  const totals = await writeManifestOnce(s3store, NAME, { ...header, blobs: generated(20_000) });
  expect(totals.rows).toBe(20_000);
  expect(s3.keys('backups')).toEqual([`app/${NAME}`]);
  const m = (await readManifest(s3store, NAME))!;
  expect(m.version).toBe(2);
  expect(await m.check()).toEqual(totals);
});

/** A version-3 manifest (written before the workers stop) from rows, as COPY would give its lines. */
async function writeBase(rows: BlobRow[]): Promise<void> {
  const totals = { rows: 0, bytes: 0, services: {} as Record<string, { rows: number; bytes: number }> };
  for (const r of rows) {
    const s = (totals.services[r.service] ??= { rows: 0, bytes: 0 });
    totals.rows++;
    totals.bytes += r.bytes;
    s.rows++;
    s.bytes += r.bytes;
  }
  const lines = rows.map((r) => Buffer.from(JSON.stringify([r.service, r.key, r.bytes]) + '\n'));
  const base = { ...header, horizon: { xmin: '1234', at: header.createdAt }, delta: manifestDeltaName('app', 'run-1') };
  await store.writeStream(NAME, manifestFromLines(base, lines, totals));
}

test('a manifest written before the stop is read with its delta: merged in code point order, a key in both once', async () => {
  const r = (service: string, key: string, bytes = 1): BlobRow => ({ service, key, bytes });
  // U+E000 sorts before an astral character in UTF-8 (PostgreSQL's "C"), after it in UTF-16 (JavaScript's <).
  await writeBase([r('amazon', 'a'), r('amazon', 'c'), r('amazon', '\uE000x'), r('local', 'm', 5)]);
  await writeManifestOnce(store, manifestDeltaName('app', 'run-1'), {
    ...header,
    blobs: [r('amazon', 'b'), r('amazon', 'c'), r('amazon', '😀'), r('local', 'a', 7)],
  });
  const m = (await readManifest(store, NAME))!;
  expect(m.version).toBe(3);
  expect(m.horizon).toEqual({ xmin: '1234', at: header.createdAt });
  const seen: string[] = [];
  expect(await m.check((x) => seen.push(`${x.service}/${x.key}`))).toEqual({
    rows: 7,
    bytes: 17,
    services: { amazon: { rows: 5, bytes: 5 }, local: { rows: 2, bytes: 12 } },
  });
  expect(seen).toEqual(['amazon/a', 'amazon/b', 'amazon/c', 'amazon/\uE000x', 'amazon/😀', 'local/a', 'local/m']);
  expect((await collect(rowsOf(m, 'local'))).map((x) => x.key)).toEqual(['a', 'm']);
});

test('a manifest and its delta of many chunks each merge across chunk ends: every row once, in order, a service a chunk at a time', async () => {
  const r = (service: string, i: number, bytes = 1): BlobRow => ({
    service,
    key: `k${String(i).padStart(7, '0')}`,
    bytes,
  });
  // ~10 of the reading's 64 KiB chunks in the manifest, ~4 in the delta; a key in both every 9th row.
  const base = [
    ...Array.from({ length: 12_000 }, (_, i) => r('amazon', 2 * i)),
    ...Array.from({ length: 8_000 }, (_, i) => r('local', i)),
  ];
  const delta = Array.from({ length: 7_000 }, (_, i) => r('amazon', i % 3 ? 6 * i + 1 : 6 * i, 2));
  await writeBase(base);
  await writeManifestOnce(store, manifestDeltaName('app', 'run-1'), { ...header, blobs: delta });
  const m = (await readManifest(store, NAME))!;
  const amazon = [
    ...new Map([...base, ...delta].filter((x) => x.service === 'amazon').map((x) => [x.key, x])).keys(),
  ].sort();
  const seen: string[] = [];
  const totals = await m.check((x) => seen.push(`${x.service}/${x.key}`));
  expect(seen).toEqual([
    ...amazon.map((k) => `amazon/${k}`),
    ...base.filter((x) => x.service === 'local').map((x) => `local/${x.key}`),
  ]);
  expect(totals.services.amazon.rows).toBe(amazon.length);
  const chunks = await collect(m.chunks('amazon'));
  expect(chunks.length).toBeGreaterThan(5);
  for (const c of chunks) expect(c.length).toBeGreaterThan(0);
  expect(chunks.flat().map((x) => x.key)).toEqual(amazon);
  expect((await collect(rowsOf(m, 'local'))).length).toBe(8_000);
});

test('the rows before a damaged line, in the same chunk, are read before its error', async () => {
  await writeManifestOnce(store, NAME, { ...header, blobs: generated(5_000) });
  fs.writeFileSync(file(), fs.readFileSync(file(), 'utf8').replace('["amazon","k0004000",3]', '["amazon","k0004000",'));
  const m = (await readManifest(store, NAME))!;
  const keys: string[] = [];
  const err = await (async () => {
    for await (const x of rowsOf(m, 'amazon')) keys.push(x.key);
  })().catch((e: Error & { type?: string }) => e);
  expect(err).toMatchObject({ type: 'ManifestDamaged', message: expect.stringMatching(/line 4002 is not JSON/) });
  expect(keys.length).toBe(4_000);
  expect(keys.at(-1)).toBe('k0003999');
});

test('a manifest written before the stop without its delta, or with a damaged one, deletes nothing', async () => {
  await writeBase([{ service: 'amazon', key: 'a', bytes: 1 }]);
  const m = (await readManifest(store, NAME))!;
  await expect(m.check()).rejects.toMatchObject({
    type: 'ManifestDamaged',
    message: expect.stringMatching(/delta.*missing/),
  });
  const delta = path.join(dir, manifestDeltaName('app', 'run-1'));
  await writeManifestOnce(store, manifestDeltaName('app', 'run-1'), { ...header, blobs: generated(10) });
  fs.writeFileSync(delta, fs.readFileSync(delta, 'utf8').replace('k0000003', 'k0000009'));
  await expect(m.check()).rejects.toMatchObject({ type: 'ManifestDamaged', message: expect.stringMatching(/SHA-256/) });
  await expect(collect(rowsOf(m, 'amazon'))).rejects.toMatchObject({ type: 'ManifestDamaged' });
});

test('lines that do not add up to the totals fail the write, and nothing is left under the name', async () => {
  const lines = [Buffer.from('["amazon","a",1]\n')];
  const totals = { rows: 2, bytes: 2, services: { amazon: { rows: 2, bytes: 2 } } };
  await expect(store.writeStream(NAME, manifestFromLines(header, lines, totals))).rejects.toThrow(
    /1 manifest lines for 2 rows/,
  );
  expect(fs.existsSync(file())).toBe(false);
});

test('read through one reused buffer, a manifest of many chunks gives back every row byte for byte, lines split across chunks included', async () => {
  // Keys of every length up to ~300 bytes, some needing escapes (the JSON path), so that lines of both
  // kinds are cut by the 64 KiB chunks' ends again and again; the reader copies what it keeps.
  const rows: BlobRow[] = Array.from({ length: 20_000 }, (_, i) => ({
    service: i % 3 ? 'amazon' : 'local',
    key: `${String(i).padStart(6, '0')}-${'x'.repeat(i % 300)}${i % 11 === 0 ? '"quoted"\\n' : ''}${i % 13 === 0 ? 'ü' : ''}`,
    bytes: i,
  }));
  await writeManifestOnce(store, NAME, { ...header, blobs: rows });
  expect(fs.statSync(file()).size).toBeGreaterThan(40 * 64 * 1024);
  const m = (await readManifest(store, NAME))!;
  const byService = (s: string) => rows.filter((r) => r.service === s).sort((a, b) => (a.key < b.key ? -1 : 1));
  expect(await collect(rowsOf(m, 'amazon'))).toEqual(byService('amazon'));
  expect(await collect(rowsOf(m, 'local'))).toEqual(byService('local'));
  const seen: BlobRow[] = [];
  const totals = await m.check((r) => seen.push(r));
  expect(totals.rows).toBe(rows.length);
  expect(seen).toEqual(rows); // the file's order: the order the rows were written in
});

test("a local store's reused reading: the file's bytes through one buffer, and the file closed when the reader stops early", async () => {
  const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
  fs.writeFileSync(path.join(dir, 'item'), bytes);
  const chunks = (await store.readStream('item', { reuse: true }))!;
  const copies: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  for await (const c of chunks) {
    copies.push(Buffer.from(c));
    buffers.add(c.buffer);
  }
  expect(Buffer.concat(copies).equals(bytes)).toBe(true);
  expect(buffers.size).toBe(1);
  // Stopped after the first chunk: the handle is closed (the folder can be removed at once, and no fd leaks).
  const before = fs.readdirSync('/proc/self/fd').length;
  for await (const c of (await store.readStream('item', { reuse: true }))!) {
    expect(c.length).toBeGreaterThan(0);
    break;
  }
  expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
});
