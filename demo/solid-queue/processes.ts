/**
 * solid_queue_processes, as Solid Queue 1.x keeps it: each supervisor, worker and dispatcher registers a
 * row (kind, name "<kind>-<20 hex>", pid, hostname, supervisor_id, metadata JSON), heartbeats it, and
 * deletes it on a clean shutdown. Times are UTC in `timestamp without time zone`, as Rails stores them.
 */
import { randomBytes } from 'crypto';
import { Pool, PoolClient } from 'pg';

export const NOW = `(now() AT TIME ZONE 'UTC')`;

export type Kind = 'Supervisor' | 'Worker' | 'Dispatcher';

export interface Registered {
  id: number;
  kind: Kind;
  name: string;
}

export async function register(
  db: Pool,
  p: { kind: Kind; pid: number; hostname: string; supervisorId?: number; metadata: Record<string, unknown> },
): Promise<Registered> {
  const name = `${p.kind.toLowerCase()}-${randomBytes(10).toString('hex')}`;
  const { rows } = await db.query(
    `INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name)
     VALUES ($1, ${NOW}, $2, $3, $4, $5, ${NOW}, $6) RETURNING id`,
    [p.kind, p.supervisorId ?? null, p.pid, p.hostname, JSON.stringify(p.metadata), name],
  );
  return { id: Number(rows[0].id), kind: p.kind, name };
}

/** Returns the ids that still exist: a missing row was pruned or truncated away under us. */
export async function heartbeat(db: Pool, ids: number[]): Promise<number[]> {
  const { rows } = await db.query(
    `UPDATE solid_queue_processes SET last_heartbeat_at = ${NOW} WHERE id = ANY($1::bigint[]) RETURNING id`,
    [ids],
  );
  return rows.map((r) => Number(r.id));
}

/**
 * Fails (as Solid Queue does: failed_execution with the error) every claim held by the given processes or by none that
 * exists.
 */
async function failClaims(
  c: PoolClient,
  where: string,
  params: unknown[],
  exceptionClass: string,
  message: string,
): Promise<number> {
  const { rowCount } = await c.query(
    `WITH gone AS (DELETE FROM solid_queue_claimed_executions ce WHERE ${where} RETURNING job_id)
     INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
     SELECT job_id, json_build_object('exception_class', $${params.length + 1}::text, 'message', $${params.length + 2}::text, 'backtrace', json_build_array())::text, ${NOW}
     FROM gone
     ON CONFLICT (job_id) DO NOTHING`,
    [...params, exceptionClass, message],
  );
  return rowCount ?? 0;
}

/**
 * The supervisor's maintenance (Supervisor::Maintenance): on boot, fail claims whose process row is gone
 * (ProcessMissingError); then prune processes whose heartbeat is older than the alive threshold,
 * failing their claims (ProcessPrunedError) and deleting their rows.
 */
export async function maintain(
  db: Pool,
  opts: { excludingId?: number; aliveThresholdSeconds: number; failOrphaned: boolean },
) {
  const c = await db.connect();
  try {
    await c.query('BEGIN');
    let orphaned = 0;
    if (opts.failOrphaned) {
      orphaned = await failClaims(
        c,
        `NOT EXISTS (SELECT 1 FROM solid_queue_processes p WHERE p.id = ce.process_id)`,
        [],
        'SolidQueue::Processes::ProcessMissingError',
        'The process that was running this job no longer exists',
      );
    }
    const { rows } = await c.query(
      `SELECT id FROM solid_queue_processes
       WHERE last_heartbeat_at <= ${NOW} - make_interval(secs => $1) AND id IS DISTINCT FROM $2
       FOR UPDATE SKIP LOCKED`,
      [opts.aliveThresholdSeconds, opts.excludingId ?? null],
    );
    const dead = rows.map((r) => Number(r.id));
    let pruned = 0;
    if (dead.length) {
      pruned = await failClaims(
        c,
        `ce.process_id = ANY($1::bigint[])`,
        [dead],
        'SolidQueue::Processes::ProcessPrunedError',
        'Process was found dead and pruned',
      );
      await c.query('DELETE FROM solid_queue_processes WHERE id = ANY($1::bigint[])', [dead]);
    }
    await c.query('COMMIT');
    return { orphanedClaimsFailed: orphaned, deadProcesses: dead.length, prunedClaimsFailed: pruned };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

export async function deregister(db: Pool, ids: number[]): Promise<void> {
  await db.query('DELETE FROM solid_queue_processes WHERE id = ANY($1::bigint[])', [ids]);
}
