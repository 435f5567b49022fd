/**
 * The backup step's one path for both kinds of store (backup-store.ts): each destination knows how a
 * dump reaches it, how it is checked and made final, and what makes a set of dumps a backup. The
 * step (../backup.ts) runs the same sequence whatever the store.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackupDestination } from './backup-destination-types';
import { backupStoreFor, LocalStore, S3Store } from './backup-store';
import { checkArchive, dumpTo } from './pg-dump';
import { fsyncDir, localDirDestination, s3DirDestination, s3Location } from './backup-destination-dir';
import { checkS3Archive, dumpToS3 } from './pg-dump-s3';
import { recordName, removePartials, removeUnrecorded } from './retention';
import type { ResolvedTarget } from './target';

export function backupDestination(t: ResolvedTarget, pgDump: string, pgRestore: string): BackupDestination {
  const store = backupStoreFor(t.config.backup, t.s3);
  // backup.jobs > 1: pg_dump -Fd -j N (backup-destination-dir.ts); 1 keeps the single -Fc file.
  const jobs = t.config.backup.jobs ?? 1;
  if (jobs > 1)
    return store instanceof S3Store
      ? s3DirDestination(t, store, pgDump, pgRestore, jobs)
      : localDirDestination(t, store, pgDump, pgRestore, jobs);
  return store instanceof S3Store
    ? s3Destination(t, store, pgDump, pgRestore)
    : localDestination(t, store, pgDump, pgRestore);
}

/** Written to `<name>.partial`, checked, and only then renamed: a file that looks whole is whole. */
function localDestination(t: ResolvedTarget, store: LocalStore, pgDump: string, pgRestore: string): BackupDestination {
  return {
    store,
    async clearLeftovers() {
      fs.mkdirSync(store.dir, { recursive: true, mode: 0o700 });
      removePartials(store.dir, t.name);
    },
    dump: (db, name, onBytes, extra) => dumpTo(pgDump, db, path.join(store.dir, name), onBytes, extra),
    async check(db, name, dumped) {
      const file = path.join(store.dir, name);
      const tocEntries = await checkArchive(pgRestore, file, db);
      fs.renameSync(`${file}.partial`, file);
      return {
        database: db.name,
        path: file,
        location: { kind: 'local', path: file, host: t.hostname() },
        bytes: dumped.bytes,
        sha256: dumped.sha256,
        tocEntries,
      };
    },
    async remove(files) {
      for (const f of files) fs.rmSync(f.path, { force: true });
    },
    async seal() {
      fsyncDir(store.dir);
    },
  };
}

/** Streamed as a multipart upload and read back; the record object, written last, makes it a backup. */
function s3Destination(t: ResolvedTarget, store: S3Store, pgDump: string, pgRestore: string): BackupDestination {
  return {
    store,
    clearLeftovers: () => removeUnrecorded(store, t.name),
    dump: (db, name, onBytes, extra) => dumpToS3(pgDump, db, store, name, onBytes, extra),
    async check(db, name, dumped) {
      const tocEntries = await checkS3Archive(pgRestore, store, name, db, dumped);
      const where = store.describe(name);
      return {
        database: db.name,
        path: `s3://${where.bucket}/${where.key}`,
        location: s3Location(store, name),
        bytes: dumped.bytes,
        sha256: dumped.sha256,
        tocEntries,
      };
    },
    async remove(files) {
      await store.remove(files.map((f) => path.posix.basename(f.path))).catch(() => undefined);
    },
    seal: (stamp, record) => store.writeText(recordName(t.name, stamp), JSON.stringify(record)),
  };
}
