/**
 * What Solid Queue's own tables say about its processes. A process is alive while its heartbeat is
 * younger than the threshold (Solid Queue's process_alive_threshold, 5 minutes by default); rows of a
 * crashed host stay behind with an old heartbeat and do not count as alive.
 */
import type { Client } from 'pg';

export interface QueueState {
  /** False where the database has no Solid Queue tables (then there is nothing to watch). */
  present: boolean;
  alive: number;
  stale: number;
  claimedByLive: number;
  claimedTotal: number;
  /** The database's clock, so "heartbeat since" comparisons never mix two clocks. */
  now: Date;
}

export async function queueState(c: Client, thresholdSeconds: number, since?: Date): Promise<QueueState> {
  const present = (await c.query<{ ok: boolean }>(`SELECT to_regclass('solid_queue_processes') IS NOT NULL AS ok`))
    .rows[0].ok;
  const now = (await c.query<{ now: Date }>(`SELECT now() AS now`)).rows[0].now;
  if (!present) return { present, alive: 0, stale: 0, claimedByLive: 0, claimedTotal: 0, now };
  // "alive" = heartbeat within the threshold and, when asked, since a moment (a restart must beat anew).
  const r = await c.query<{ alive: string; stale: string; claimed_live: string; claimed_total: string }>(
    `WITH live AS (
        SELECT id FROM solid_queue_processes
         WHERE last_heartbeat_at > now() - make_interval(secs => $1)
           AND ($2::timestamptz IS NULL OR last_heartbeat_at >= $2::timestamptz))
     SELECT (SELECT count(*) FROM live) AS alive,
            (SELECT count(*) FROM solid_queue_processes) - (SELECT count(*) FROM live) AS stale,
            (SELECT count(*) FROM solid_queue_claimed_executions WHERE process_id IN (SELECT id FROM live)) AS claimed_live,
            (SELECT count(*) FROM solid_queue_claimed_executions) AS claimed_total`,
    [thresholdSeconds, since ?? null],
  );
  const x = r.rows[0];
  return {
    present,
    alive: Number(x.alive),
    stale: Number(x.stale),
    claimedByLive: Number(x.claimed_live),
    claimedTotal: Number(x.claimed_total),
    now,
  };
}

/**
 * Whether any Solid Queue process ever registered in this database: rows in solid_queue_processes,
 * or else its id sequence having handed out a value (rows of dead processes are pruned, the sequence
 * is not rewound). `undefined` where the table or its sequence is missing, so nothing can be said.
 * A table that never saw a process means nothing here has run Solid Queue against it: a start
 * command cannot be expected to bring heartbeats back.
 */
export async function processesEverRegistered(c: Client): Promise<boolean | undefined> {
  const r = await c.query<{ present: boolean; seq: string | null }>(
    `SELECT to_regclass('solid_queue_processes') IS NOT NULL AS present,
            CASE WHEN to_regclass('solid_queue_processes') IS NOT NULL THEN pg_get_serial_sequence('solid_queue_processes', 'id') END AS seq`,
  );
  if (!r.rows[0].present) return undefined;
  const rows = await c.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM solid_queue_processes) AS any`);
  if (rows.rows[0].any) return true;
  const seq = r.rows[0].seq;
  if (!seq) return undefined;
  const used = await c.query<{ used: boolean }>(`SELECT pg_sequence_last_value($1::regclass) IS NOT NULL AS used`, [
    seq,
  ]);
  return used.rows[0].used;
}
