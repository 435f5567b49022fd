/**
 * pg_dump into a local file, and `pg_restore --list` over the result: the local half of the backup
 * step (the S3 half is pg-dump-s3.ts). Connection secrets reach pg_dump through libpq's environment
 * variables, never its command line (which `ps` shows to every user of the host).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { baseEnv, libpqEnv } from './child-env';
import { cancellation, cancelledFailure, throwIfCancelled } from './keepalive';
import { redactText } from './secrets';
import { killGroup, spawnGuarded } from './shell';
import type { DatabaseHandle } from './target';

/**
 * Runs pg_dump into `<file>.partial`. On cancellation pg_dump is killed with its process group (its
 * server session ends when the socket closes), the partial file is removed, and the activity's
 * CancelledFailure is thrown once pg_dump is gone.
 */
export async function dumpTo(
  pgDump: string,
  db: DatabaseHandle,
  file: string,
  onBytes: (n: number) => void,
  extra: string[] = [],
): Promise<{ bytes: number; sha256: string }> {
  const partial = `${file}.partial`;
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const out = fs.createWriteStream(partial, { mode: 0o600, flags: 'w' });
  const hash = createHash('sha256');
  let bytes = 0;
  let stderr = '';
  const child = spawnGuarded(pgDump, ['-Fc', '--no-password', ...extra], { env: libpqEnv(db.url) });
  const onCancel = () => killGroup(child);
  cancel?.addEventListener('abort', onCancel, { once: true });
  child.stdout!.on('data', (b: Buffer) => {
    hash.update(b);
    bytes += b.length;
    onBytes(bytes);
  });
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
  // Both must happen: pg_dump exits, and every byte it wrote is flushed to the file.
  // A write that fails (disk full, folder gone) stops pg_dump at once: it would otherwise block on a
  // pipe no one reads, holding its snapshot and server session.
  const written = new Promise<void>((resolve, reject) =>
    out.on('finish', resolve).on('error', (err) => {
      killGroup(child);
      reject(
        new Error(
          `writing the backup of database "${db.name}" to ${partial} failed: ${err.message}. pg_dump was stopped and the partial file removed; free space in (or fix) the backup folder, then retry.`,
        ),
      );
    }),
  );
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) =>
      reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')),
    );
    child.on('close', resolve);
  });
  child.stdout!.pipe(out);
  let code: number | null;
  try {
    [code] = await Promise.all([exited, written]);
  } catch (err) {
    killGroup(child);
    await exited.catch(() => undefined);
    fs.rmSync(partial, { force: true });
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  if (cancel?.aborted) {
    fs.rmSync(partial, { force: true });
    throw cancelledFailure(cancel);
  }
  if (code !== 0) {
    fs.rmSync(partial, { force: true });
    throw new Error(
      `pg_dump of database "${db.name}" exited with code ${code}: ${redactText(stderr.trim(), [db.url])}`,
    );
  }
  const fd = fs.openSync(partial, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Counts the entries `pg_restore --list` prints (lines "<id>; …"), and keeps the tail of its errors.
 * `pg_restore --list` reads the whole archive's table of contents: a truncated or corrupt file fails.
 */
export function readToc(child: ChildProcess): { entries: () => number; stderr: () => string } {
  let entries = 0;
  let rest = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    const lines = (rest + b.toString()).split('\n');
    rest = lines.pop() ?? '';
    entries += lines.filter((l) => /^\d+;/.test(l)).length;
  });
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2048)));
  return { entries: () => entries, stderr: () => stderr };
}

export function checkArchive(pgRestore: string, file: string, db: DatabaseHandle): Promise<number> {
  const cancel = cancellation();
  return new Promise((resolve, reject) => {
    if (cancel?.aborted) {
      fs.rmSync(`${file}.partial`, { force: true });
      return reject(cancelledFailure(cancel));
    }
    const child = spawnGuarded(pgRestore, ['--list', `${file}.partial`], { env: baseEnv(process.env) });
    const onCancel = () => killGroup(child);
    cancel?.addEventListener('abort', onCancel, { once: true });
    const toc = readToc(child);
    child.on('error', (err) =>
      reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'BackupFailed')),
    );
    child.on('close', (code) => {
      cancel?.removeEventListener('abort', onCancel);
      if (cancel?.aborted) {
        fs.rmSync(`${file}.partial`, { force: true });
        return reject(cancelledFailure(cancel));
      }
      if (code === 0 && toc.entries() > 0) return resolve(toc.entries());
      fs.rmSync(`${file}.partial`, { force: true });
      reject(
        new Error(
          `pg_restore --list rejected the dump of database "${db.name}" (exit ${code}): ${toc.stderr().trim() || 'no entries'}`,
        ),
      );
    });
  });
}
