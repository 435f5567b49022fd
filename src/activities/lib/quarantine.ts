/**
 * Where the purge keeps what it removes (storage.quarantine), so that a restore finds it by the reset
 * run's id:
 * - S3: a server-side copy in the quarantine bucket, `<prefix><reset run id>/<service>/<original key>`;
 * - Disk: the file itself, moved (renamed: same volume, no byte copied) to
 *   `<root>/<diskFolder>/<reset run id>/<its path under the root>`.
 * Both are idempotent: an object already gone from the source but present in the quarantine counts as
 * quarantined by an earlier attempt; one in neither place was missing before the reset.
 */
import * as path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { QuarantineConfig } from '../../config/types';
import { copyObject, objectExists } from './s3';
import { insideRoot } from './disk-files';

export function quarantineRunPrefix(q: QuarantineConfig, runId: string, service?: string): string {
  const base = q.prefix;
  const root = base === '' || base.endsWith('/') ? base : `${base}/`;
  return `${root}${runId}/${service !== undefined ? `${service}/` : ''}`;
}

export function quarantineKey(q: QuarantineConfig, runId: string, service: string, key: string): string {
  return `${quarantineRunPrefix(q, runId, service)}${key}`;
}

/** What quarantining one object found: copied now, copied by an earlier attempt, or in neither place. */
export type QuarantineOutcome = 'copied' | 'alreadyQuarantined' | 'missing';

const isNoSuchKey = (err: unknown) => {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'NoSuchKey' || e.Code === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404
  );
};

/** Copies one object to the quarantine; every error names both places. */
export async function quarantineObject(
  s3: S3Client,
  from: { bucket: string; key: string },
  to: { bucket: string; key: string },
): Promise<QuarantineOutcome> {
  const where = `s3://${from.bucket}/${from.key} to the quarantine s3://${to.bucket}/${to.key}`;
  try {
    await copyObject(s3, from, to);
    return 'copied';
  } catch (err) {
    if (!isNoSuchKey(err))
      // eslint-disable-next-line preserve-caught-error -- the message names the place and quotes the cause
      throw new Error(
        `Could not copy ${where}: ${(err as Error).message}. Check both buckets' permissions, then retry: the purge resumes here.`,
      );
  }
  try {
    return (await objectExists(s3, to.bucket, to.key)) ? 'alreadyQuarantined' : 'missing';
  } catch (err) {
    // eslint-disable-next-line preserve-caught-error -- the message names the place and quotes the cause
    throw new Error(
      `s3://${from.bucket}/${from.key} is gone; could not check its quarantine copy s3://${to.bucket}/${to.key}: ${(err as Error).message}. Retry: the purge resumes here.`,
    );
  }
}

/** The folder a Disk service's quarantined files of one reset run live under (inside its root). */
export function diskQuarantineDir(root: string, q: QuarantineConfig, runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === '.' || runId === '..')
    throw new Error(`refusing run id "${runId}" as a folder name under ${root}`);
  return insideRoot(root, path.join(q.diskFolder, runId));
}

/** Runs fn over items, at most `limit` at a time (server-side copies are independent requests). */
export async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
