/**
 * A `pg_dump -Fd` folder as one tar stream, and back: how a parallel dump (backup.jobs > 1) becomes a
 * single S3 object, and how its checksum is defined wherever it is stored.
 *
 * Why our own ustar and not a library: the folder is flat (toc.dat and one file per table or blob),
 * and the stream must be canonical — entries in name order, mode 0600, owner 0, time 0 — so that the
 * SHA-256 of a local dump folder (computed by packing it again) equals the SHA-256 of the object the
 * same folder became in S3: one checksum per backup, whatever the store. Any `tar -x` reads it, which
 * is what an operator restoring by hand has.
 *
 * Both directions stream: packing reads one file at a time in 64 KiB chunks, unpacking writes each
 * chunk before taking the next, so memory does not grow with the dump.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

const BLOCK = 512;
/** Largest size ustar's 11 octal digits hold (8 GiB − 1); larger ones use GNU's base-256 field. */
const OCTAL_MAX = 0o77777777777;

/** pg_dump -Fd writes plain names (toc.dat, 1234.dat.gz, blob_5.dat): nothing else is packed or unpacked. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

export function tarHeader(name: string, size: number): Buffer {
  if (!SAFE_NAME.test(name)) throw new Error(`cannot pack "${name}": not a plain pg_dump file name`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o600, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  if (size <= OCTAL_MAX) h.write(octal(size, 12), 124);
  else {
    h[124] = 0x80;
    h.writeBigUInt64BE(BigInt(size), 128); // the field's low 8 bytes (128..135); 125..127 stay 0
  }
  h.write(octal(0, 12), 136);
  h.write('        ', 148); // the checksum is computed with its own field as spaces
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The folder's files, in the order they are packed. Anything but plain files is refused: it is no pg_dump folder. */
export function dumpEntries(dir: string): { name: string; size: number }[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .map((e) => {
      if (!e.isFile()) throw new Error(`${path.join(dir, e.name)} is not a plain file: not a pg_dump -Fd folder`);
      return { name: e.name, size: fs.statSync(path.join(dir, e.name)).size };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The canonical tar of a pg_dump -Fd folder, read as it is streamed. */
export function packDir(dir: string): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (const e of dumpEntries(dir)) {
      yield tarHeader(e.name, e.size);
      let n = 0;
      for await (const chunk of fs.createReadStream(path.join(dir, e.name), { highWaterMark: 64 * 1024 })) {
        n += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      // A file that changed size under us would make a tar that lies about it.
      if (n !== e.size)
        throw new Error(`${path.join(dir, e.name)} changed while it was packed (${e.size} → ${n} bytes)`);
      yield padding(n);
    }
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(gen(), { objectMode: false });
}

function parseSize(h: Buffer): number {
  if (h[124] & 0x80) return Number(h.readBigUInt64BE(128));
  return parseInt(h.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
}

function validHeader(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return sum === parseInt(h.subarray(148, 156).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
}

/**
 * Unpacks a tar stream fed chunk by chunk into `dir` (which must exist). `keep` chooses the files
 * written (the backup's read-back writes only toc.dat: `pg_restore --list` needs no more); the rest is
 * skipped. Refuses what pg_dump never writes: links, folders, unsafe names, a stream cut short.
 */
export class TarExtractor {
  private pending: Buffer = Buffer.alloc(0);
  private file: { fd: fs.promises.FileHandle | undefined; left: number; pad: number } | undefined;
  private ended = false;
  private zeroBlocks = 0;
  readonly names: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly keep: (name: string) => boolean = () => true,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length) {
      if (this.file) {
        const f = this.file;
        if (f.left > 0) {
          const part = this.pending.subarray(0, Math.min(f.left, this.pending.length));
          if (f.fd) await f.fd.write(part);
          f.left -= part.length;
          this.pending = this.pending.subarray(part.length);
          continue;
        }
        if (this.pending.length < f.pad) return;
        this.pending = this.pending.subarray(f.pad);
        await f.fd?.close();
        this.file = undefined;
        continue;
      }
      if (this.pending.length < BLOCK) return;
      const h = this.pending.subarray(0, BLOCK);
      this.pending = this.pending.subarray(BLOCK);
      if (h.every((b) => b === 0)) {
        if (++this.zeroBlocks >= 2) this.ended = true;
        continue;
      }
      if (this.ended || this.zeroBlocks) throw new Error('the tar stream has data after its end');
      if (!validHeader(h)) throw new Error(`the tar stream is damaged: a bad header after ${this.names.length} files`);
      const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
      const type = String.fromCharCode(h[156] || 0x30);
      if (type !== '0' || !SAFE_NAME.test(name) || h[345] !== 0)
        throw new Error(`the tar stream holds "${name}" (type ${type}): not a file of a pg_dump folder`);
      const size = parseSize(h);
      this.names.push(name);
      const fd = this.keep(name) ? await fs.promises.open(path.join(this.dir, name), 'wx', 0o600) : undefined;
      this.file = { fd, left: size, pad: padding(size).length };
    }
  }

  /** After the last chunk: a stream that stops inside a file or before its end blocks is not a whole backup. */
  async end(): Promise<void> {
    await this.file?.fd?.close();
    if (this.file || !this.ended || this.pending.some((b) => b !== 0))
      throw new Error(`the tar stream ends early (after ${this.names.length} files): the backup is incomplete`);
  }

  /** Closes an open file after a failure (the caller removes the folder). */
  async abort(): Promise<void> {
    await this.file?.fd?.close().catch(() => undefined);
    this.file = undefined;
  }
}
