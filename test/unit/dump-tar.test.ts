/**
 * The canonical tar of a pg_dump -Fd folder (src/activities/lib/dump-tar.ts): the same folder packs to
 * the same bytes whatever its files' times and modes (the checksum of a local folder must equal its
 * S3 object's), GNU tar reads it, it unpacks back byte for byte in chunks of any size, and what
 * pg_dump never writes — or a stream cut short or damaged — is refused.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packDir, tarHeader, TarExtractor } from '../../src/activities/lib/dump-tar';

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-dump-tar-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function bytesOf(dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of packDir(dir)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A folder shaped like pg_dump -Fd's: toc.dat, compressed table files, an empty one, one exactly 512 bytes. */
function dumpFolder(name: string): { dir: string; files: Record<string, Buffer> } {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const files: Record<string, Buffer> = {
    'toc.dat': randomBytes(3000),
    '3001.dat.gz': randomBytes(200_000),
    '3002.dat.gz': Buffer.alloc(0),
    '3003.dat.gz': randomBytes(512),
  };
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(dir, n), b);
  return { dir, files };
}

async function unpack(tar: Buffer, into: string, chunk: number, keep?: (n: string) => boolean): Promise<TarExtractor> {
  fs.mkdirSync(into);
  const x = new TarExtractor(into, keep);
  for (let i = 0; i < tar.length; i += chunk) await x.write(tar.subarray(i, i + chunk));
  await x.end();
  return x;
}

test('packing is canonical: file times, modes and creation order do not change the bytes', async () => {
  const a = dumpFolder('a');
  const b = path.join(tmp, 'b');
  fs.mkdirSync(b);
  for (const n of Object.keys(a.files).reverse()) fs.writeFileSync(path.join(b, n), a.files[n], { mode: 0o644 });
  fs.utimesSync(path.join(b, 'toc.dat'), new Date(0), new Date(0));
  const [ta, tb] = [await bytesOf(a.dir), await bytesOf(b)];
  expect(createHash('sha256').update(ta).digest('hex')).toBe(createHash('sha256').update(tb).digest('hex'));
  // Headers and data in 512-byte blocks, two zero blocks at the end.
  expect(ta.length % 512).toBe(0);
  expect(ta.subarray(-1024).every((x) => x === 0)).toBe(true);
});

test('GNU tar lists and extracts it, byte for byte', async () => {
  const { dir, files } = dumpFolder('d');
  const tarFile = path.join(tmp, 'd.tar');
  fs.writeFileSync(tarFile, await bytesOf(dir));
  expect(execFileSync('tar', ['-tf', tarFile], { encoding: 'utf8' }).trim().split('\n')).toEqual(
    Object.keys(files).sort(),
  );
  const out = path.join(tmp, 'x');
  fs.mkdirSync(out);
  execFileSync('tar', ['-xf', tarFile, '-C', out]);
  for (const [n, b] of Object.entries(files)) expect(fs.readFileSync(path.join(out, n)).equals(b)).toBe(true);
});

test.each([7, 511, 512, 513, 65536])('unpacks what it packed, fed %i bytes at a time', async (chunk) => {
  const { dir, files } = dumpFolder('d');
  const x = await unpack(await bytesOf(dir), path.join(tmp, 'u'), chunk);
  expect(x.names).toEqual(Object.keys(files).sort());
  for (const [n, b] of Object.entries(files)) expect(fs.readFileSync(path.join(tmp, 'u', n)).equals(b)).toBe(true);
});

test('keep: only the chosen files are written (the backup read-back unpacks toc.dat alone)', async () => {
  const { dir, files } = dumpFolder('d');
  const x = await unpack(await bytesOf(dir), path.join(tmp, 'u'), 4096, (n) => n === 'toc.dat');
  expect(x.names).toHaveLength(4);
  expect(fs.readdirSync(path.join(tmp, 'u'))).toEqual(['toc.dat']);
  expect(fs.readFileSync(path.join(tmp, 'u', 'toc.dat')).equals(files['toc.dat'])).toBe(true);
});

test('a stream cut short, a damaged header, or data after the end is refused', async () => {
  const { dir } = dumpFolder('d');
  const tar = await bytesOf(dir);
  await expect(unpack(tar.subarray(0, tar.length - 2048), path.join(tmp, 'cut'), 1000)).rejects.toThrow(/ends early/);
  const bad = Buffer.from(tar);
  bad[10] ^= 0xff; // inside the first header's name: its checksum no longer matches
  await expect(unpack(bad, path.join(tmp, 'bad'), 1000)).rejects.toThrow(/damaged/);
  const extra = Buffer.concat([tar, tarHeader('late.dat', 0)]);
  await expect(unpack(extra, path.join(tmp, 'late'), 1000)).rejects.toThrow(/after its end/);
});

test('what pg_dump never writes is refused: a path outside the folder, a link, a subfolder', async () => {
  expect(() => tarHeader('../etc/passwd', 1)).toThrow(/not a plain pg_dump file name/);
  const link = tarHeader('toc.dat', 0);
  link[156] = '2'.charCodeAt(0);
  // Its checksum made right again, so only the type is wrong.
  link.write('        ', 148);
  let sum = 0;
  for (const b of link) sum += b;
  link.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  await expect(unpack(Buffer.concat([link, Buffer.alloc(1024)]), path.join(tmp, 'l'), 512)).rejects.toThrow(
    /not a file of a pg_dump folder/,
  );
  const { dir } = dumpFolder('d');
  fs.mkdirSync(path.join(dir, 'sub'));
  await expect(bytesOf(dir)).rejects.toThrow(/not a plain file/);
});

test('sizes past 8 GiB use the base-256 field GNU tar reads', () => {
  const h = tarHeader('big.dat', 9 * 2 ** 30);
  expect(h[124]).toBe(0x80);
  expect(Number(h.readBigUInt64BE(128))).toBe(9 * 2 ** 30);
});
