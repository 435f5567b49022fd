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
import { fileChunks } from './file-chunks';

/**
 * Runs pg_dump into `<file>.partial`, then reads the file back through SHA-256. On cancellation pg_dump
 * is killed with its process group (its server session ends when the socket closes), the partial file
 * removed, and the activity's CancelledFailure thrown once pg_dump is gone.
 *
 * pg_dump writes the file itself (-f), not through a pipe into this process: through the worker, every
 * 64 KiB chunk waited for its event loop (shared with the Temporal SDK) and passed through its heap; a
 * large demo's dump took 0.6 s longer in the worker than bare pg_dump, and xlarge's left ~16 MiB of
 * garbage. Progress is the file's size, read four times a second. The checksum is of the bytes on disk,
 * read back with one reused buffer once they are synced.
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
  const writeFailed = (detail: string, stopped: string) =>
    new Error(
      `writing the backup of database "${db.name}" to ${partial} failed: ${detail}. ${stopped}; free space in (or fix) the backup folder, then retry.`,
    );
  try {
    // Created here, owner-only, before pg_dump opens it (it would create it with the umask's mode).
    fs.closeSync(fs.openSync(partial, 'w', 0o600));
    fs.chmodSync(partial, 0o600);
  } catch (err) {
    throw writeFailed((err as Error).message, 'pg_dump was not started');
  }
  let stderr = '';
  const child = spawnGuarded(pgDump, ['-Fc', '--no-password', '-f', partial, ...extra], { env: libpqEnv(db.url) });
  const onCancel = () => killGroup(child);
  cancel?.addEventListener('abort', onCancel, { once: true });
  child.stdout!.resume();
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
  const size = () => {
    try {
      return fs.statSync(partial).size;
    } catch {
      return 0;
    }
  };
  onBytes(0);
  const ticker = setInterval(() => onBytes(size()), 250);
  let code: number | null;
  try {
    code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', (err) =>
        reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')),
      );
      child.on('close', resolve);
    });
  } catch (err) {
    killGroup(child);
    fs.rmSync(partial, { force: true });
    throw err;
  } finally {
    clearInterval(ticker);
    cancel?.removeEventListener('abort', onCancel);
  }
  if (cancel?.aborted) {
    fs.rmSync(partial, { force: true });
    throw cancelledFailure(cancel);
  }
  if (code !== 0) {
    fs.rmSync(partial, { force: true });
    const said = redactText(stderr.trim(), [db.url]);
    // pg_dump stops at the first write that fails: name the folder, as for any write of ours.
    if (/No space left on device/i.test(said))
      throw writeFailed(`ENOSPC (${said})`, 'pg_dump stopped and the partial file was removed');
    throw new Error(`pg_dump of database "${db.name}" exited with code ${code}: ${said}`);
  }
  const fh = await fs.promises.open(partial, 'r');
  try {
    await fh.sync();
    const sum = await hashFile(fh, cancel);
    onBytes(sum.bytes);
    return sum;
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw err;
  } finally {
    await fh.close();
  }
}

/** SHA-256 of an open file from its start, through one 1 MiB buffer (fileChunks), the event loop free. */
async function hashFile(fh: fs.promises.FileHandle, cancel?: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  throwIfCancelled(cancel);
  for await (const chunk of fileChunks(fh, 1024 * 1024)) {
    hash.update(chunk);
    bytes += chunk.length;
    throwIfCancelled(cancel);
  }
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
