/**
 * The reset journal: what this run's reset step has done to the database, kept on disk beside the
 * purge manifest (backup.dir, which every worker of the target shares), so that any worker, after any
 * crash, knows whether this run's TRUNCATE committed.
 *
 * A file alone cannot say that: a worker can die between COMMIT and writing "done". So before each
 * COMMIT the journal records the transaction's id, and PostgreSQL answers later, durably, whether
 * that transaction committed (txid_status). A rebuild command is not a transaction: once it has been
 * started, the database counts as changed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { withClient } from './lib/postgres';
import type { ResolvedTarget } from './lib/target';

export interface Journal {
  target: string;
  runId: string;
  /** Row counts just before this run's first TRUNCATE (recorded before it, reported by every retry). */
  countsBefore?: Record<string, number>;
  /** Every TRUNCATE transaction this run sent COMMIT for (or was about to). */
  transactions: { database: string; xid: string }[];
  rebuildStartedAt?: string;
}

export function journalPath(dir: string, target: string, runId: string): string {
  return path.join(dir, `reset_journal_${target}_${runId}.json`);
}

export function readJournal(t: ResolvedTarget, runId: string): Journal {
  const file = journalPath(t.config.backup.dir, t.name, runId);
  if (!fs.existsSync(file)) return { target: t.name, runId, transactions: [] };
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;
}

/** Whole or not at all, and on disk before the caller goes on (the COMMIT that follows depends on it). */
export function writeJournal(t: ResolvedTarget, j: Journal): void {
  const file = journalPath(t.config.backup.dir, t.name, j.runId);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.partial`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(j));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Records the open transaction's id; call inside the transaction, just before COMMIT. */
export async function recordTransaction(t: ResolvedTarget, runId: string, database: string, c: Client): Promise<void> {
  const xid = String((await c.query(`SELECT txid_current() AS x`)).rows[0].x);
  const j = readJournal(t, runId);
  j.transactions.push({ database, xid });
  writeJournal(t, j);
}

/** Whether any of this run's TRUNCATEs (or its rebuild command) changed the database. */
export async function databaseChanged(t: ResolvedTarget, j: Journal): Promise<boolean> {
  if (j.rebuildStartedAt) return true;
  for (const tx of j.transactions) {
    const db = t.databases.find((d) => d.name === tx.database);
    if (!db) continue;
    const status = await withClient(db, async (c) => (await c.query(`SELECT txid_status($1::bigint) AS s`, [tx.xid])).rows[0].s as string | null);
    // NULL: so old that PostgreSQL no longer knows (hundreds of millions of transactions later). The
    // journal holds it only because COMMIT was about to be sent, so count it as done: refreshing the
    // backup of an emptied database, or refusing for age, would be the worse mistake.
    if (status === 'committed' || status === null) return true;
  }
  return false;
}
