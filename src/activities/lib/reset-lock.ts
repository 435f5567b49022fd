/**
 * One reset per database, whatever the workflow id (two targets naming one database, two namespaces,
 * a restore and a reset).
 *
 * How the lock is held across steps, and why this way. A PostgreSQL session-level advisory lock dies
 * with its connection, and a run's steps are separate activities, possibly on different workers, with
 * hours between them (an operator's pause). A long-lived holder process would be one more thing that
 * can die or be partitioned away while the run goes on. So the lock has two parts:
 *
 * 1. A claim row of our own, `reset_runbook.reset_lock`, in the database itself (a schema outside the
 *    reset's set: the reset only touches the target's schemas). It names the holder (namespace,
 *    workflow id, run id, target, since) and outlives connections, workers and crashes: the run takes
 *    it before its backup and stops nothing before that, releases it at its end whatever the ending,
 *    and re-takes it after a crash simply because the row already names it. Keying by the database is
 *    automatic: whatever URL or target names the database, the row is in it. It never expires on its
 *    own: a run paused for an operator after its TRUNCATE holds the database legitimately for hours. A
 *    run that could not release it (terminated from the Web UI) leaves it; the refusal says how to
 *    clear it after checking that run is really over.
 * 2. The advisory lock, keyed by the server's system identifier and the database's name, held on a
 *    session of its own for the whole of each destructive activity (the reset's stop, reset, purge,
 *    start; the restore's database and storage steps) and while a claim is made or checked. Claims are
 *    thus serialized, and no two destructive steps ever run on one database at once — not even an
 *    earlier attempt of the same step that a partitioned worker still runs. A SIGKILLed worker's
 *    session ends with its socket, so the retry re-takes it.
 *
 * Where the advisory lock's session lives, and why: see advisory-lock.ts.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from 'pg';
import { connect, lockKey, openLockSession, tryAdvisory, unlockAndEnd } from './advisory-lock';
import type { DatabaseHandle, ResolvedTarget } from './target';

export const LOCK_SCHEMA = 'reset_runbook';
const TABLE = `${LOCK_SCHEMA}.reset_lock`;

/** Who holds a database: sent by the workflow (no secrets), stored in the claim row. */
export interface LockOwner {
  workflowId: string;
  runId: string;
  target: string;
  namespace?: string;
}
export interface LockHolder extends LockOwner {
  database: string;
  since: string;
}

async function readHolderOn(c: Client, database: string): Promise<LockHolder | undefined> {
  const r = await c
    .query<{ workflow_id: string; run_id: string; target: string; namespace: string | null; since: Date }>(
      `SELECT workflow_id, run_id, target, namespace, since FROM ${TABLE} WHERE id = 1`,
    )
    .catch((err: { code?: string }) => {
      if (err.code === '42P01' || err.code === '3F000') return { rows: [] };
      throw err;
    });
  const row = r.rows[0];
  return (
    row && {
      database,
      workflowId: row.workflow_id,
      runId: row.run_id,
      target: row.target,
      namespace: row.namespace ?? undefined,
      since: new Date(row.since).toISOString(),
    }
  );
}

export function describeHolder(h: LockHolder): string {
  return `database "${h.database}" is held by another reset: workflow "${h.workflowId}", run ${h.runId} (target "${h.target}"${h.namespace ? `, namespace "${h.namespace}"` : ''}) since ${h.since}`;
}

function heldFailure(h: LockHolder): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${describeHolder(h)}. Wait for that run to end (it releases the database at its end, whatever the ending), then start again. Only if that run is over and the lock stayed (a terminated run): DELETE FROM ${TABLE} WHERE run_id = '${h.runId}';`,
    'DatabaseLocked',
    h,
  );
}

/**
 * The target database's session and the advisory lock's own (openLockSession), opened at once: each is a
 * round trip and an authentication. On failure neither stays open. `lock` undefined: the lock goes on `c`.
 */
async function openSessions(db: DatabaseHandle): Promise<{ c: Client; lock?: Client }> {
  const [target, maintenance] = await Promise.allSettled([connect(db.url), openLockSession(db)]);
  if (target.status === 'fulfilled' && maintenance.status === 'fulfilled')
    return { c: target.value, lock: maintenance.value };
  if (target.status === 'fulfilled') await target.value.end().catch(() => undefined);
  if (maintenance.status === 'fulfilled') await maintenance.value?.end().catch(() => undefined);
  throw target.status === 'rejected' ? target.reason : (maintenance as PromiseRejectedResult).reason;
}

/** The target's databases, each once (an extra database may be the primary under another URL). */
async function eachDatabase<T>(
  t: ResolvedTarget,
  fn: (c: Client, key: string, database: string, db: DatabaseHandle, lock?: Client) => Promise<T>,
  opts: { lockSession?: boolean } = {},
): Promise<T[]> {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const db of t.databases) {
    // With `lockSession`, the advisory lock's own session too (undefined: the lock goes on `c`), opened at once.
    const { c, lock } = opts.lockSession ? await openSessions(db) : { c: await connect(db.url), lock: undefined };
    try {
      const { key, database } = await lockKey(c);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(await fn(c, key, database, db, lock));
    } finally {
      await lock?.end().catch(() => undefined);
      await c.end().catch(() => undefined);
    }
  }
  return out;
}

const CREATE_CLAIM_TABLE = `CREATE TABLE IF NOT EXISTS ${TABLE} (id int PRIMARY KEY CHECK (id = 1), workflow_id text NOT NULL, run_id text NOT NULL, target text NOT NULL, namespace text, since timestamptz NOT NULL DEFAULT now())`;

/** Makes this run's claim row (the caller holds the advisory lock and has checked no other run holds it). */
async function insertClaim(c: Client, owner: LockOwner): Promise<boolean> {
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${LOCK_SCHEMA}`);
  await c.query(CREATE_CLAIM_TABLE);
  const r = await c.query(
    `INSERT INTO ${TABLE} (id, workflow_id, run_id, target, namespace) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
    [owner.workflowId, owner.runId, owner.target, owner.namespace ?? null],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Under the advisory lock: refuses when another run holds the database, takes over the claim of an
 * earlier run of the same workflow id, or makes the claim row. True when the row was made now.
 */
async function claim(c: Client, database: string, owner: LockOwner): Promise<boolean> {
  const h = await readHolderOn(c, database);
  if (h && !sameRun(h, owner)) throw heldFailure(h);
  if (h && h.runId !== owner.runId) await takeOver(c, owner);
  return !h && (await insertClaim(c, owner));
}

/** For the plan: who holds the target's databases now, if anyone. */
export async function lockHolders(t: ResolvedTarget): Promise<LockHolder[]> {
  return (await eachDatabase(t, (c, _k, database) => readHolderOn(c, database))).filter((h): h is LockHolder =>
    Boolean(h),
  );
}

/**
 * Claims every database of the target for this run, or refuses naming the holder (DatabaseLocked,
 * final) with nothing claimed. Claiming again a database this run holds is a no-op: re-taken after a crash.
 */
export async function acquireResetLock(
  t: ResolvedTarget,
  owner: LockOwner,
  isClosed?: (h: LockHolder) => Promise<boolean>,
): Promise<LockHolder[]> {
  let claimedNow = false;
  try {
    return await eachDatabase(
      t,
      async (c, key, database, _db, lock) => {
        const m = lock ?? c;
        // Another run's claim, made by a run that is over (`isClosed`: terminated, so its ending never gave it
        // back), is no claim: cleared first, on the same session. If that run's last step is still running,
        // it still holds the advisory lock below, and this attempt is told to retry, not refused.
        const h = await readHolderOn(c, database);
        if (h && !sameRun(h, owner) && isClosed && (await isClosed(h))) await deleteClaimsOf(c, h.runId);
        try {
          if (!(await tryAdvisory(m, key))) throw await busy(c, database, owner);
          if (await claim(c, database, owner)) claimedNow = true;
          return (await readHolderOn(c, database))!;
        } finally {
          await unlockAndEnd(m, key, c);
        }
      },
      { lockSession: true },
    );
  } catch (err) {
    // Nothing half-claimed: a second database held by someone else gives back the first.
    if (claimedNow) await releaseResetLock(t, owner).catch(() => undefined);
    throw err;
  }
}

/** Gives the databases back (only this run's claims). Idempotent. */
export async function releaseResetLock(t: ResolvedTarget, owner: Pick<LockOwner, 'runId'>): Promise<number> {
  const n = await eachDatabase(t, (c) => deleteClaimsOf(c, owner.runId));
  return n.reduce((a, x) => a + x, 0);
}

/** Deletes a run's claim rows on this database; 0 where the claim table (or its schema) was never made. */
async function deleteClaimsOf(c: Client, runId: string): Promise<number> {
  const r = await c.query(`DELETE FROM ${TABLE} WHERE run_id = $1`, [runId]).catch((err: { code?: string }) => {
    if (err.code === '42P01' || err.code === '3F000') return { rowCount: 0 };
    throw err;
  });
  return r.rowCount ?? 0;
}

/**
 * Runs a destructive step holding the advisory lock of each of the target's databases on a session of
 * its own (on the maintenance database: see the header), after checking that the claim row names this
 * run (and re-making it if it vanished). With the rebuild strategy no session to the target database
 * stays open while the step runs, so its command can drop it, and the claim row is made again afterwards
 * on a new session if the step took it. Otherwise the session that checked the claim waits, idle and
 * holding no lock, to check it again after the step: one connection less per step (each costs a few
 * milliseconds of authentication, and a run has a dozen of them).
 */
export async function withResetLock<T>(t: ResolvedTarget, owner: LockOwner, fn: () => Promise<T>): Promise<T> {
  const held: { m: Client; key: string; db: DatabaseHandle; database: string; c?: Client }[] = [];
  const seen = new Set<string>();
  const keepTarget = t.config.strategy?.kind !== 'rebuild';
  try {
    for (const db of t.databases) {
      const { c, lock } = await openSessions(db);
      let m: Client | undefined;
      let kept = false;
      try {
        const { key, database } = await lockKey(c);
        if (seen.has(key)) continue;
        seen.add(key);
        m = lock ?? c;
        if (!(await tryAdvisory(m, key))) {
          m = undefined;
          throw await busy(c, database, owner);
        }
        kept = keepTarget && m !== c;
        held.push({ m, key, db, database, ...(kept ? { c } : {}) });
        await claim(c, database, owner);
      } finally {
        // The target's own session ends here, unless it is the lock's session (no maintenance database)
        // or waits for the check after the step; the maintenance session, unless it holds the lock.
        if (m !== c && !kept) await c.end().catch(() => undefined);
        if (m === undefined) await lock?.end().catch(() => undefined);
      }
    }
    return await fn();
  } finally {
    for (const { m, key, db, database, c } of held) {
      await remakeClaim(db, database, owner, c).catch(() => undefined);
      if (c) await c.end().catch(() => undefined);
      await unlockAndEnd(m, key, m);
      await m.end().catch(() => undefined);
    }
  }
}

/**
 * After a step that dropped and re-created the database (a rebuild): its claim row went with it. Made
 * again while the advisory lock is still held, so no other run claims the database in between. A
 * database that is gone (a rebuild that failed after dropping it) is left: the next step re-makes it.
 * `open`: the session kept from before the step, when the step could not drop the database.
 */
async function remakeClaim(db: DatabaseHandle, database: string, owner: LockOwner, open?: Client): Promise<void> {
  const c = open ?? (await connect(db.url));
  try {
    const h = await readHolderOn(c, database);
    if (!h) await insertClaim(c, owner);
  } finally {
    if (!open) await c.end().catch(() => undefined);
  }
}

/**
 * The claim belongs to a workflow id, not to one run of it: `temporal workflow reset` (an operator's
 * reset-to-point) ends run A and goes on as run B of the same id, and B must keep A's claim. The server
 * lets only one run of an id be open at a time, so this never lets a second reset in.
 */
function sameRun(h: LockHolder, owner: LockOwner): boolean {
  if (h.workflowId !== owner.workflowId) return false;
  return !h.namespace || !owner.namespace || h.namespace === owner.namespace;
}

/** Run B of the same workflow id takes over run A's claim, so that B's release at its end gives it back. */
async function takeOver(c: Client, owner: LockOwner): Promise<void> {
  await c.query(`UPDATE ${TABLE} SET run_id = $1 WHERE id = 1 AND workflow_id = $2`, [owner.runId, owner.workflowId]);
}

/**
 * The advisory lock is taken: by another run (final refusal) or by an earlier attempt of this one still finishing
 * (retry).
 */
async function busy(c: Client, database: string, owner: LockOwner): Promise<Error> {
  const h = await readHolderOn(c, database);
  if (h && !sameRun(h, owner)) return heldFailure(h);
  return new Error(
    `database "${database}" is busy: another session of reset-runbook holds its lock (an earlier attempt of this step still running, or another run claiming it). Retrying.`,
  );
}
