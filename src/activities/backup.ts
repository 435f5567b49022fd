/**
 * Step 1 — backup. `pg_dump -Fc` of every database the reset will touch, streamed with its SHA-256
 * computed on the way, to one of two destinations (lib/backup-store.ts):
 * - local (backup.dir): written to `<name>.partial`, checked with `pg_restore --list`, and only then
 *   renamed to its final name: a file that looks whole is whole.
 * - S3 (backup.destination): streamed as a multipart upload (one part buffered, one in flight: memory
 *   stays flat whatever the dump's size), then read back from the bucket through SHA-256 and
 *   `pg_restore --list`; only when every file checks out is the backup's record object written,
 *   and a dump without a record is no backup (removed by the next run).
 * Retention (lib/retention.ts) keeps the newest backup.keep backups of the target, and prunes the
 * purge manifests and reset journals of the runs whose backups it removes. Running pg_dump and
 * checking its archive: lib/pg-dump.ts (local) and lib/pg-dump-s3.ts (S3).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupFile, BackupRecord } from '../workflows/definitions';
import { backupStoreFor, LocalStore, S3Store } from './lib/backup-store';
import { baseEnv } from './lib/child-env';
import { drillAll } from './lib/drill-all';
import { withSourceSnapshot } from './lib/drill';
import { crashPoint } from './lib/faults';
import { cancellation, withKeepalive } from './lib/keepalive';
import { checkArchive, dumpTo } from './lib/pg-dump';
import { checkS3Archive, dumpToS3 } from './lib/pg-dump-s3';
import { withClient } from './lib/postgres';
import { pruneOldBackups, recordName, removePartials, removeUnrecorded } from './lib/retention';
import { resolveTarget, type ActivityDeps } from './lib/target';

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
          if (cancellation()?.aborted) await removeFiles(store, files);
          throw err;
        }
        const record: BackupRecord = { files, serverVersion, pgDumpVersion: version.output.trim(), createdAt: new Date(t.now()).toISOString() };
        // Before the S3 record is written and before retention runs: a backup the drill cannot restore
        // is no backup, and must not push a good one out.
        if (drill) {
          try {
            record.drill = await drillAll(t, files, sourceCounts, pgRestore, (n) => beat({ unit: 'bytes', done: n }));
          } catch (err) {
            await removeFiles(store, files);
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

/** The stamp in backup file names: UTC, and sorting as text sorts by time (retention relies on it). */
export function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes this backup's files: a cancelled or undrillable backup must not pass for a complete one. */
async function removeFiles(store: LocalStore | S3Store, files: BackupFile[]): Promise<void> {
  if (store instanceof S3Store) await store.remove(files.map((f) => path.posix.basename(f.path))).catch(() => undefined);
  else for (const f of files) fs.rmSync(f.path, { force: true });
}
