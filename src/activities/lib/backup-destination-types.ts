/** What a backup destination does (backup-destination.ts for a -Fc file, backup-destination-dir.ts for a -Fd folder). */
import type { BackupFile, BackupRecord } from '../../contract';
import type { LocalStore, S3Store } from './backup-store';
import type { DatabaseHandle } from './target';

export interface Dumped {
  bytes: number;
  sha256: string;
}

export interface BackupDestination {
  readonly store: LocalStore | S3Store;
  /** Before a backup: what an interrupted one left goes (local partial files, S3 dumps without a record). */
  clearLeftovers(): Promise<void>;
  /** pg_dump of `db` into the item `name`; `extra`: pg_dump's options (a drill's snapshot). */
  dump(db: DatabaseHandle, name: string, onBytes: (n: number) => void, extra: string[]): Promise<Dumped>;
  /** `pg_restore --list` over the dump (a bad one is removed and refused); the file's entry of the record. */
  check(db: DatabaseHandle, name: string, dumped: Dumped): Promise<BackupFile>;
  /** Removes the backup's files: a cancelled or undrillable backup must not pass for a complete one. */
  remove(files: BackupFile[]): Promise<void>;
  /** After every check: what makes the dumps a backup (S3: the record object; local: the folder synced). */
  seal(stamp: string, record: BackupRecord): Promise<void>;
}
