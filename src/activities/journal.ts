/**
 * The reset journal: what this run's reset step has done to the database, kept beside the purge
 * manifest and the backups (backup-store.ts: with an S3 destination every worker of the target reads
 * it), so that any worker, after any crash, knows whether this run's TRUNCATE committed.
 *
 * A file alone cannot say that: a worker can die between COMMIT and writing "done". So before each
 * COMMIT the journal records the transaction's id, and PostgreSQL answers later, durably, whether
 * that transaction committed (txid_status). A rebuild command is not a transaction: before it runs,
 * the journal records the database's fingerprint (lib/db-fingerprint.ts: its oid, its tables' data
 * files and rows); once the command has succeeded the database counts as changed, and after a failed
 * or interrupted one it counts as changed only if the fingerprint differs.
 */
import type { Client } from 'pg';
import type { BackupRecord } from '../contract';
import { backupStoreFor } from './lib/backup-store';
import { differences, fingerprint, type DatabaseFingerprint } from './lib/db-fingerprint';
import { withClient } from './lib/postgres';
import type { ResolvedTarget } from './lib/target';

export interface Journal {
  target: string;
  runId: string;
  /** Row counts just before this run's first TRUNCATE (recorded before it, reported by every retry). */
  countsBefore?: Record<string, number>;
  /** The backup that protects this run's TRUNCATE, recorded with countsBefore: a restore needs nothing else. */
  backup?: BackupRecord;
  /**
   * Row counts when the reset step last ended, with the seeds finished or not: a restore tells the rows
   * written after the reset (more than these) from the reset's own.
   */
  countsAfter?: Record<string, number>;
  seedsFinished?: boolean;
  /** Set by a restore that brought this run's backup back. */
  restoredBy?: { workflowId: string; runId: string; at: string };
  /** Every TRUNCATE transaction this run sent COMMIT for (or was about to). */
  transactions: { database: string; xid: string }[];
  /** Written by workers from before the rebuild's fingerprint: a started rebuild counted as a change. */
  rebuildStartedAt?: string;
  /** The rebuild command: the databases as they were just before it first ran, and when it succeeded. */
  rebuild?: { startedAt: string; before: DatabaseFingerprint[]; finishedAt?: string };
}

export const JOURNAL_PREFIX = 'reset_journal_';

export function journalName(target: string, runId: string): string {
  return `${JOURNAL_PREFIX}${target}_${runId}.json`;
}

/** The run id of a journal of exactly this target (`demo` must not read `demo_2`'s journals), else undefined. */
export function journalRunId(name: string, target: string): string | undefined {
  const m = /^reset_journal_(.+)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/.exec(name);
  return m && m[1] === target ? m[2] : undefined;
}

/** Updates the journal with fields, reading it first (several steps add to it). */
export async function updateJournal(t: ResolvedTarget, runId: string, fields: Partial<Journal>): Promise<void> {
  await writeJournal(t, { ...(await readJournal(t, runId)), ...fields });
}

export async function readJournal(t: ResolvedTarget, runId: string): Promise<Journal> {
  const text = await backupStoreFor(t.config.backup, t.s3).readText(journalName(t.name, runId));
  return text === undefined ? { target: t.name, runId, transactions: [] } : (JSON.parse(text) as Journal);
}

/** Whole or not at all, and stored before the caller goes on (the COMMIT that follows depends on it). */
export async function writeJournal(t: ResolvedTarget, j: Journal): Promise<void> {
  await backupStoreFor(t.config.backup, t.s3).writeText(journalName(t.name, j.runId), JSON.stringify(j));
}

/** Records the open transaction's id; call inside the transaction, just before COMMIT. */
export async function recordTransaction(t: ResolvedTarget, runId: string, database: string, c: Client): Promise<void> {
  const xid = String((await c.query(`SELECT txid_current() AS x`)).rows[0].x);
  const j = await readJournal(t, runId);
  j.transactions.push({ database, xid });
  await writeJournal(t, j);
}

/** Whether any of this run's TRUNCATEs (or its rebuild command) changed the database. */
export async function databaseChanged(t: ResolvedTarget, j: Journal): Promise<boolean> {
  if (j.rebuildStartedAt || j.rebuild?.finishedAt) return true;
  // Compared with the databases as they are now; one that cannot be read counts as changed.
  if (j.rebuild && (await rebuildChanges(t, j.rebuild.before).catch(() => ['unknown'])).length) return true;
  for (const tx of j.transactions) {
    const db = t.databases.find((d) => d.name === tx.database);
    if (!db) continue;
    const status = await withClient(
      db,
      async (c) => (await c.query(`SELECT txid_status($1::bigint) AS s`, [tx.xid])).rows[0].s as string | null,
    );
    // NULL: so old that PostgreSQL no longer knows (hundreds of millions of transactions later). The
    // journal holds it only because COMMIT was about to be sent, so count it as done: refreshing the
    // backup of an emptied database, or refusing for age, would be the worse mistake.
    if (status === 'committed' || status === null) return true;
  }
  return false;
}

/** What the rebuild command changed since the fingerprint taken before it (lines for an operator; [] when nothing). */
export async function rebuildChanges(t: ResolvedTarget, before: DatabaseFingerprint[]): Promise<string[]> {
  return differences(before, await fingerprint(t));
}
