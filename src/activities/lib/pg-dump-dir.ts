/**
 * The parallel backup (backup.jobs > 1): `pg_dump -Fd -j N` into a folder, checked with
 * `pg_restore --list`, its checksum taken over the folder's canonical tar (dump-tar.ts). A local
 * backup keeps the folder; an S3 backup streams the tar into one object (pg-dump-dir-s3.ts).
 *
 * Why a folder and not a pipe: pg_dump writes one file per table from N sessions at once, which only
 * the directory format allows; a stream (-Fc to stdout) is written by one process.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { baseEnv, libpqEnv } from './child-env';
import { packDir } from './dump-tar';
import { cancellation, cancelledFailure, throwIfCancelled } from './keepalive';
import { readToc } from './pg-dump';
import { redactText } from './secrets';
import { killGroup, spawnGuarded } from './shell';
import type { DatabaseHandle } from './target';

/** Bytes of the files in a flat folder (pg_dump -Fd writes no subfolders); 0 while it does not exist. */
function folderBytes(dir: string): number {
  try {
    return fs.readdirSync(dir).reduce((a, n) => a + fs.statSync(path.join(dir, n)).size, 0);
  } catch {
    return 0;
  }
}

/**
 * `pg_dump -Fd -j <jobs>` into `dir` (which must not exist yet). Progress is the folder's size, read
 * once a second: the files are written by pg_dump's own worker processes, not through us. On any
 * failure or cancellation pg_dump's process group is killed and the folder removed.
 */
export async function dumpDir(
  pgDump: string,
  db: DatabaseHandle,
  dir: string,
  jobs: number,
  onBytes: (n: number) => void,
  extra: string[] = [],
): Promise<void> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  // The folder's name is no secret; the connection reaches pg_dump through libpq's environment only.
  const child = spawnGuarded(pgDump, ['-Fd', '-j', String(jobs), '--no-password', '-f', dir, ...extra], {
    env: libpqEnv(db.url),
  });
  let stderr = '';
  child.stdout!.resume();
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
  const onCancel = () => killGroup(child);
  cancel?.addEventListener('abort', onCancel, { once: true });
  const ticker = setInterval(() => onBytes(folderBytes(dir)), 1000);
  let code: number | null;
  try {
    code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', (err) =>
        reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')),
      );
      child.on('close', resolve);
    });
  } finally {
    clearInterval(ticker);
    cancel?.removeEventListener('abort', onCancel);
  }
  if (cancel?.aborted || code !== 0) fs.rmSync(dir, { recursive: true, force: true });
  if (cancel?.aborted) throw cancelledFailure(cancel);
  if (code !== 0)
    throw new Error(
      `pg_dump -Fd -j ${jobs} of database "${db.name}" exited with code ${code}: ${redactText(stderr.trim(), [db.url])}`,
    );
  onBytes(folderBytes(dir));
}

/** Size and SHA-256 of the folder's canonical tar: the checksum a folder backup is recorded and checked with. */
export async function hashDir(dir: string, onBytes?: (n: number) => void): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const cancel = cancellation();
  for await (const chunk of packDir(dir) as AsyncIterable<Buffer>) {
    throwIfCancelled(cancel);
    hash.update(chunk);
    bytes += chunk.length;
    onBytes?.(bytes);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * `pg_restore --list` over an archive path (a -Fd folder, or one holding only its toc.dat: the list
 * reads nothing else). Resolves with the number of entries; a failure or no entries rejects, naming `what`.
 */
export function listEntries(pgRestore: string, archive: string, what: string): Promise<number> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  return new Promise((resolve, reject) => {
    const child = spawnGuarded(pgRestore, ['--list', archive], { env: baseEnv(process.env) });
    const onCancel = () => killGroup(child);
    cancel?.addEventListener('abort', onCancel, { once: true });
    const toc = readToc(child);
    child.on('error', (err) =>
      reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'BackupFailed')),
    );
    child.on('close', (code) => {
      cancel?.removeEventListener('abort', onCancel);
      if (cancel?.aborted) return reject(cancelledFailure(cancel));
      if (code === 0 && toc.entries() > 0) return resolve(toc.entries());
      reject(new Error(`pg_restore --list rejected ${what} (exit ${code}): ${toc.stderr().trim() || 'no entries'}`));
    });
  });
}
