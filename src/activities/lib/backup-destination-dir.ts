/**
 * The two destinations of a parallel backup (backup.jobs > 1, `pg_dump -Fd -j N`), beside the single
 * -Fc file's in backup-destination.ts, with the same guarantees:
 * - local: the folder is dumped as `<name>.partial`, checked with `pg_restore --list`, hashed (its
 *   canonical tar, dump-tar.ts), and only then renamed to `<name>`: a folder that looks whole is whole.
 * - S3: the folder is dumped into a scratch folder beside the local backups (backup.dir, else TMPDIR),
 *   streamed into ONE tar object, removed, and the object read back (checkS3Dir); the record object,
 *   written last, still makes it a backup. The scratch folder needs room for one database's dump.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupFile } from '../../contract';
import type { BackupDestination } from './backup-destination-types';
import type { LocalStore, S3Store } from './backup-store';
import { dumpDir, hashDir, listEntries } from './pg-dump-dir';
import { checkS3Dir, uploadDir } from './pg-dump-dir-s3';
import { recordName, removePartials, removeUnrecorded } from './retention';
import type { ResolvedTarget } from './target';

export function localDirDestination(
  t: ResolvedTarget,
  store: LocalStore,
  pgDump: string,
  pgRestore: string,
  jobs: number,
): BackupDestination {
  return {
    store,
    async clearLeftovers() {
      fs.mkdirSync(store.dir, { recursive: true, mode: 0o700 });
      removePartials(store.dir, t.name);
    },
    async dump(db, name, onBytes, extra) {
      const partial = path.join(store.dir, `${name}.partial`);
      fs.rmSync(partial, { recursive: true, force: true });
      await dumpDir(pgDump, db, partial, jobs, onBytes, extra);
      try {
        return await hashDir(partial);
      } catch (err) {
        fs.rmSync(partial, { recursive: true, force: true });
        throw err;
      }
    },
    async check(db, name, dumped) {
      const dir = path.join(store.dir, name);
      try {
        const tocEntries = await listEntries(pgRestore, `${dir}.partial`, `the dump of database "${db.name}"`);
        fsyncFolder(`${dir}.partial`);
        fs.renameSync(`${dir}.partial`, dir);
        return {
          database: db.name,
          path: dir,
          location: { kind: 'local', path: dir, host: t.hostname() },
          format: 'directory',
          jobs,
          bytes: dumped.bytes,
          sha256: dumped.sha256,
          tocEntries,
        };
      } catch (err) {
        fs.rmSync(`${dir}.partial`, { recursive: true, force: true });
        throw err;
      }
    },
    async remove(files) {
      for (const f of files) fs.rmSync(f.path, { recursive: true, force: true });
    },
    async seal() {
      fsyncDir(store.dir);
    },
  };
}

export function s3DirDestination(
  t: ResolvedTarget,
  store: S3Store,
  pgDump: string,
  pgRestore: string,
  jobs: number,
): BackupDestination {
  const parent = t.config.backup.dir ?? os.tmpdir();
  const prefix = `rr-dump-${t.name}-`;
  return {
    store,
    async clearLeftovers() {
      await removeUnrecorded(store, t.name);
      // A worker killed mid-backup left its scratch folder: backups of one target never overlap.
      if (fs.existsSync(parent))
        for (const d of fs.readdirSync(parent))
          if (d.startsWith(prefix)) fs.rmSync(path.join(parent, d), { recursive: true, force: true });
    },
    async dump(db, name, onBytes, extra) {
      fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
      const scratch = fs.mkdtempSync(path.join(parent, prefix));
      try {
        const dir = path.join(scratch, 'dump');
        let dumpedBytes = 0;
        await dumpDir(pgDump, db, dir, jobs, (n) => onBytes((dumpedBytes = n)), extra);
        // Progress keeps growing through the upload: the folder's bytes, then the tar's on their way out.
        return await uploadDir(store, name, dir, (n) => onBytes(dumpedBytes + n));
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    },
    async check(db, name, dumped) {
      fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
      const tocEntries = await checkS3Dir(pgRestore, store, name, db, dumped, parent);
      const where = store.describe(name);
      return {
        database: db.name,
        path: `s3://${where.bucket}/${where.key}`,
        location: s3Location(store, name),
        format: 'directory',
        jobs,
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

/** An S3 backup file's recorded place: bucket and key, and the region and endpoint it was written through. */
export function s3Location(store: S3Store, name: string): NonNullable<BackupFile['location']> {
  return {
    ...store.describe(name),
    ...(store.dest.region ? { region: store.dest.region } : {}),
    ...(store.dest.endpoint ? { endpoint: store.dest.endpoint } : {}),
  };
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every file of a dump folder, then the folder itself: on disk before the rename makes it a backup. */
function fsyncFolder(dir: string): void {
  for (const n of fs.readdirSync(dir)) fsyncDir(path.join(dir, n));
  fsyncDir(dir);
}
