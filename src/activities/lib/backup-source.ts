/**
 * Reading a recorded backup file, wherever it lives: the worker's disk (backup.dir) or the S3 backup
 * destination. The restore only ever asks for a stream, a checksum, or a verified local copy.
 *
 * Why pg_restore gets a local copy of an S3 object and not the object's stream: `pg_restore --list`
 * and `-L` read the archive's table of contents and then its data blocks in the list's order, which
 * needs a seekable file. The copy is written as the object streams in, through SHA-256, and handed to
 * pg_restore only once its checksum equals the record's: pg_restore reads exactly the bytes that were
 * checked (a stream would be checked only after pg_restore had consumed it).
 *
 * Three failures, each its own type, because each asks for something else: BackupOnOtherHost (a local
 * file another host wrote: run there, or back up to S3), BackupUnreadable (missing, permission, S3
 * refused: fix the access) and BackupChecksumMismatch (the bytes changed: the backup is damaged).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupFile } from '../../contract';
import { packDir, TarExtractor } from './dump-tar';
import { cancellation, cancelledFailure, throwIfCancelled } from './keepalive';
import type { ResolvedTarget } from './target';

/** What the restore needs of the worker: its S3 clients, its host name, the target's backup settings. */
type Reader = Pick<ResolvedTarget, 's3' | 'hostname' | 'name'> & { config: Pick<ResolvedTarget['config'], 'backup'> };

/** A seekable archive file for pg_restore: `path` to read, `where` for messages (the recorded place). */
export interface LocalArchive {
  path: string;
  where: string;
  /** Removes a temporary copy (an S3 object's); a backup.dir file is left where it is. */
  release(): void;
  /** A parallel dump's folder (format "directory"): the jobs pg_restore may use where it restores into a database. */
  jobs?: number;
}

const LOCAL_ERRORS: Record<string, string> = {
  ENOENT: 'there is no such file',
  EACCES: "the worker's user may not read it",
  EPERM: "the worker's user may not read it",
  EISDIR: 'it is a directory',
};

async function openLocal(r: Reader, file: BackupFile): Promise<Readable> {
  const folder = file.format === 'directory';
  let fd: fs.promises.FileHandle | undefined;
  try {
    // A parallel dump's folder is read as its canonical tar: the bytes its checksum was taken over.
    if (folder) await fs.promises.readdir(file.path);
    else fd = await fs.promises.open(file.path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const here = r.hostname();
    const host = file.location?.kind === 'local' ? file.location.host : undefined;
    const why = LOCAL_ERRORS[code] ?? (err as Error).message;
    if (host && host !== here) {
      throw ApplicationFailure.nonRetryable(
        `The backup file ${file.path} (database "${file.database}") of target "${r.name}" was written on host "${host}", and this worker runs on host "${here}", where ${why} (${code}). Run the restore with a worker on host "${host}" (stop the workers of other hosts, or start one there), or configure backup.destination (S3) so that every worker reads the backups. Nothing was touched.`,
        'BackupOnOtherHost',
      );
    }
    throw ApplicationFailure.nonRetryable(
      `The backup file ${file.path} (database "${file.database}") of target "${r.name}" cannot be read on this worker (host "${here}"): ${why} (${code}). Put the file back at that path or give the worker's user read access, then start the restore again. Nothing was touched.`,
      'BackupUnreadable',
    );
  }
  return fd ? fd.createReadStream() : packDir(file.path);
}

async function openS3(r: Reader, file: BackupFile): Promise<Readable> {
  const loc = file.location as Extract<NonNullable<BackupFile['location']>, { kind: 's3' }>;
  // The recorded region and endpoint win (the destination may have moved since); path style and
  // credentials are the worker's, as for the backup itself.
  const dest = r.config.backup.destination;
  const s3 = r.s3({
    region: loc.region ?? dest?.region,
    endpoint: loc.endpoint ?? dest?.endpoint,
    forcePathStyle: dest?.forcePathStyle,
  });
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), {
      abortSignal: cancellation(),
    });
    return got.Body as Readable;
  } catch (err) {
    const cancel = cancellation();
    if (cancel?.aborted) throw cancelledFailure(cancel);
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    // A missing object or a refused credential will not change by retrying; a network failure may.
    const permanent =
      e.name === 'NoSuchKey' ||
      e.name === 'NoSuchBucket' ||
      status === 404 ||
      status === 403 ||
      e.name === 'AccessDenied';
    const message = `The backup object ${file.path} (database "${file.database}") of target "${r.name}" cannot be read from bucket ${loc.bucket}, key ${loc.key}: ${e.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}${e.message && e.message !== e.name ? `: ${e.message.replace(/\.$/, '')}` : ''}. Check that the object exists and that this worker's AWS credentials may read it (s3:GetObject), then start the restore again. Nothing was touched.`;
    if (permanent) throw ApplicationFailure.nonRetryable(message, 'BackupUnreadable');
    throw ApplicationFailure.retryable(message, 'BackupUnreadable');
  }
}

/** The recorded file as a stream: from the worker's disk or the S3 object. */
function openBackup(r: Reader, file: BackupFile): Promise<Readable> {
  return file.location?.kind === 's3' ? openS3(r, file) : openLocal(r, file);
}

/**
 * SHA-256 and size of the file as it is now, read as a stream (never loaded into memory); every chunk
 * also goes to `sink` when given, with its back-pressure respected.
 */
async function readThrough(
  r: Reader,
  file: BackupFile,
  onBytes?: (n: number) => void,
  sink?: (chunk: Buffer) => Promise<void>,
): Promise<{ sha256: string; bytes: number }> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const body = await openBackup(r, file);
  const stop = () => body.destroy();
  cancel?.addEventListener('abort', stop, { once: true });
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      throwIfCancelled(cancel);
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      await sink?.(chunk);
    }
  } catch (err) {
    if (cancel?.aborted) throw cancelledFailure(cancel);
    if (err instanceof ApplicationFailure) throw err;
    throw new Error(
      `Reading the backup ${file.path} (database "${file.database}") of target "${r.name}" failed after ${bytes} bytes: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    cancel?.removeEventListener('abort', stop);
    body.destroy();
  }
  return { sha256: hash.digest('hex'), bytes };
}

function refuseMismatch(file: BackupFile, now: { sha256: string; bytes: number }): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `The backup ${file.path} (database "${file.database}") does not match its record: SHA-256 ${now.sha256.slice(0, 16)}… (${now.bytes} bytes), recorded ${file.sha256.slice(0, 16)}… (${file.bytes} bytes). It was changed or damaged; nothing was touched.`,
    'BackupChecksumMismatch',
  );
}

/** Refuses, before anything is touched, a file whose SHA-256 is not the one on record (or that cannot be read). */
export async function assertChecksum(r: Reader, file: BackupFile, onBytes?: (n: number) => void): Promise<void> {
  const now = await readThrough(r, file, onBytes);
  if (now.sha256 !== file.sha256 || now.bytes !== file.bytes) throw refuseMismatch(file, now);
}

/**
 * The backup as a seekable file whose SHA-256 is the record's. A local backup is checked where it is;
 * an S3 object is downloaded as a stream into a temporary file beside the local backups (backup.dir,
 * else the system's temporary folder: TMPDIR), checked on the way. The caller releases it, also on
 * failure; a copy that did not check out is removed here.
 */
export async function verifiedLocalCopy(
  r: Reader,
  file: BackupFile,
  onBytes?: (n: number) => void,
): Promise<LocalArchive> {
  const jobs = file.format === 'directory' ? file.jobs : undefined;
  if (file.location?.kind !== 's3') {
    await assertChecksum(r, file, onBytes);
    return { path: file.path, where: file.path, release: () => undefined, jobs };
  }
  const parent = r.config.backup.dir ?? os.tmpdir();
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  // A worker killed during an earlier restore of this target left its copy: restores of one target never overlap.
  const prefix = `rr-restore-${r.name}-`;
  for (const d of fs.readdirSync(parent))
    if (d.startsWith(prefix)) fs.rmSync(path.join(parent, d), { recursive: true, force: true });
  const dir = fs.mkdtempSync(path.join(parent, prefix));
  const release = () => fs.rmSync(dir, { recursive: true, force: true });
  const copy = path.join(dir, path.posix.basename(file.location.key) || 'backup.dump');
  try {
    if (file.format === 'directory') return { ...(await unpackedCopy(r, file, copy, onBytes)), release, jobs };
    const out = fs.createWriteStream(copy, { mode: 0o600 });
    let writeError: Error | undefined;
    const written = new Promise<void>((resolve) =>
      out.once('finish', resolve).once('error', (e) => resolve(void (writeError = e))),
    );
    let now;
    try {
      now = await readThrough(r, file, onBytes, async (chunk) => {
        if (out.errored) throw out.errored;
        if (!out.write(chunk))
          await new Promise<void>((resolve, reject) => out.once('drain', resolve).once('error', reject));
      });
    } catch (err) {
      if (!writeError) throw err;
    } finally {
      out.end();
    }
    await written;
    if (writeError || !now)
      throw ApplicationFailure.nonRetryable(
        `Writing a local copy of ${file.path} (database "${file.database}") into ${dir} failed: ${writeError?.message}. pg_restore needs one as large as the backup (${file.bytes} bytes): free space there or point backup.dir (or TMPDIR) at a larger folder, then start the restore again. Nothing was touched.`,
        'BackupCopyFailed',
      );
    if (now.sha256 !== file.sha256 || now.bytes !== file.bytes) throw refuseMismatch(file, now);
    return { path: copy, where: file.path, release };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * A parallel dump's tar object unpacked into the folder `copy` as it streams in, through SHA-256:
 * pg_restore reads the folder only once the whole tar's checksum equals the record's.
 */
async function unpackedCopy(
  r: Reader,
  file: BackupFile,
  copy: string,
  onBytes?: (n: number) => void,
): Promise<{ path: string; where: string }> {
  fs.mkdirSync(copy, { mode: 0o700 });
  const tar = new TarExtractor(copy);
  let now;
  try {
    now = await readThrough(r, file, onBytes, (chunk) => tar.write(chunk));
    await tar.end();
  } catch (err) {
    await tar.abort();
    if (err instanceof ApplicationFailure || cancellation()?.aborted) throw err;
    throw ApplicationFailure.nonRetryable(
      `Unpacking ${file.path} (database "${file.database}") into ${copy} failed: ${(err as Error).message}. pg_restore needs room for the unpacked folder (${file.bytes} bytes): free space there or point backup.dir (or TMPDIR) at a larger folder; a damaged object fails its checksum too. Nothing was touched.`,
      'BackupCopyFailed',
    );
  }
  if (now.sha256 !== file.sha256 || now.bytes !== file.bytes) throw refuseMismatch(file, now);
  return { path: copy, where: file.path };
}
