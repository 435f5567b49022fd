/**
 * Issue 8 — undo a reset: restore the backup a reset run took, in one transaction per database, and
 * bring back the objects its purge quarantined.
 *
 * Why a data-only restore of the truncated tables (after a TRUNCATE in the same transaction) and not
 * `pg_restore --clean --single-transaction`: the reset changed exactly the truncated tables (and
 * their sequences), so the undo touches exactly those. --clean would drop and recreate every object
 * of the database — the kept tables, schema_migrations, anything a migration changed since the
 * backup — and reorder nothing the reset did. The price is foreign keys: a full archive's data is not
 * in dependency order (pg_dump sorts it only for data-only dumps), and disabling the FK triggers needs
 * a superuser. So the transaction drops the foreign keys of the truncated tables, TRUNCATEs them,
 * COPYs the backup's rows and sets their sequences (pg_restore --data-only, filtered to the tables'
 * TABLE DATA and their owned sequences' SEQUENCE SET), then adds the foreign keys back, which checks
 * every row. Any error, or a worker killed midway, rolls the whole database back to where it was.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type Client as TemporalClient } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { escapeIdentifier, type Client } from 'pg';
import type { BackupFile, BackupRecord, ResetResult, RestorePlan } from '../workflows/definitions';
import { resetWorkflowId } from '../workflows/definitions';
import { libpqEnv } from './backup';
import { assertChecksum, backupSource } from './lib/backup-source';
import { digestOf } from './lib/digest';
import { crashPoint } from './lib/faults';
import { cancellation, cancelledFailure, throwIfCancelled, withKeepalive } from './lib/keepalive';
import { materializedViewsOver, refreshMaterializedView } from './lib/matviews';
import { countRows, qualified, quoted, withClient } from './lib/postgres';
import { eachLimited, quarantineRunPrefix } from './lib/quarantine';
import { copyObject, listUnder } from './lib/s3';
import { killGroup, redact, spawnGuarded } from './lib/shell';
import { queueState } from './lib/solid-queue';
import { workerSettings } from './lib/run-settings';
import { DEFAULTS } from '../config/defaults';
import { decideTables, type TableDecision } from './lib/tables';
import { databaseByName, resolveTarget, type ActivityDeps, type DatabaseHandle, type ResolvedTarget } from './lib/target';

export interface RestorePlanArgs {
  target: string;
  resetRunId?: string;
  backupPath?: string;
}

export function createRestoreActivities(deps: ActivityDeps) {
  return {
    /** Which backup (from the reset run's record in Temporal), its checksum, and what the database holds now. Changes nothing. */
    async planRestore(args: RestorePlanArgs): Promise<RestorePlan> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async (beat) => {
        const errors: string[] = [];
        const warnings: string[] = [];
        const found = await findResetRun(Context.current().client, t.name, args);
        const backup = found.backup;
        let checksumsOk = true;
        let done = 0;
        for (const f of backup.files) {
          try {
            await assertChecksum(f, (n) => beat({ unit: 'bytes', done: done + n, total: backup.files.reduce((a, x) => a + x.bytes, 0) }));
          } catch (err) {
            checksumsOk = false;
            errors.push((err as Error).message);
          }
          done += f.bytes;
        }
        for (const f of backup.files) if (!t.databases.some((d) => d.name === f.database)) errors.push(`the backup holds database "${f.database}", which target "${t.name}" no longer has`);
        if (!found.countsBefore) errors.push(`reset run ${found.resetRunId} recorded no counts before a TRUNCATE (it did not reach it): there is nothing to undo`);

        let databaseName = '';
        const countsNow: Record<string, number> = {};
        const tables: RestorePlan['tables'] = [];
        for (const db of t.databases) {
          await withClient(db, async (c) => {
            if (db.name === 'primary') databaseName = (await c.query(`SELECT current_database() AS n`)).rows[0].n;
            const d = await decideTables(c, db);
            errors.push(...d.errors);
            for (const tb of [...d.truncate, ...d.keep]) countsNow[`${db.name}/${qualified(tb)}`] = await countRows(c, tb);
            for (const tb of d.truncate) {
              const k = `${db.name}/${qualified(tb)}`;
              tables.push({ database: db.name, table: qualified(tb), rowsNow: countsNow[k], rowsInBackup: found.countsBefore?.[k] });
            }
          });
        }
        for (const k of Object.keys(found.countsBefore ?? {})) if (!(k in countsNow)) errors.push(`table ${k} is in the backup's counts but not in the database now`);

        let quarantine: RestorePlan['quarantine'];
        const q = t.config.storage?.quarantine;
        if (q && found.resetRunId) {
          let objects = 0;
          let bytes = 0;
          for (const [name, svc] of Object.entries(t.config.storage!.services)) {
            if (svc.kind !== 's3') continue;
            for await (const page of listUnder(t.s3(svc), q.bucket, quarantineRunPrefix(q, found.resetRunId, name))) {
              objects += page.length;
              bytes += page.reduce((a, o) => a + o.size, 0);
            }
          }
          quarantine = { bucket: q.bucket, prefix: quarantineRunPrefix(q, found.resetRunId), objects, bytes };
        } else if (t.config.storage) {
          warnings.push('storage.quarantine is not configured: the objects the reset purged cannot come back');
        }

        let workersAlive = 0;
        const w = t.config.workers;
        if (w) workersAlive = await withClient(databaseByName(t, w.database), async (c) => (await queueState(c, w.heartbeatThresholdSeconds)).alive);
        const cfg = t.config;
        const settings = {
          heartbeatTimeoutSeconds: cfg.timing.heartbeatTimeoutSeconds,
          maximumAttempts: cfg.timing.maximumAttempts,
          approvalRequired: true,
          approvalTimeout: cfg.approval.timeout,
          workersConfigured: Boolean(w),
          storageConfigured: Boolean(cfg.storage),
          ...workerSettings(w),
          startWorkersAtEnd: workersAlive > 0 || (w?.whenNoneAliveBefore ?? DEFAULTS.workers.whenNoneAliveBefore) === 'start',
          notifications: false,
        };
        const backupAgeMinutes = Math.round((Date.now() - Date.parse(backup.createdAt)) / 60_000);
        return {
          target: t.name,
          databaseName,
          highRisk: false,
          resetRunId: found.resetRunId,
          backup,
          backupAgeMinutes,
          checksumsOk,
          countsInBackup: found.countsBefore,
          countsNow,
          tables,
          quarantine,
          warnings,
          errors,
          settings,
          digest: digestOf({ target: t.name, databaseName, resetRunId: found.resetRunId, files: backup.files.map((f) => f.sha256), tables: tables.map((x) => `${x.database}/${x.table}`) }),
          createdAt: new Date().toISOString(),
        };
      });
    },

    /** One transaction per database: TRUNCATE the reset's tables and load the backup's rows and sequences. */
    async restoreDatabase(args: { target: string; backup: BackupRecord; expected?: Record<string, number> }): Promise<{ tables: number; rows: number; mismatches: string[]; queueDrift: string[] }> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async (beat) => {
        // Checked again here, not only at the plan: hours may pass before the approval.
        for (const f of args.backup.files) await assertChecksum(f, (n) => beat({ unit: 'bytes', done: n, total: f.bytes }));
        let tables = 0;
        let rows = 0;
        // Extra databases first, the primary last, as the reset does.
        const files = [...args.backup.files].sort((a, b) => Number(a.database === 'primary') - Number(b.database === 'primary'));
        for (const f of files) {
          const db = databaseByName(t, f.database);
          const d = await withClient(db, (c) => decideTables(c, db));
          if (d.errors.length) throw ApplicationFailure.nonRetryable(`Restore refused; nothing was touched: ${d.errors.join('; ')}`, 'RestoreRefused');
          await restoreInOneTransaction(t, db, f, d, (n) => beat({ unit: 'bytes', done: n }));
          await refreshViews(db, d);
          tables += d.truncate.length;
          rows += await withClient(db, async (c) => {
            let n = 0;
            for (const tb of d.truncate) n += await countRows(c, tb);
            return n;
          });
        }
        // Counted now, before the workers start: from then on Solid Queue's own tables change by themselves.
        const all = await compareCounts(t, args.expected ?? {});
        // The reference is the reset's count, taken after the workers stopped; the backup was taken while
        // they ran, so Solid Queue's own tables may differ by the jobs they moved in between (measured on
        // the large demo: 6,254 ready executions in the backup, 6,227 at the TRUNCATE). The backup's rows
        // are what was restored; that drift is said, not failed on. Application tables must match.
        const queueDrift = all.filter((m) => QUEUE_TABLE.test(m.split(':')[0]));
        const mismatches = all.filter((m) => !queueDrift.includes(m));
        crashPoint('restore.done');
        return { tables, rows, mismatches, queueDrift };
      });
    },

    /** Copies the reset run's quarantined objects back to their original keys (server-side; a retry copies again, harmlessly). */
    async restoreStorage(args: { target: string; resetRunId: string }): Promise<{ count: number; bytes: number }> {
      const t = resolveTarget(deps, args.target);
      const q = t.config.storage?.quarantine;
      if (!q) throw ApplicationFailure.nonRetryable(`Target "${t.name}" has no storage.quarantine: nothing to bring back.`, 'BadConfig');
      return withKeepalive(async (beat) => {
        let count = 0;
        let bytes = 0;
        for (const [name, svc] of Object.entries(t.config.storage!.services)) {
          if (svc.kind !== 's3') continue;
          const s3 = t.s3(svc);
          const from = quarantineRunPrefix(q, args.resetRunId, name);
          for await (const page of listUnder(s3, q.bucket, from)) {
            throwIfCancelled();
            await eachLimited(page, 16, (o) => copyObject(s3, { bucket: q.bucket, key: o.key }, { bucket: svc.bucket, key: o.key.slice(from.length) }));
            count += page.length;
            bytes += page.reduce((a, o) => a + o.size, 0);
            beat({ unit: 'objects', done: count });
          }
        }
        return { count, bytes };
      });
    },

    /** Every table's count now against the backup's (the reset's countsBefore). */
    /**
     * After the workers started: every table's count against the backup's, except Solid Queue's own
     * tables when the workers run (they write their process rows and run jobs at once); those were
     * compared by the restore step, right after its COMMIT, before the workers started.
     */
    async verifyRestore(args: { target: string; expected: Record<string, number>; workersRunning: boolean }): Promise<{ ok: boolean; report: string; mismatches: string[] }> {
      const t = resolveTarget(deps, args.target);
      return withKeepalive(async () => {
        const expected = Object.fromEntries(Object.entries(args.expected).filter(([k]) => !(args.workersRunning && /\.solid_queue_[^/]*$/.test(k))));
        const lines: string[] = [];
        const mismatches = await compareCounts(t, expected, lines);
        return { ok: mismatches.length === 0, report: lines.join('\n'), mismatches };
      });
    },
  };
}

const QUEUE_TABLE = /\.solid_queue_[^/]*$/;

async function compareCounts(t: ResolvedTarget, expected: Record<string, number>, lines: string[] = []): Promise<string[]> {
  const mismatches: string[] = [];
  for (const [k, want] of Object.entries(expected)) {
    // Solid Queue's process registry is not data: the backup holds the processes alive when it was
    // taken, countsBefore none (the workers had been stopped, and deregistered, before the TRUNCATE).
    if (/\.solid_queue_processes$/.test(k)) continue;
    const [dbName, table] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
    const [schema, name] = [table.slice(0, table.indexOf('.')), table.slice(table.indexOf('.') + 1)];
    const actual = await withClient(databaseByName(t, dbName), (c) => countRows(c, { schema, table: name }));
    lines.push(`${k}: ${actual}`);
    if (actual !== want) mismatches.push(`${k}: ${actual}, the backup held ${want}`);
  }
  return mismatches;
}

/** The reset run's backup record and countsBefore, read from its result in Temporal (a failed run carries it in its failure). */
async function findResetRun(client: TemporalClient, target: string, args: RestorePlanArgs): Promise<{ resetRunId: string; backup: BackupRecord; countsBefore?: Record<string, number> }> {
  const workflowId = resetWorkflowId(target);
  const candidates: string[] = [];
  if (args.resetRunId) candidates.push(args.resetRunId);
  else if (!args.backupPath) candidates.push((await client.workflow.getHandle(workflowId).describe()).runId);
  else for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"`, pageSize: 20 })) if (candidates.push(w.runId) >= 20) break;
  for (const runId of candidates) {
    const h = client.workflow.getHandle(workflowId, runId, { followRuns: false });
    const d = await h.describe();
    if (d.status.name === 'RUNNING') {
      if (args.resetRunId || !args.backupPath)
        throw ApplicationFailure.nonRetryable(`Reset run ${runId} of "${target}" is still running; let it end (or abort it) before restoring.`, 'RestoreRefused');
      continue;
    }
    const r = await resultOf(h.result());
    if (!r?.backup) {
      if (args.backupPath) continue;
      throw ApplicationFailure.nonRetryable(`Reset run ${runId} of "${target}" recorded no backup (it ended ${r?.endReason ?? d.status.name}); give another run with --run.`, 'RestoreRefused');
    }
    if (args.backupPath && !r.backup.files.some((f) => f.path === args.backupPath)) {
      if (args.resetRunId) throw ApplicationFailure.nonRetryable(`Reset run ${runId} did not take ${args.backupPath} (it took ${r.backup.files.map((f) => f.path).join(', ')}).`, 'RestoreRefused');
      continue;
    }
    return { resetRunId: runId, backup: r.backup, countsBefore: r.countsBefore };
  }
  throw ApplicationFailure.nonRetryable(
    args.backupPath ? `No recent reset run of "${target}" recorded ${args.backupPath}: without a record its checksum cannot be checked, so it is not restored.` : `No reset run of "${target}" found.`,
    'RestoreRefused',
  );
}

async function resultOf(p: Promise<unknown>): Promise<ResetResult | undefined> {
  try {
    return (await p) as ResetResult;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      let c: unknown = err.cause;
      while (c) {
        const details = (c as ApplicationFailure).details;
        if (details?.length) return details[0] as ResetResult;
        c = (c as { cause?: unknown }).cause;
      }
      return undefined;
    }
    throw err;
  }
}

/** What psql prints after COMMIT: proof that it read the whole script (an empty stdin also exits 0). */
const COMMITTED = 'reset-runbook: restore committed';

/** psql beside pg_restore when that is a path (same PostgreSQL installation), else from PATH. */
function psqlFor(pgRestore: string): string {
  return pgRestore.includes('/') ? path.join(path.dirname(pgRestore), 'psql') : 'psql';
}

async function restoreInOneTransaction(t: ResolvedTarget, db: DatabaseHandle, file: BackupFile, d: TableDecision, onBytes: (n: number) => void): Promise<void> {
  const pgRestore = t.config.backup.pgRestore ?? 'pg_restore';
  const src = backupSource(file);
  const truncated = new Set(d.truncate.map(qualified));
  const { fks, sequences } = await withClient(db, async (c) => ({ fks: await foreignKeysOf(c, truncated), sequences: await ownedSequences(c, truncated) }));
  const toc = await collect(pgRestore, ['--list', src.where], db);
  const wanted = toc.split('\n').filter((l) => {
    const m = /^\d+; \d+ \d+ (TABLE DATA|SEQUENCE SET) (\S+) (\S+) /.exec(l);
    return m && (m[1] === 'TABLE DATA' ? truncated.has(`${m[2]}.${m[3]}`) : sequences.has(`${m[2]}.${m[3]}`));
  });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-restore-'));
  const listFile = path.join(tmp, 'toc.list');
  fs.writeFileSync(listFile, wanted.join('\n') + '\n', { mode: 0o600 });
  const lockMs = Math.round(t.config.timing.lockTimeoutSeconds * 1000);
  const header = [
    'BEGIN;',
    `SET LOCAL lock_timeout = '${lockMs}ms';`,
    ...fks.map((f) => `ALTER TABLE ${f.table} DROP CONSTRAINT ${escapeIdentifier(f.name)};`),
    `TRUNCATE TABLE ${d.truncate.map(quoted).join(', ')};`,
    '',
  ].join('\n');
  const footer = ['', ...fks.map((f) => `ALTER TABLE ${f.table} ADD CONSTRAINT ${escapeIdentifier(f.name)} ${f.def};`), 'COMMIT;', `\\echo ${COMMITTED}`, ''].join('\n');
  const cancel = cancellation();
  throwIfCancelled(cancel);
  const env = libpqEnv(db.url);
  const psql = spawnGuarded(psqlFor(pgRestore), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], { env, stdin: true });
  const restore = spawnGuarded(pgRestore, ['--data-only', '--no-owner', '-L', listFile, '-f', '-', src.where], { env });
  const kill = () => {
    killGroup(restore);
    killGroup(psql);
  };
  cancel?.addEventListener('abort', kill, { once: true });
  let psqlErr = '';
  let restoreErr = '';
  psql.stdout!.on('data', (b: Buffer) => (psqlErr = (psqlErr + b.toString()).slice(-4096)));
  psql.stderr!.on('data', (b: Buffer) => (psqlErr = (psqlErr + b.toString()).slice(-4096)));
  restore.stderr!.on('data', (b: Buffer) => (restoreErr = (restoreErr + b.toString()).slice(-4096)));
  psql.stdin!.on('error', () => undefined); // psql stopped at an error: its exit code says so
  const psqlExit = new Promise<number | null>((resolve) => psql.on('close', resolve).on('error', () => resolve(127)));
  const restoreExit = new Promise<number | null>((resolve) => restore.on('close', resolve).on('error', () => resolve(127)));
  try {
    psql.stdin!.write(header);
    let bytes = 0;
    restore.stdout!.on('data', (b: Buffer) => {
      bytes += b.length;
      onBytes(bytes);
      // Rows are on their way into the open transaction: a crash here must roll it all back.
      crashPoint('restore.loading');
    });
    restore.stdout!.pipe(psql.stdin!, { end: false });
    const rc = await restoreExit;
    if (rc === 0 && !cancel?.aborted) psql.stdin!.end(footer);
    else killGroup(psql); // no COMMIT is ever sent: the server rolls the transaction back
    const pc = await psqlExit;
    if (cancel?.aborted) throw cancelledFailure(cancel);
    const secrets = [db.url];
    if (rc !== 0) throw new Error(`pg_restore of ${src.where} into database "${db.name}" exited with code ${rc}: ${redact(restoreErr.trim(), secrets)}. Rolled back; nothing was changed.`);
    if (pc === 0 && !psqlErr.includes(COMMITTED))
      throw new Error(`Restoring ${src.where} into database "${db.name}": psql ended without reaching COMMIT (${redact(psqlErr.trim(), secrets) || 'no output'}).`);
    if (pc !== 0) throw new Error(`Restoring ${src.where} into database "${db.name}" failed (psql exit ${pc}): ${redact(psqlErr.trim(), secrets)}. Rolled back; nothing was changed.`);
  } catch (err) {
    kill();
    throw err;
  } finally {
    cancel?.removeEventListener('abort', kill);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Foreign keys declared on the truncated tables, with fully qualified definitions (search_path empty). */
async function foreignKeysOf(c: Client, truncated: Set<string>): Promise<{ table: string; name: string; def: string }[]> {
  await c.query(`SET search_path TO ''`);
  const r = await c.query<{ schema: string; tbl: string; name: string; def: string }>(
    `SELECT n.nspname AS schema, cl.relname AS tbl, con.conname AS name, pg_get_constraintdef(con.oid) AS def
       FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class cl ON cl.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
      WHERE con.contype = 'f' ORDER BY 1, 2, 3`,
  );
  return r.rows.filter((x) => truncated.has(`${x.schema}.${x.tbl}`)).map((x) => ({ table: quoted({ schema: x.schema, table: x.tbl }), name: x.name, def: x.def }));
}

/** Sequences owned by (serial / identity columns of) the truncated tables, schema.name. */
async function ownedSequences(c: Client, truncated: Set<string>): Promise<Set<string>> {
  const r = await c.query<{ seq: string; tbl: string }>(
    `SELECT sn.nspname || '.' || s.relname AS seq, tn.nspname || '.' || tb.relname AS tbl
       FROM pg_catalog.pg_class s JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.oid
        AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')
       JOIN pg_catalog.pg_class tb ON tb.oid = d.refobjid JOIN pg_catalog.pg_namespace tn ON tn.oid = tb.relnamespace
      WHERE s.relkind = 'S'`,
  );
  return new Set(r.rows.filter((x) => truncated.has(x.tbl)).map((x) => x.seq));
}

async function refreshViews(db: DatabaseHandle, d: TableDecision): Promise<void> {
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
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} ${args[0]} exited with code ${code}: ${err.trim()}`))));
  });
}
