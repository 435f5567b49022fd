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
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { escapeLiteral } from 'pg';
import { libpqEnv } from '../backup';
import type { LocalArchive } from '../lib/backup-source';
import { crashPoint } from '../lib/faults';
import { cancellation, cancelledFailure, throwIfCancelled } from '../lib/keepalive';
import { materializedViewsOver, refreshMaterializedView } from '../lib/matviews';
import { quoted, withClient, type TableRef } from '../lib/postgres';
import { redactText } from '../lib/secrets';
import { killGroup, spawnGuarded } from '../lib/shell';
import { type TableDecision } from '../lib/tables';
import { type DatabaseHandle, type ResolvedTarget } from '../lib/target';
import { CopyCounter } from './copy-stream';
import { addForeignKey, dropForeignKey, isLiveQueueTable, readCatalog } from './relations';
import { selectEntries, type RestoreRelation } from './toc';

/** What psql prints after COMMIT: proof that it read the whole script (an empty stdin also exits 0). */
const COMMITTED = 'reset-runbook: restore committed';
const REQUEUED = /reset-runbook: requeued (\d+)/;
const INCOMPLETE = 'reset-runbook: load incomplete:';
const CLAIMS_AT_BACKUP = 'pg_temp.rr_claimed_at_backup';

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

/** The Solid Queue tables of one schema, when the claims the backup held can be put back as ready jobs. */
function queueOf(
  restored: TableRef[],
  live: TableRef[],
): { claimed: TableRef; jobs: TableRef; ready: TableRef } | undefined {
  const claimed = live.find((t) => t.table === 'solid_queue_claimed_executions');
  if (!claimed) return undefined;
  const jobs = restored.find((t) => t.schema === claimed.schema && t.table === 'solid_queue_jobs');
  const ready = restored.find((t) => t.schema === claimed.schema && t.table === 'solid_queue_ready_executions');
  return jobs && ready ? { claimed, jobs, ready } : undefined;
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
  if (sel.missing.length || sel.ambiguous.length) {
    const why = [
      ...(sel.missing.length
        ? [`the backup has no data entry for ${sel.missing.join(', ')} (created after the backup was taken?)`]
        : []),
      ...(sel.ambiguous.length ? [`its table of contents cannot be read exactly: ${sel.ambiguous.join('; ')}`] : []),
    ];
    throw ApplicationFailure.nonRetryable(
      `Restore of ${where} refused before any change; nothing was touched: ${why.join('; ')}. Restore these tables by hand (pg_restore --list ${src.where}), or abort.`,
      'RestoreRefused',
    );
  }
  const lines = seams.entries ? seams.entries(sel.lines) : sel.lines;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-restore-'));
  const listFile = path.join(tmp, 'toc.list');
  fs.writeFileSync(listFile, lines.join('\n') + '\n', { mode: 0o600 });
  const lockMs = Math.round(t.config.timing.lockTimeoutSeconds * 1000);
  const header = [
    'BEGIN;',
    `SET LOCAL lock_timeout = '${lockMs}ms';`,
    ...(queue ? [`CREATE TEMPORARY TABLE ${CLAIMS_AT_BACKUP} (LIKE ${quoted(queue.claimed)}) ON COMMIT DROP;`] : []),
    ...cat.foreignKeys.map(dropForeignKey),
    `TRUNCATE TABLE ${restored.map(quoted).join(', ')};`,
    '',
  ].join('\n');
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
    psql.stdin!.write(header);
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
    if (gaps.length || psqlOut.includes(INCOMPLETE)) {
      const found = gaps.length
        ? gaps.join('; ')
        : psqlOut
            .slice(psqlOut.indexOf(INCOMPLETE) + INCOMPLETE.length)
            .split('\n')[0]
            .replace(/[;\s]+$/, '')
            .trim();
      throw ApplicationFailure.nonRetryable(
        `Restore of ${where}: the load was incomplete (${found}). Rolled back before COMMIT; nothing was changed. ` +
          `A retry would load the same entries: compare the tables named with pg_restore --list ${src.where}, and abort the run.`,
        'RestoreIncomplete',
      );
    }
    // psql's own error first (it stopped, then pg_restore was stopped); exit null is psql killed by us.
    if (pc !== 0 && pc !== null)
      throw new Error(
        `Restoring ${where} failed (psql exit ${pc}): ${redactText(psqlOut.trim(), secrets)}. Rolled back; nothing was changed.`,
      );
    if (rc !== 0)
      throw new Error(
        `pg_restore of ${where} exited with code ${rc}: ${redactText(restoreErr.trim(), secrets)}. Rolled back; nothing was changed.`,
      );
    if (pc === 0 && !psqlOut.includes(COMMITTED))
      throw new Error(
        `Restoring ${where}: psql ended without reaching COMMIT (${redactText(psqlOut.trim(), secrets) || 'no output'}).`,
      );
    if (pc !== 0)
      throw new Error(`Restoring ${where}: psql was stopped before COMMIT. Rolled back; nothing was changed.`);
    return { rows: rowsByTable(counter, relations, claimsKey), requeued: Number(REQUEUED.exec(psqlOut)?.[1] ?? 0) };
  } catch (err) {
    kill();
    throw err;
  } finally {
    cancel?.removeEventListener('abort', kill);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * What the stream lacks: a table (or partition) with rows now but no COPY block, rows for a table not chosen, a
 * sequence not set.
 */
function streamGaps(
  counter: CopyCounter,
  relations: RestoreRelation[],
  claimsKey: string | undefined,
  sequences: number,
): string[] {
  const gaps: string[] = [];
  const keys = new Set(relations.map((r) => `${r.schema}.${r.name}`));
  for (const r of relations.filter((x) => x.kind === 'r')) {
    const k = `${r.schema}.${r.name}`;
    if (!counter.rows.has(k))
      gaps.push(`no rows of ${k === r.root || k === claimsKey ? k : `${k} (partition of ${r.root})`} were loaded`);
  }
  for (const k of counter.rows.keys())
    if (!keys.has(k)) gaps.push(`rows of ${k}, which is not a table being restored, were streamed`);
  for (const u of counter.unreadable) gaps.push(`a COPY of an unreadable table name: ${u}`);
  if (counter.setvals !== sequences) gaps.push(`${counter.setvals} of ${sequences} sequences were set`);
  return gaps;
}

/** Rows the backup streamed per restored table: a partitioned table's are its partitions'. */
function rowsByTable(
  counter: CopyCounter,
  relations: RestoreRelation[],
  claimsKey: string | undefined,
): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const r of relations) {
    if (r.root === claimsKey) continue;
    rows[r.root] = (rows[r.root] ?? 0) + (counter.rows.get(`${r.schema}.${r.name}`) ?? 0);
  }
  return rows;
}

/**
 * The end of the transaction: every table must hold exactly what pg_restore streamed into it (a
 * partitioned table counts its whole tree, any other table only its own rows), else the DO block
 * raises and psql (ON_ERROR_STOP) stops before COMMIT. Then the claims, the foreign keys, COMMIT.
 */
function footer(
  counter: CopyCounter,
  relations: RestoreRelation[],
  queue: ReturnType<typeof queueOf>,
  addFks: string[],
): string {
  const claimsKey = queue && `${queue.claimed.schema}.${queue.claimed.table}`;
  const rows = rowsByTable(counter, relations, claimsKey);
  const checks: { sql: string; label: string; want: number }[] = [];
  for (const root of Object.keys(rows)) {
    const r = relations.find((x) => `${x.schema}.${x.name}` === root)!;
    const ref = quoted({ schema: r.schema, table: r.name });
    checks.push({ sql: r.kind === 'p' ? ref : `ONLY ${ref}`, label: root, want: rows[root] });
  }
  if (claimsKey)
    checks.push({
      sql: CLAIMS_AT_BACKUP,
      label: `${claimsKey} (the backup's claims)`,
      want: counter.rows.get(claimsKey) ?? 0,
    });
  const tag = `$rr_${randomBytes(6).toString('hex')}$`;
  const check = [
    `DO ${tag} DECLARE n bigint; bad text := ''; BEGIN`,
    ...checks.map(
      (c) =>
        `  SELECT count(*) INTO n FROM ${c.sql}; IF n <> ${c.want} THEN bad := bad || ${escapeLiteral(c.label)} || ' holds ' || n || ' rows, the backup streamed ${c.want}; '; END IF;`,
    ),
    `  IF bad <> '' THEN RAISE EXCEPTION '${INCOMPLETE} %', bad; END IF;`,
    `END ${tag};`,
  ];
  return ['', ...check, ...(queue ? requeueClaims(queue) : []), ...addFks, 'COMMIT;', `\\echo ${COMMITTED}`, ''].join(
    '\n',
  );
}

/**
 * The jobs a worker had claimed when the backup was taken. Their claims name processes that are gone
 * (the workers were stopped before the reset): loaded as they are, Solid Queue's supervisor would fail
 * them at boot as ProcessMissingError, and left out, the jobs would sit unfinished with no execution,
 * never run again. So they go back to ready, as Solid Queue itself does with the claims of a worker
 * that shuts down gracefully (ClaimedExecution#release): they run again, once, when workers start.
 */
function requeueClaims(q: NonNullable<ReturnType<typeof queueOf>>): string[] {
  return [
    `WITH requeued AS (INSERT INTO ${quoted(q.ready)} (job_id, queue_name, priority, created_at)`,
    `  SELECT j.id, j.queue_name, j.priority, (now() AT TIME ZONE 'UTC') FROM ${CLAIMS_AT_BACKUP} c JOIN ${quoted(q.jobs)} j ON j.id = c.job_id`,
    `   WHERE j.finished_at IS NULL AND NOT EXISTS (SELECT 1 FROM ${quoted(q.ready)} r WHERE r.job_id = j.id) RETURNING 1)`,
    `SELECT count(*) AS rr_requeued FROM requeued \\gset`,
    `\\echo reset-runbook: requeued :rr_requeued`,
  ];
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
