/**
 * Undo a reset: restore the backup a reset run took, in one transaction per database.
 *
 * Why a data-only restore of the truncated tables (after a TRUNCATE in the same transaction) and not
 * `pg_restore --clean --single-transaction`: the reset changed exactly the truncated tables (and
 * their sequences), so the undo touches exactly those. --clean would drop and recreate every object
 * of the database — the kept tables, schema_migrations, anything a migration changed since the
 * backup — and reorder nothing the reset did. The price is foreign keys: a full archive's data is not
 * in dependency order (pg_dump sorts it only for data-only dumps), and disabling the FK triggers needs
 * a superuser. So the transaction drops the foreign keys that touch the truncated tables, TRUNCATEs
 * them, COPYs the backup's rows and sets their sequences (pg_restore --data-only, filtered to the
 * TABLE DATA of the tables and their partitions and the SEQUENCE SET of their owned sequences: toc.ts),
 * checks that every table holds exactly the rows pg_restore streamed (copy-stream.ts), then adds the
 * foreign keys back, which checks every row. Any error, a short load, or a worker killed midway rolls
 * the whole database back to where it was.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { libpqEnv } from '../backup';
import type { LocalArchive } from '../lib/backup-source';
import { crashPoint } from '../lib/faults';
import { cancellation, cancelledFailure, throwIfCancelled } from '../lib/keepalive';
import { materializedViewsOver, refreshMaterializedView } from '../lib/matviews';
import { withClient } from '../lib/postgres';
import { killGroup, spawnGuarded } from '../lib/shell';
import { type TableDecision } from '../lib/tables';
import { type DatabaseHandle, type ResolvedTarget } from '../lib/target';
import { CopyCounter } from './copy-stream';
import { loadFailure, streamGaps, tocRefusal } from './load-checks';
import { CLAIMS_AT_BACKUP, footer, header, queueOf, REQUEUED, rowsByTable } from './load-script';
import { addForeignKey, dropForeignKey, isLiveQueueTable, readCatalog } from './relations';
import { selectEntries } from './toc';

/** psql beside pg_restore when that is a path (same PostgreSQL installation), else from PATH. */
function psqlFor(pgRestore: string): string {
  return pgRestore.includes('/') ? path.join(path.dirname(pgRestore), 'psql') : 'psql';
}

export interface LoadResult {
  /** Rows the backup held per restored table (schema.table), checked in the transaction before its COMMIT. */
  rows: Record<string, number>;
  /** Jobs claimed by a worker when the backup was taken, put back as ready executions. */
  requeued: number;
}

/** Test seams: change the archive entries chosen, or the row counts the transaction expects. */
export interface LoadSeams {
  entries?: (lines: string[]) => string[];
  streamed?: (rows: Map<string, number>) => void;
}

/** `src`: the backup as a checked, seekable file (backup-source.ts verifiedLocalCopy). */
export async function restoreInOneTransaction(
  t: ResolvedTarget,
  db: DatabaseHandle,
  src: LocalArchive,
  d: TableDecision,
  onBytes: (n: number) => void,
  seams: LoadSeams = {},
): Promise<LoadResult> {
  const pgRestore = t.config.backup.pgRestore ?? 'pg_restore';
  const restored = d.truncate.filter((x) => !isLiveQueueTable(x));
  const live = d.truncate.filter(isLiveQueueTable);
  const queue = queueOf(restored, live);
  const cat = await withClient(db, (c) => readCatalog(c, restored));
  // The backup's claims are read too, but into a temporary table, never into the live one (see requeueClaims).
  const claims = queue ? (await withClient(db, (c) => readCatalog(c, [queue.claimed]))).relations : [];
  const claimsKey = queue && `${queue.claimed.schema}.${queue.claimed.table}`;
  const relations = [...cat.relations, ...claims];
  const sequences = cat.sequences;
  const where = `${src.where} into database "${db.name}" of target "${t.name}"`;
  const toc = await collect(pgRestore, ['--list', src.path], db);
  const sel = selectEntries(toc, relations, sequences);
  const refused = tocRefusal(sel, where, src.where);
  if (refused) throw refused;
  const lines = seams.entries ? seams.entries(sel.lines) : sel.lines;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-restore-'));
  const listFile = path.join(tmp, 'toc.list');
  fs.writeFileSync(listFile, lines.join('\n') + '\n', { mode: 0o600 });
  const lockMs = Math.round(t.config.timing.lockTimeoutSeconds * 1000);
  const script = header(lockMs, queue, cat.foreignKeys.map(dropForeignKey), restored);
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const env = libpqEnv(db.url);
  const psql = spawnGuarded(psqlFor(pgRestore), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { env, stdin: true });
  const restore = spawnGuarded(pgRestore, ['--data-only', '--no-owner', '-L', listFile, '-f', '-', src.path], { env });
  const counter = new CopyCounter(claimsKey ? new Map([[claimsKey, CLAIMS_AT_BACKUP]]) : new Map());
  const kill = () => {
    killGroup(restore);
    killGroup(psql);
  };
  cancel?.addEventListener('abort', kill, { once: true });
  let psqlOut = '';
  let restoreErr = '';
  psql.stdout!.on('data', (b: Buffer) => (psqlOut = (psqlOut + b.toString()).slice(-4096)));
  psql.stderr!.on('data', (b: Buffer) => (psqlOut = (psqlOut + b.toString()).slice(-4096)));
  restore.stderr!.on('data', (b: Buffer) => (restoreErr = (restoreErr + b.toString()).slice(-4096)));
  psql.stdin!.on('error', () => undefined); // psql stopped at an error: its exit code says so
  const psqlExit = new Promise<number | null>((resolve) => psql.on('close', resolve).on('error', () => resolve(127)));
  let restoreRunning = true;
  const restoreExit = new Promise<number | null>((resolve) =>
    restore.on('close', resolve).on('error', () => resolve(127)),
  ).finally(() => (restoreRunning = false));
  const streamed = new Promise<void>((resolve) => counter.on('end', resolve));
  // psql stopped at an error: pg_restore, writing into a pipe no one reads any more, would wait forever.
  psql.on('close', () => restoreRunning && killGroup(restore));
  const secrets = [db.url];
  try {
    psql.stdin!.write(script);
    let bytes = 0;
    restore.stdout!.on('data', (b: Buffer) => {
      bytes += b.length;
      onBytes(bytes);
      // Rows are on their way into the open transaction: a crash here must roll it all back.
      crashPoint('restore.loading');
    });
    restore.stdout!.pipe(counter).pipe(psql.stdin!, { end: false });
    const rc = await restoreExit;
    if (rc === 0) await Promise.race([streamed, psqlExit]);
    seams.streamed?.(counter.rows);
    const gaps = rc === 0 && !cancel?.aborted ? streamGaps(counter, relations, claimsKey, sequences.length) : [];
    if (rc === 0 && !cancel?.aborted && gaps.length === 0)
      psql.stdin!.end(footer(counter, relations, queue, cat.foreignKeys.map(addForeignKey)));
    else if (gaps.length) psql.stdin!.end('ROLLBACK;\n');
    else killGroup(psql); // no COMMIT is ever sent: the server rolls the transaction back
    const pc = await psqlExit;
    if (cancel?.aborted) throw cancelledFailure(cancel);
    const failure = loadFailure({ where, srcWhere: src.where, gaps, psqlOut, restoreErr, pc, rc, secrets });
    if (failure) throw failure;
    return { rows: rowsByTable(counter, relations, claimsKey), requeued: Number(REQUEUED.exec(psqlOut)?.[1] ?? 0) };
  } catch (err) {
    kill();
    throw err;
  } finally {
    cancel?.removeEventListener('abort', kill);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function refreshViews(db: DatabaseHandle, d: TableDecision): Promise<void> {
  if (!db.refreshMaterializedViews) return;
  await withClient(db, async (c) => {
    for (const m of await materializedViewsOver(c, d.truncate)) await refreshMaterializedView(c, m);
  });
}

/** A command's whole stdout (pg_restore --list: one line per archive entry). */
function collect(file: string, args: string[], db: DatabaseHandle): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnGuarded(file, args, { env: libpqEnv(db.url) });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2048)));
    child.on('error', (e) => reject(new Error(`cannot run ${file}: ${e.message}`)));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${file} ${args[0]} exited with code ${code}: ${err.trim()}`)),
    );
  });
}
