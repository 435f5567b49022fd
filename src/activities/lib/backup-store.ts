/**
 * Where a target's backups live, and with them the run state that must outlive a worker host: the
 * purge manifest and the reset journal.
 *
 * Why beside the backup and not in a table of the target's database: the state must survive what the
 * reset and a later restore do to that database. A rebuild strategy (`db:reset`) drops the database,
 * and restoring the backup would put back the tables as they were before the manifest existed; a
 * manifest kept there would vanish exactly when it is needed. Beside the backup it lives as long as
 * the backup it belongs to, and is pruned with it.
 *
 * - local (`backup.dir`): for a single worker host; a second host cannot read it.
 * - s3 (`backup.destination`): every worker of the target reads and writes the same objects, so any
 *   worker can finish any run, and losing the operations host loses nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BackupConfig, S3BackupDestination } from '../../config/types';
import { s3ClientFor } from './s3';
import { fileChunks } from './file-chunks';

export interface StoredItem {
  name: string;
  /** The store's own clock (file mtime, S3 LastModified): only ever compared with other items of the same store. */
  modified: Date;
  bytes: number;
}

/** A flat folder of named items: a local directory, or a bucket prefix. */
export interface BackupStore {
  readonly kind: 'local' | 's3';
  /** Where an item is, for records and messages (never a secret). */
  describe(name: string): { kind: 'local'; path: string } | { kind: 's3'; bucket: string; key: string };
  readText(name: string): Promise<string | undefined>;
  /** Whole or not at all: a reader never sees half an item. */
  writeText(name: string, body: string): Promise<void>;
  /**
   * The item's bytes as they arrive (a large item is never held whole); undefined when absent.
   * `reuse`: every chunk may be a view into one buffer, good only until the next chunk is asked for: for
   * readers that copy what they keep (a local file read through would otherwise leave a new 64 KiB buffer
   * per chunk for the collector: ~40 MiB waiting at once when the purge reads a million-row manifest).
   */
  readStream(name: string, opts?: { reuse?: boolean }): Promise<AsyncIterable<Buffer> | undefined>;
  /** Like writeText, from chunks as they are made: a reader sees the whole item or none of it. */
  writeStream(name: string, body: AsyncIterable<string | Buffer>): Promise<void>;
  list(startsWith: string): Promise<StoredItem[]>;
  remove(names: string[]): Promise<void>;
}

/** s3: the worker's S3 client factory (deps.ts); the real client when not given. */
export function backupStoreFor(
  b: BackupConfig,
  s3: (dest: S3BackupDestination) => S3Client = (d) => s3ClientFor(d),
): LocalStore | S3Store {
  if (b.destination?.kind === 's3') return new S3Store(b.destination, s3);
  if (!b.dir) throw new Error('backup.dir is required without an S3 backup.destination');
  return new LocalStore(b.dir);
}

/** A file's bytes through one 64 KiB buffer (see readStream's `reuse`), closed when the reader stops. */
async function* readReusing(file: string): AsyncGenerator<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    yield* fileChunks(fh, 64 * 1024);
  } finally {
    await fh.close();
  }
}

/** The LocalStore writes in flight, by file. */
const writing = new Map<string, Promise<void>>();

export class LocalStore implements BackupStore {
  readonly kind = 'local' as const;
  constructor(readonly dir: string) {}
  describe(name: string) {
    return { kind: 'local' as const, path: path.join(this.dir, name) };
  }
  async readText(name: string) {
    const f = path.join(this.dir, name);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined;
  }
  async writeText(name: string, body: string) {
    const file = path.join(this.dir, name);
    // One write of a file at a time in this process: two at once would share its .partial.
    const mine = (writing.get(file) ?? Promise.resolve()).catch(() => undefined).then(() => this.write(file, body));
    writing.set(file, mine);
    try {
      await mine;
    } finally {
      if (writing.get(file) === mine) writing.delete(file);
    }
  }
  /**
   * Off the event loop: the purge records its position after every batch, and a synchronous fsync there
   * held every response in flight (at 176,000 objects on S3, ~0.25 s of a 3 s purge).
   */
  private async write(file: string, body: string) {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.partial`;
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, file);
  }
  async readStream(name: string, opts: { reuse?: boolean } = {}) {
    const f = path.join(this.dir, name);
    if (!fs.existsSync(f)) return undefined;
    return opts.reuse ? readReusing(f) : fs.createReadStream(f, { highWaterMark: 64 * 1024 });
  }
  async writeStream(name: string, body: AsyncIterable<string | Buffer>) {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, name);
    const tmp = `${file}.partial`;
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      for await (const chunk of body) await (typeof chunk === 'string' ? fh.write(chunk) : fh.write(chunk));
      await fh.sync();
    } finally {
      await fh.close();
    }
    // Renamed only once every chunk is on disk: a crash mid-write leaves a .partial, never a short item.
    fs.renameSync(tmp, file);
  }
  async list(startsWith: string) {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter((n) => n.startsWith(startsWith))
      .map((name) => {
        const s = fs.statSync(path.join(this.dir, name));
        return { name, modified: s.mtime, bytes: s.size };
      });
  }
  async remove(names: string[]) {
    // recursive: a parallel backup's dump (backup.jobs > 1) is a folder.
    for (const n of names) fs.rmSync(path.join(this.dir, n), { recursive: true, force: true });
  }
}

/** lib-storage's smallest part: a streamed item up to this size goes in one PUT. */
const PART_BYTES = 5 * 1024 * 1024;

export class S3Store implements BackupStore {
  readonly kind = 's3' as const;
  readonly s3: S3Client;
  constructor(
    readonly dest: S3BackupDestination,
    s3: (dest: S3BackupDestination) => S3Client = (d) => s3ClientFor(d),
  ) {
    this.s3 = s3(dest);
  }
  key(name: string): string {
    return `${this.dest.prefix ?? ''}${name}`;
  }
  describe(name: string) {
    return { kind: 's3' as const, bucket: this.dest.bucket, key: this.key(name) };
  }
  /** Server-side encryption parameters for every object we write. */
  get encryption() {
    const d = this.dest;
    return d.serverSideEncryption
      ? { ServerSideEncryption: d.serverSideEncryption, ...(d.kmsKeyId ? { SSEKMSKeyId: d.kmsKeyId } : {}) }
      : {};
  }
  async readText(name: string) {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.dest.bucket, Key: this.key(name) }));
      return await r.Body!.transformToString('utf8');
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }
  async readStream(name: string) {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.dest.bucket, Key: this.key(name) }));
      return r.Body as Readable;
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }
  async writeStream(name: string, body: AsyncIterable<string | Buffer>) {
    // Up to one part's worth, one PUT (atomic). Beyond it a multipart upload, which becomes visible only
    // when it completes (aborted on failure): whole or nothing too. One part filling and one on the wire,
    // so memory does not grow with the item.
    const chunks = asBuffers(body)[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let size = 0;
    for (let next = await chunks.next(); ; next = await chunks.next()) {
      if (next.done) return this.put(name, Buffer.concat(head), 'application/x-ndjson');
      head.push(next.value);
      size += next.value.length;
      if (size >= PART_BYTES) break;
    }
    async function* rest() {
      yield* head.splice(0);
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    }
    await new Upload({
      client: this.s3,
      params: {
        Bucket: this.dest.bucket,
        Key: this.key(name),
        Body: Readable.from(rest()),
        ContentType: 'application/x-ndjson',
        ...this.encryption,
      },
      partSize: PART_BYTES,
      queueSize: 1,
      leavePartsOnError: false,
    }).done();
  }
  private async put(name: string, body: string | Buffer, contentType: string) {
    // A PUT is atomic: the object is there whole or not at all.
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.dest.bucket,
        Key: this.key(name),
        Body: body,
        ContentType: contentType,
        ...this.encryption,
      }),
    );
  }
  async writeText(name: string, body: string) {
    await this.put(name, body, 'application/json');
  }
  async list(startsWith: string) {
    const out: StoredItem[] = [];
    const prefix = this.key(startsWith);
    let token: string | undefined;
    do {
      const r = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.dest.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? [])
        out.push({
          name: o.Key!.slice((this.dest.prefix ?? '').length),
          modified: o.LastModified ?? new Date(0),
          bytes: Number(o.Size ?? 0),
        });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
  async remove(names: string[]) {
    for (let i = 0; i < names.length; i += 1000) {
      const batch = names.slice(i, i + 1000);
      const r = await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.dest.bucket,
          Delete: { Objects: batch.map((n) => ({ Key: this.key(n) })), Quiet: true },
        }),
      );
      if (r.Errors?.length)
        throw new Error(
          `S3 refused to delete ${r.Errors.length} backup object(s) in bucket ${this.dest.bucket}, e.g. ${r.Errors[0].Key} (${r.Errors[0].Code})`,
        );
    }
  }
}

async function* asBuffers(body: AsyncIterable<string | Buffer>): AsyncGenerator<Buffer> {
  for await (const s of body) yield typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
}
