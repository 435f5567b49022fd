/**
 * An in-memory S3 for unit tests of activities (injected as the worker's S3 factory, lib/deps.ts).
 * It answers the commands a purge, a quarantine or a backup store may send — ListObjectsV2,
 * DeleteObjects, DeleteObject, HeadObject, CopyObject, PutObject, GetObject — over a map, logs every
 * call, and counts deletions per key, so a test can prove "each doomed object deleted once, nothing
 * else touched" whether the code lists the bucket or deletes by key. Any other command fails loudly.
 */
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface S3Call {
  op: string;
  bucket: string;
  key?: string;
}

type Command = { input: Record<string, unknown> };

function notFound(name: 'NotFound' | 'NoSuchKey', key: string): Error {
  return Object.assign(new Error(`${name}: ${key}`), {
    name,
    Code: name,
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
  });
}

/**
 * The keys of a DeleteObjects call. The purge writes the body itself, in a middleware of the command
 * (src/activities/lib/s3.ts, deleteObjectsXml) and sends no Objects in its input: that middleware is run
 * here, alone, and the keys read back from the XML it writes.
 */
async function deletedKeys(cmd: DeleteObjectsCommand): Promise<string[]> {
  const given = cmd.input.Delete?.Objects ?? [];
  if (given.length) return given.map((o) => o.Key!);
  let body = '';
  const run = cmd.middlewareStack.resolve(async (args) => {
    body = String((args.request as { body?: unknown }).body ?? '');
    return { output: {} as never, response: {} };
  }, {} as never);
  await run({ input: cmd.input, request: { body: undefined } } as never);
  const unescape = (s: string) =>
    s.replace(/&(amp|lt|gt|quot|apos|#x[0-9A-Fa-f]+);/g, (_, e: string) =>
      e.startsWith('#x')
        ? String.fromCodePoint(parseInt(e.slice(2), 16))
        : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e],
    );
  return [...body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unescape(m[1]));
}

export class FakeS3 {
  private readonly buckets = new Map<string, Map<string, Buffer>>();
  readonly calls: S3Call[] = [];
  /** `<bucket>/<key>` → how many times a delete named it. */
  readonly deletes = new Map<string, number>();
  /** Called before every command: throw from it to inject a failure (the command then has no effect). */
  beforeSend: (call: S3Call, input: Record<string, unknown>) => void = () => undefined;

  put(bucket: string, key: string, body: string | Buffer = key): void {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
    this.buckets.get(bucket)!.set(key, Buffer.from(body));
  }
  /** Takes an object away unseen: as if it had never been there (a blob whose file was lost before the reset). */
  drop(bucket: string, key: string): void {
    this.buckets.get(bucket)?.delete(key);
  }
  has(bucket: string, key: string): boolean {
    return this.buckets.get(bucket)?.has(key) ?? false;
  }
  keys(bucket: string): string[] {
    return [...(this.buckets.get(bucket)?.keys() ?? [])].sort();
  }
  deletedCount(bucket: string, key: string): number {
    return this.deletes.get(`${bucket}/${key}`) ?? 0;
  }
  /** Every call but listings that named this key. */
  touched(bucket: string, key: string): S3Call[] {
    return this.calls.filter((c) => c.bucket === bucket && c.key === key);
  }
  /** What the activity gets from its S3 factory. */
  client(): S3Client {
    return { send: (cmd: Command) => this.send(cmd), destroy: () => undefined } as unknown as S3Client;
  }

  private objects(bucket: string): Map<string, Buffer> {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
    return this.buckets.get(bucket)!;
  }

  private remove(bucket: string, key: string): void {
    this.deletes.set(`${bucket}/${key}`, this.deletedCount(bucket, key) + 1);
    this.objects(bucket).delete(key);
  }

  async send(cmd: Command): Promise<unknown> {
    const i = cmd.input as Record<string, any>;
    const bucket = String(i.Bucket);
    if (cmd instanceof ListObjectsV2Command) {
      this.log({ op: 'ListObjectsV2', bucket }, i);
      const after = (i.ContinuationToken as string | undefined) ?? (i.StartAfter as string | undefined) ?? '';
      const prefix = (i.Prefix as string | undefined) ?? '';
      const max = (i.MaxKeys as number | undefined) ?? 1000;
      const all = this.keys(bucket).filter((k) => k.startsWith(prefix) && k > after);
      const page = all.slice(0, max);
      const truncated = all.length > max;
      return {
        Contents: page.map((Key) => ({ Key, Size: this.objects(bucket).get(Key)!.length })),
        KeyCount: page.length,
        IsTruncated: truncated,
        NextContinuationToken: truncated ? page[page.length - 1] : undefined,
      };
    }
    if (cmd instanceof DeleteObjectsCommand) {
      const keys = await deletedKeys(cmd as DeleteObjectsCommand);
      this.log({ op: 'DeleteObjects', bucket }, i);
      for (const key of keys) this.calls.push({ op: 'DeleteObjects', bucket, key });
      for (const key of keys) this.remove(bucket, key);
      // Like S3: deleting a missing key succeeds; in quiet mode the answer names only the failures.
      return { Deleted: i.Delete.Quiet ? undefined : keys.map((Key) => ({ Key })), Errors: [] };
    }
    const key = String(i.Key);
    if (cmd instanceof DeleteObjectCommand) {
      this.log({ op: 'DeleteObject', bucket, key }, i);
      this.remove(bucket, key);
      return {};
    }
    if (cmd instanceof HeadObjectCommand) {
      this.log({ op: 'HeadObject', bucket, key }, i);
      const b = this.objects(bucket).get(key);
      if (!b) throw notFound('NotFound', key);
      return { ContentLength: b.length };
    }
    if (cmd instanceof GetObjectCommand) {
      this.log({ op: 'GetObject', bucket, key }, i);
      const b = this.objects(bucket).get(key);
      if (!b) throw notFound('NoSuchKey', key);
      const body = Object.assign(Readable.from([b]), {
        transformToString: async () => b.toString('utf8'),
        transformToByteArray: async () => new Uint8Array(b),
      });
      return { Body: body, ContentLength: b.length };
    }
    if (cmd instanceof PutObjectCommand) {
      this.log({ op: 'PutObject', bucket, key }, i);
      const body = i.Body;
      this.put(bucket, key, typeof body === 'string' || Buffer.isBuffer(body) ? body : Buffer.from(body as Uint8Array));
      return {};
    }
    if (cmd instanceof CopyObjectCommand) {
      this.log({ op: 'CopyObject', bucket, key }, i);
      const src = decodeURIComponent(String(i.CopySource));
      const slash = src.indexOf('/');
      const [fromBucket, fromKey] = [src.slice(0, slash), src.slice(slash + 1)];
      const b = this.objects(fromBucket).get(fromKey);
      if (!b) throw notFound('NoSuchKey', fromKey);
      this.calls.push({ op: 'CopyObject(source)', bucket: fromBucket, key: fromKey });
      this.put(bucket, key, b);
      return {};
    }
    throw new Error(`FakeS3: ${cmd.constructor.name} is not implemented; add it to test/support/fake-s3.ts`);
  }

  private log(call: S3Call, input: Record<string, unknown>): void {
    this.beforeSend(call, input);
    if (call.key !== undefined || call.op === 'ListObjectsV2') this.calls.push(call);
  }
}
