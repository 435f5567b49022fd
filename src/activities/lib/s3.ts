/**
 * S3 access for the storage step. One client per ActiveStorage service; credentials come from the
 * standard AWS chain (env, profile, instance role), never from the targets file or the workflow.
 */
import {
  CopyObjectCommand,
  S3Client,
  ListObjectsV2Command,
  DeleteObjectsCommand,
  HeadObjectCommand,
} from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { PLAN_DEFAULTS } from '../../contract';
import type { S3StorageServiceConfig as StorageServiceConfig } from '../../config/types';

export interface S3Object {
  key: string;
  size: number;
}

/** The real client (deps.ts); activities get theirs from the resolved target's `s3` factory. */
export function s3ClientFor(
  svc: Pick<StorageServiceConfig, 'region' | 'endpoint' | 'forcePathStyle'>,
  env: NodeJS.ProcessEnv = process.env,
): S3Client {
  return new S3Client({
    region: svc.region ?? env.AWS_REGION ?? 'us-east-1',
    endpoint: svc.endpoint,
    forcePathStyle: svc.forcePathStyle ?? Boolean(svc.endpoint),
    maxAttempts: 5,
    // Without a timeout a request that S3 never answers hangs the step for its whole start-to-close
    // time (the keepalive heartbeats on): it is abandoned and retried instead. The timeout is of an idle
    // socket (socketTimeout), not of a whole request: a large upload may take long, and the SDK's
    // requestTimeout only logs a warning unless told otherwise. RR_S3_REQUEST_TIMEOUT_MS: the fault
    // suite shortens it.
    requestHandler: {
      connectionTimeout: 10_000,
      socketTimeout: Number(env.RR_S3_REQUEST_TIMEOUT_MS) || 60_000,
    },
  });
}

/** Pages through ListObjectsV2 under the service's prefix, in key order, from just after `startAfter`. */
export async function* listObjects(
  s3: S3Client,
  svc: Pick<StorageServiceConfig, 'bucket' | 'prefix'>,
  startAfter?: string,
  pageSize = 1000,
): AsyncGenerator<S3Object[]> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: svc.bucket,
        Prefix: svc.prefix || undefined,
        ContinuationToken: token,
        StartAfter: token ? undefined : startAfter,
        MaxKeys: pageSize,
      }),
    );
    yield (page.Contents ?? []).map((o) => ({ key: o.Key!, size: Number(o.Size ?? 0) }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export interface DeleteOutcome {
  deleted: string[];
  errors: { key: string; code: string; message: string }[];
}

/** One DeleteObjects call (at most 1,000 keys); S3 answers per key, and a partial failure is not an exception. */
export async function deleteBatch(
  s3: S3Client,
  svc: Pick<StorageServiceConfig, 'bucket' | 'prefix'>,
  keys: string[],
): Promise<DeleteOutcome> {
  const prefix = svc.prefix ?? '';
  for (const k of keys) {
    // The last line of defence: nothing outside the configured prefix is ever sent for deletion.
    if (!k.startsWith(prefix))
      throw new Error(`refusing to delete ${k}: outside prefix "${prefix}" of bucket ${svc.bucket}`);
  }
  if (keys.length === 0) return { deleted: [], errors: [] };
  // Quiet: the answer names only the keys S3 could not delete. S3 answers "deleted" for every other key,
  // a missing one too, so nothing is lost; the verbose answer was a thousand entries to parse per call
  // (at 176,000 objects on a fast server, more CPU than the calls themselves, and a heap of short-lived objects).
  const command = new DeleteObjectsCommand({ Bucket: svc.bucket, Delete: { Objects: [], Quiet: true } });
  // The body is written here, as one string, in place of the SDK's (which is built as a tree of XML
  // nodes: a few hundred bytes of short-lived objects per key; at 176,000 keys the worker's heap grew by
  // ~100 MiB before the collector reached them). The SDK still adds its checksum, length and signature.
  const body = deleteObjectsXml(keys);
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { body?: unknown } | undefined;
      if (!request || typeof request !== 'object')
        throw new Error('DeleteObjects: the SDK made no request to write the keys into');
      request.body = body;
      return next(args);
    },
    { step: 'serialize', priority: 'low', name: 'resetRunbookDeleteObjectsBody' },
  );
  const r = await s3.send(command);
  const errors = (r.Errors ?? []).map((e) => ({
    key: e.Key ?? '?',
    code: e.Code ?? 'Unknown',
    message: e.Message ?? '',
  }));
  const failed = new Set(errors.map((e) => e.key));
  return { deleted: failed.size ? keys.filter((k) => !failed.has(k)) : keys, errors };
}

/**
 * S3's DeleteObjects request body for these keys, quiet, byte for byte as the SDK writes it (its
 * XmlShapeSerializer and escapeElement; test/unit/activities/s3-delete-body.test.ts holds the two equal).
 */
export function deleteObjectsXml(keys: readonly string[]): string {
  let xml = '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  for (const k of keys) xml += `<Object><Key>${k.replace(XML_SPECIAL, (c) => XML_ESCAPES[c])}</Key></Object>`;
  return `${xml}<Quiet>true</Quiet></Delete>`;
}

const XML_SPECIAL = /[&"'<>\r\n\u0085\u2028]/g;
const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '"': '&quot;',
  "'": '&apos;',
  '<': '&lt;',
  '>': '&gt;',
  '\r': '&#x0D;',
  '\n': '&#x0A;',
  '\u0085': '&#x85;',
  '\u2028': '&#x2028;',
};

/** CopySource is "<bucket>/<key>", the key URL-encoded except its slashes. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/** A server-side copy (no byte passes through the worker). Objects over 5 GB would need UploadPartCopy. */
export async function copyObject(
  s3: S3Client,
  from: { bucket: string; key: string },
  to: { bucket: string; key: string },
): Promise<void> {
  await s3.send(
    new CopyObjectCommand({ Bucket: to.bucket, Key: to.key, CopySource: copySource(from.bucket, from.key) }),
  );
}

/** Every object under a prefix of a bucket, in key order. */
export async function* listUnder(
  s3: S3Client,
  bucket: string,
  prefix: string,
  startAfter?: string,
  pageSize?: number,
): AsyncGenerator<S3Object[]> {
  yield* listObjects(s3, { bucket, prefix }, startAfter, pageSize);
}

/**
 * Whether an S3 failure may pass by itself: throttling (503 SlowDown, 429), a server error, a dropped
 * connection or a request timeout. A refused credential, a missing bucket, a wrong region or an endpoint
 * nobody listens on will not, and retrying them only delays the answer.
 */
export function s3FailureIsTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (/^(SlowDown|Throttling(Exception)?|RequestTimeout|TimeoutError)$/.test(e.name ?? '')) return true;
  if (/^(ECONNRESET|EPIPE|ETIMEDOUT|ECONNABORTED)$/.test(e.code ?? '')) return true;
  return /socket hang up/i.test(e.message ?? '');
}

/**
 * An S3 error as one phrase: its code, then its message. An error without a body (a HEAD's: the SDK
 * calls every one "UnknownError") is told by its HTTP status.
 */
export function s3ErrorText(err: unknown): string {
  const e = err as { name?: string; message?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.Code ?? e.name;
  if (name && e.message && !e.message.startsWith(name)) return `${name}: ${e.message}`;
  const status = e.$metadata?.httpStatusCode;
  return `${e.message ?? String(err)}${status ? ` (HTTP ${status})` : ''}`;
}

/**
 * For the plan: a transient failure (s3FailureIsTransient) fails the plan's attempt, which is tried
 * again (planOptions), instead of becoming a plan error that refuses the run.
 */
export function retryPlanIfTransient(err: unknown, what: string): void {
  if (!s3FailureIsTransient(err)) return;
  // The last attempt's message is the run's ending: it must not promise another.
  const { attempt } = Context.current().info;
  throw ApplicationFailure.retryable(
    `${what} failed: ${s3ErrorText(err)}; S3 is throttling or failing for now. ${
      attempt >= PLAN_DEFAULTS.maximumAttempts
        ? `The plan was tried ${attempt} times; nothing was touched. Start the reset again once S3 answers`
        : 'The plan is tried again; nothing was touched'
    }`,
    'StorageUnavailable',
  );
}

/** Whether an object exists (HEAD); a 404 is an answer, any other failure is thrown. */
export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}
