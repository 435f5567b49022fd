/**
 * Step 1 — backup. `pg_dump -Fc` of every database the reset will touch, streamed with its SHA-256
 * computed on the way, to one of two destinations (lib/backup-store.ts):
 * - local (backup.dir): written to `<name>.partial`, checked with `pg_restore --list`, and only then
 *   renamed to its final name: a file that looks whole is whole.
 * - S3 (backup.destination): streamed as a multipart upload (one part buffered, one in flight: memory
 *   stays flat whatever the dump's size), then read back from the bucket through SHA-256 and
 *   `pg_restore --list`; only when every file checks out is the backup's record object written,
 *   and a dump without a record is no backup (removed by the next run).
 * Retention keeps the newest backup.keep backups of the target, and prunes the purge manifests and
 * reset journals of the runs whose backups it removes.
 * Connection secrets reach pg_dump through libpq's environment variables, never its command line
 * (which `ps` shows to every user of the host).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupFile, BackupRecord } from '../contract';
import { JOURNAL_PREFIX } from './journal';
import { backupStoreFor, LocalStore, S3Store, type BackupStore } from './lib/backup-store';
import { MANIFEST_PREFIX, PURGE_PROGRESS_PREFIX } from './manifest';
import { baseEnv, libpqEnv } from './lib/child-env';
import { drillAll } from './lib/drill-all';
import { withSourceSnapshot } from './lib/drill';
import { crashPoint } from './lib/faults';
import { cancellation, cancelledFailure, throwIfCancelled, withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import { killGroup, redact, spawnGuarded } from './lib/shell';
import { resolveTarget, type ActivityDeps, type DatabaseHandle } from './lib/target';

export function createBackupActivities(deps: ActivityDeps) {
  return {
    /** verify: the targets file's backup.verify unless given (the drill workflow asks for "restore"). */
    async backupDatabase(args: { target: string; verify?: 'list' | 'restore' }): Promise<BackupRecord> {
      const t = resolveTarget(deps, args.target);
      const drill = (args.verify ?? t.config.backup.verify) === 'restore';
      const keep = t.config.backup.keep;
      const pgDump = t.config.backup.pgDump ?? 'pg_dump';
      const pgRestore = t.config.backup.pgRestore ?? 'pg_restore';
      const store = backupStoreFor(t.config.backup, t.s3);
      if (store instanceof LocalStore) {
        fs.mkdirSync(store.dir, { recursive: true, mode: 0o700 });
        removePartials(store.dir, t.name);
      } else await removeUnrecorded(store, t.name);
      const stamp = timestamp(new Date(t.now()));
      const version = await t.run([pgDump, '--version'], { timeoutMs: 10_000, env: baseEnv(t.env) });
      const serverVersion = await withClient(t.primary, async (c) => (await c.query(`SHOW server_version`)).rows[0].server_version as string);

      return withKeepalive(async (beat) => {
        const files: BackupFile[] = [];
        const sourceCounts = new Map<string, Map<string, number>>();
        let done = 0;
        try {
          for (const db of t.databases) {
            const name = `backup_pre_reset_${t.name}_${stamp}${db.name === 'primary' ? '' : `.${db.name}`}.dump`;
            const onBytes = (bytes: number) => {
              beat({ unit: 'bytes', done: done + bytes });
              crashPoint('backup.streaming');
            };
            // With a drill, the dump reads the snapshot in which the source's tables are counted.
            const snapshotted = <T>(dump: (extra: string[]) => Promise<T>): Promise<T> =>
              drill
                ? withSourceSnapshot(db, dump).then((r) => {
                    sourceCounts.set(db.name, r.counts);
                    return r.dumped;
                  })
                : dump([]);
            if (store instanceof S3Store) {
              const dumped = await snapshotted((extra) => dumpToS3(pgDump, db, store, name, onBytes, extra));
              done += dumped.bytes;
              const tocEntries = await checkS3Archive(pgRestore, store, name, db, dumped);
              const where = store.describe(name);
              files.push({
                database: db.name,
                path: `s3://${where.bucket}/${where.key}`,
                location: { ...where, ...(store.dest.region ? { region: store.dest.region } : {}), ...(store.dest.endpoint ? { endpoint: store.dest.endpoint } : {}) },
                bytes: dumped.bytes,
                sha256: dumped.sha256,
                tocEntries,
              });
            } else {
              const file = path.join(store.dir, name);
              const dumped = await snapshotted((extra) => dumpTo(pgDump, db, file, onBytes, extra));
              done += dumped.bytes;
              const tocEntries = await checkArchive(pgRestore, file, db);
              fs.renameSync(`${file}.partial`, file);
              files.push({ database: db.name, path: file, location: { kind: 'local', path: file, host: t.hostname() }, bytes: dumped.bytes, sha256: dumped.sha256, tocEntries });
            }
          }
        } catch (err) {
          // A cancelled backup leaves no file behind: not even the whole dump of a first database,
          // which no run records and which would pass for a complete backup.
          if (cancellation()?.aborted) {
            if (store instanceof S3Store) await store.remove(files.map((f) => path.posix.basename(f.path))).catch(() => undefined);
            else for (const f of files) fs.rmSync(f.path, { force: true });
          }
          throw err;
        }
        const record: BackupRecord = { files, serverVersion, pgDumpVersion: version.output.trim(), createdAt: new Date(t.now()).toISOString() };
        // Before the S3 record is written and before retention runs: a backup the drill cannot restore
        // is no backup, and must not push a good one out.
        if (drill) {
          try {
            record.drill = await drillAll(t, files, sourceCounts, pgRestore, (n) => beat({ unit: 'bytes', done: n }));
          } catch (err) {
            if (store instanceof S3Store) await store.remove(files.map((f) => path.posix.basename(f.path))).catch(() => undefined);
            else for (const f of files) fs.rmSync(f.path, { force: true });
            if (!(err instanceof ApplicationFailure)) throw err;
            throw ApplicationFailure.create({
              message: `${err.message} This backup's files were removed: a retry of the step takes a new one.`,
              type: err.type ?? undefined,
              nonRetryable: err.nonRetryable ?? undefined,
            });
          }
        }
        if (store instanceof S3Store) await store.writeText(recordName(t.name, stamp), JSON.stringify(record));
        else fsyncDir(store.dir);
        await pruneOldBackups(store, t.name, keep);
        crashPoint('backup.done');
        return record;
      });
    },
  };
}

// Moved to lib/child-env.ts with the other child environments; restore.ts imports it from here.
export { libpqEnv } from './lib/child-env';

/**
 * Runs pg_dump into `<file>.partial`. On cancellation pg_dump is killed with its process group (its
 * server session ends when the socket closes), the partial file is removed, and the activity's
 * CancelledFailure is thrown once pg_dump is gone.
 */
async function dumpTo(pgDump: string, db: DatabaseHandle, file: string, onBytes: (n: number) => void, extra: string[] = []): Promise<{ bytes: number; sha256: string }> {
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
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')));
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
    throw new Error(`pg_dump of database "${db.name}" exited with code ${code}: ${redact(stderr.trim(), [db.url])}`);
  }
  const fd = fs.openSync(partial, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return { bytes, sha256: hash.digest('hex') };
}

/** `pg_restore --list` reads the whole archive's table of contents: a truncated or corrupt file fails here. */
/** Counts the entries `pg_restore --list` prints (lines "<id>; …"), and keeps the tail of its errors. */
function readToc(child: ChildProcess): { entries: () => number; stderr: () => string } {
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

function checkArchive(pgRestore: string, file: string, db: DatabaseHandle): Promise<number> {
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
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'BackupFailed')));
    child.on('close', (code) => {
      cancel?.removeEventListener('abort', onCancel);
      if (cancel?.aborted) {
        fs.rmSync(`${file}.partial`, { force: true });
        return reject(cancelledFailure(cancel));
      }
      if (code === 0 && toc.entries() > 0) return resolve(toc.entries());
      fs.rmSync(`${file}.partial`, { force: true });
      reject(new Error(`pg_restore --list rejected the dump of database "${db.name}" (exit ${code}): ${toc.stderr().trim() || 'no entries'}`));
    });
  });
}

export function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/**
 * A concurrent reset of the same target is impossible (one workflow id per target), so its partials
 * are ours. Matched by the whole name (stamp and all), not a prefix: target "demo" must not take
 * "demo_2"'s partial file, written by another run at this very moment.
 */
function removePartials(dir: string, target: string): void {
  const re = new RegExp(`^backup_pre_reset_${escapeRe(target)}_\\d{8}-\\d{6}(\\.[^/]+)?\\.dump\\.partial$`);
  for (const f of fs.readdirSync(dir)) if (re.test(f)) fs.rmSync(path.join(dir, f), { force: true });
}

const escapeRe = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const stampRe = (target: string) => new RegExp(`^backup_pre_reset_${escapeRe(target)}_(\\d{8}-\\d{6})(\\.[a-z0-9_-]+)?\\.(dump|json)$`);

/** The S3 backup's record: written last, it is what makes the dumps of a stamp a backup. */
function recordName(target: string, stamp: string): string {
  return `backup_pre_reset_${target}_${stamp}.json`;
}

/** Dumps in the bucket that no record vouches for: left by a run killed between upload and check. */
async function removeUnrecorded(store: S3Store, target: string): Promise<void> {
  const re = stampRe(target);
  const items = await store.list(`backup_pre_reset_${target}_`);
  const recorded = new Set(
    items
      .map((i) => re.exec(i.name))
      .filter((m) => m?.[3] === 'json')
      .map((m) => m![1]),
  );
  await store.remove(items.filter((i) => re.exec(i.name)?.[3] === 'dump' && !recorded.has(re.exec(i.name)![1])).map((i) => i.name));
}

/**
 * Keeps the newest `keep` backups of the target, and with them the run state that belongs to them: a
 * run writes its purge manifest and journal after taking its backup (runs of a target never overlap),
 * so the state stored before the oldest kept backup belongs to runs whose backups are gone. Both
 * times come from the same store's clock (file mtimes, or S3's LastModified).
 */
export async function pruneOldBackups(store: BackupStore, target: string, keep: number): Promise<void> {
  const re = stampRe(target);
  const items = await store.list(`backup_pre_reset_${target}_`);
  // A backup is complete when its dump is renamed into place (local) or its record written (S3).
  const complete = store.kind === 's3' ? 'json' : 'dump';
  const stamps = [
    ...new Set(
      items
        .map((i) => re.exec(i.name))
        .filter((m) => m?.[3] === complete)
        .map((m) => m![1]),
    ),
  ].sort();
  const kept = new Set(stamps.slice(-keep));
  const drop = items.filter((i) => {
    const m = re.exec(i.name);
    return m && stamps.includes(m[1]) && !kept.has(m[1]);
  });
  await store.remove(drop.map((i) => i.name));
  const keptItems = items.filter((i) => kept.has(re.exec(i.name)?.[1] ?? '') && re.exec(i.name)?.[3] === complete);
  if (keptItems.length === 0) return;
  const oldestKept = Math.min(...keptItems.map((i) => i.modified.getTime()));
  const runState = new RegExp(`^(${MANIFEST_PREFIX}|${PURGE_PROGRESS_PREFIX}|${JOURNAL_PREFIX})${escapeRe(target)}_[0-9a-f-]+\\.json$`);
  const listed = await Promise.all([MANIFEST_PREFIX, PURGE_PROGRESS_PREFIX, JOURNAL_PREFIX].map((p) => store.list(p + target + '_')));
  const stale = listed.flat().filter((i) => runState.test(i.name) && i.modified.getTime() < oldestKept);
  await store.remove(stale.map((i) => i.name));
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const PART_BYTES = 8 * 1024 * 1024;

/**
 * Streams pg_dump into a multipart upload: at most one part being filled and one being sent, so the
 * worker's memory does not grow with the dump. A failure or cancellation kills pg_dump and aborts the
 * upload (no object appears); the object is complete only once CompleteMultipartUpload succeeds.
 */
async function dumpToS3(pgDump: string, db: DatabaseHandle, store: S3Store, name: string, onBytes: (n: number) => void, extra: string[] = []): Promise<{ bytes: number; sha256: string }> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const { bucket } = store.dest;
  const Key = store.key(name);
  const created = await store.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType: 'application/octet-stream', ...store.encryption }));
  const UploadId = created.UploadId!;
  const child = spawnGuarded(pgDump, ['-Fc', '--no-password', ...extra], { env: libpqEnv(db.url) });
  const onCancel = () => killGroup(child);
  cancel?.addEventListener('abort', onCancel, { once: true });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4096)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgDump}: ${err.message}`, 'BackupFailed')));
    child.on('close', resolve);
  });
  exited.catch(() => undefined);
  const hash = createHash('sha256');
  const parts: { PartNumber: number; ETag: string }[] = [];
  let bytes = 0;
  // Two part buffers, allocated once and taking turns (one filling, one on the wire): the memory a
  // backup takes is the same for 10 MB and for 1 TB.
  const buffers = [Buffer.allocUnsafe(PART_BYTES), Buffer.allocUnsafe(PART_BYTES)];
  let current = 0;
  let filled = 0;
  let inflight: Promise<void> = Promise.resolve();
  const send = async (PartNumber: number, Body: Buffer) => {
    await inflight; // one part on the wire at a time; after this the other buffer is free again
    const p = store.s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body, ContentLength: Body.length })).then((r) => {
      parts.push({ PartNumber, ETag: r.ETag! });
    });
    p.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    inflight = p;
  };
  const sendFilled = async () => {
    const body = buffers[current].subarray(0, filled);
    current = 1 - current;
    filled = 0;
    await send(partNumber++, body);
  };
  let partNumber = 1;
  try {
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(bytes);
      for (let at = 0; at < chunk.length;) {
        const n = chunk.copy(buffers[current], filled, at);
        filled += n;
        at += n;
        if (filled === PART_BYTES) await sendFilled();
      }
    }
    const code = await exited;
    if (cancel?.aborted) throw cancelledFailure(cancel);
    if (code !== 0) throw new Error(`pg_dump of database "${db.name}" exited with code ${code}: ${redact(stderr.trim(), [db.url])}`);
    if (filled > 0 || partNumber === 1) await sendFilled();
    await inflight;
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await store.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    killGroup(child);
    await store.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })).catch(() => undefined);
    if (cancel?.aborted) throw cancelledFailure(cancel);
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Reads the uploaded object back from the bucket, once: through SHA-256 (it must equal what pg_dump
 * wrote) and into `pg_restore --list` on its standard input (the archive's table of contents must be
 * readable). A mismatch removes the object: a backup that cannot be trusted is no backup.
 */
async function checkS3Archive(pgRestore: string, store: S3Store, name: string, db: DatabaseHandle, expected: { bytes: number; sha256: string }): Promise<number> {
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const got = await store.s3.send(new GetObjectCommand({ Bucket: store.dest.bucket, Key: store.key(name) }));
  const body = got.Body as Readable;
  // pg_restore needs no secret and no environment but PATH/locale: it reads the archive only.
  // Guarded like every child: it dies with the worker; the basics only for its environment.
  const child = spawnGuarded(pgRestore, ['--list'], { env: baseEnv(process.env), stdin: true });
  const onCancel = () => {
    killGroup(child);
    body.destroy();
  };
  cancel?.addEventListener('abort', onCancel, { once: true });
  const toc = readToc(child);
  // pg_restore --list stops reading after the table of contents: the rest still goes through the hash.
  let stdinOpen = true;
  child.stdin!.on('error', () => (stdinOpen = false));
  child.stdin!.on('close', () => (stdinOpen = false));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(ApplicationFailure.nonRetryable(`cannot run ${pgRestore}: ${err.message}`, 'BackupFailed')));
    child.on('close', resolve);
  });
  exited.catch(() => undefined);
  const hash = createHash('sha256');
  let bytes = 0;
  let code: number | null;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (stdinOpen && !child.stdin!.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            child.stdin!.off('drain', done).off('close', done);
            resolve();
          };
          child.stdin!.on('drain', done).on('close', done);
        });
      }
    }
    if (stdinOpen) child.stdin!.end();
    code = await exited;
  } catch (err) {
    killGroup(child);
    if (cancel?.aborted) throw cancelledFailure(cancel);
    throw err;
  } finally {
    cancel?.removeEventListener('abort', onCancel);
  }
  if (cancel?.aborted) throw cancelledFailure(cancel);
  const sha256 = hash.digest('hex');
  const where = `s3://${store.dest.bucket}/${store.key(name)}`;
  if (bytes !== expected.bytes || sha256 !== expected.sha256) {
    await store.remove([name]).catch(() => undefined);
    throw new Error(
      `the uploaded dump of database "${db.name}" (${where}) reads back as ${bytes} bytes, SHA-256 ${sha256}; pg_dump wrote ${expected.bytes} bytes, SHA-256 ${expected.sha256}. The object was removed; retry takes a new backup.`,
    );
  }
  if (code !== 0 || toc.entries() === 0) {
    await store.remove([name]).catch(() => undefined);
    throw new Error(`pg_restore --list rejected the uploaded dump of database "${db.name}" (${where}, exit ${code}): ${toc.stderr().trim() || 'no entries'}`);
  }
  return toc.entries();
}
