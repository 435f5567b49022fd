/**
 * Step 1 — backup. `pg_dump -Fc` of every database the reset will touch, with its SHA-256, to one of
 * two destinations (lib/backup-destination.ts, one path for both):
 * - local (backup.dir): written by pg_dump to `<name>.partial`, synced, read back through SHA-256,
 *   checked with `pg_restore --list`, and only then renamed to its final name: a file that looks whole
 *   is whole.
 * - S3 (backup.destination): streamed as a multipart upload (one part buffered, one in flight: memory
 *   stays flat whatever the dump's size), then read back from the bucket through SHA-256 and
 *   `pg_restore --list`; only when every file checks out is the backup's record object written,
 *   and a dump without a record is no backup (removed by the next run).
 * Retention (lib/retention.ts) keeps the newest backup.keep backups of the target, and prunes the
 * purge manifests and reset journals of the runs whose backups it removes. Running pg_dump and
 * checking its archive: lib/pg-dump.ts (local) and lib/pg-dump-s3.ts (S3).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { BackupFile, BackupRecord } from '../contract';
import { backupDestination } from './lib/backup-destination';
import { baseEnv } from './lib/child-env';
import { drillAll } from './lib/drill-all';
import { withSourceSnapshot } from './lib/drill';
import { crashPoint } from './lib/faults';
import { cancellation, withKeepalive } from './lib/keepalive';
import { withClient } from './lib/postgres';
import { pruneOldBackups } from './lib/retention';
import { resolveTarget, type ActivityDeps } from './lib/target';

/** How often the dump's progress goes out as a heartbeat (the keepalive's timer sends the latest figure too). */
const PROGRESS_EVERY_MS = 250;

export function createBackupActivities(deps: ActivityDeps) {
  return {
    /** verify: the targets file's backup.verify unless given (the drill workflow asks for "restore"). */
    async backupDatabase(args: { target: string; verify?: 'list' | 'restore' }): Promise<BackupRecord> {
      const t = resolveTarget(deps, args.target);
      const drill = (args.verify ?? t.config.backup.verify) === 'restore';
      const keep = t.config.backup.keep;
      const pgDump = t.config.backup.pgDump ?? 'pg_dump';
      const pgRestore = t.config.backup.pgRestore ?? 'pg_restore';
      const dest = backupDestination(t, pgDump, pgRestore);
      const stamp = timestamp(new Date(t.now()));
      // Independent preliminaries, at once: each is a round trip (a folder, a process, a connection).
      const [, version, serverVersion] = await Promise.all([
        dest.clearLeftovers(),
        t.run([pgDump, '--version'], { timeoutMs: 10_000, env: baseEnv(t.env) }),
        withClient(t.primary, async (c) => (await c.query(`SHOW server_version`)).rows[0].server_version as string),
      ]);

      return withKeepalive(async (beat) => {
        const files: BackupFile[] = [];
        const sourceCounts = new Map<string, Map<string, number>>();
        let done = 0;
        try {
          for (const db of t.databases) {
            const name = `backup_pre_reset_${t.name}_${stamp}${db.name === 'primary' ? '' : `.${db.name}`}.dump`;
            // An S3 dump calls this for every chunk it uploads (64 KiB): a heartbeat each time would be encoded
            // and handed to the SDK's core thousands of times a second, only for the core to throttle them
            // away. Every figure is recorded; one goes out at most every PROGRESS_EVERY_MS (the timer sends the latest).
            let beatAt = 0;
            const onBytes = (bytes: number) => {
              const now = Date.now();
              const send = now - beatAt >= PROGRESS_EVERY_MS;
              if (send) beatAt = now;
              beat({ unit: 'bytes', done: done + bytes }, { send });
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
            const dumped = await snapshotted((extra) => dest.dump(db, name, onBytes, extra));
            done += dumped.bytes;
            files.push(await dest.check(db, name, dumped));
          }
        } catch (err) {
          // A cancelled backup leaves no file behind: not even the whole dump of a first database,
          // which no run records and which would pass for a complete backup.
          if (cancellation()?.aborted) await dest.remove(files);
          throw err;
        }
        const record: BackupRecord = {
          files,
          serverVersion,
          pgDumpVersion: version.output.trim(),
          createdAt: new Date(t.now()).toISOString(),
        };
        // Before the S3 record is written and before retention runs: a backup the drill cannot restore
        // is no backup, and must not push a good one out.
        if (drill) {
          try {
            record.drill = await drillAll(t, files, sourceCounts, pgRestore, (n) => beat({ unit: 'bytes', done: n }));
          } catch (err) {
            await dest.remove(files);
            if (!(err instanceof ApplicationFailure)) throw err;
            throw ApplicationFailure.create({
              message: `${err.message} This backup's files were removed: a retry of the step takes a new one.`,
              type: err.type ?? undefined,
              nonRetryable: err.nonRetryable ?? undefined,
            });
          }
        }
        await dest.seal(stamp, record);
        await pruneOldBackups(dest.store, t.name, keep);
        crashPoint('backup.done');
        return record;
      });
    },
  };
}

// Moved to lib/child-env.ts with the other child environments; restore/load.ts imports it from here.
export { libpqEnv } from './lib/child-env';

/** The stamp in backup file names: UTC, and sorting as text sorts by time (retention relies on it). */
export function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}
