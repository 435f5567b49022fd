/** The restore drill of every file of a fresh backup (drill.ts), each from a checked local copy. */
import type { BackupFile, DrillReport } from '../../contract';
import { verifiedLocalCopy } from './backup-source';
import { restoreDrill } from './drill';
import { databaseByName, type ResolvedTarget } from './target';

export async function drillAll(
  t: ResolvedTarget,
  files: BackupFile[],
  source: Map<string, Map<string, number>>,
  pgRestore: string,
  onBytes: (n: number) => void,
): Promise<DrillReport> {
  const databases = [];
  for (const f of files) {
    const counts = source.get(f.database);
    if (!counts)
      throw new Error(
        `no source counts for database "${f.database}" of target "${t.name}": the dump did not run under the drill's snapshot`,
      );
    // The very bytes a restore would read: an S3 object is downloaded and checked as the restore does it.
    const archive = await verifiedLocalCopy(t, f, onBytes);
    try {
      databases.push(await restoreDrill(t.name, databaseByName(t, f.database), archive, counts, pgRestore));
    } finally {
      archive.release();
    }
  }
  return {
    databases,
    tables: databases.reduce((a, d) => a + d.tables.length, 0),
    rows: databases.reduce((a, d) => a + d.rows, 0),
    equal: true,
  };
}
