/**
 * The script psql runs around pg_restore's stream (load.ts): the header that opens the transaction and
 * empties the tables, and the footer that checks every table's rows, puts the backup's claimed jobs
 * back, adds the foreign keys and commits. psql's markers in its output say how far it got.
 */
import { randomBytes } from 'node:crypto';
import { escapeLiteral } from 'pg';
import { quoted, type TableRef } from '../lib/postgres';
import type { CopyCounter } from './copy-stream';
import type { RestoreRelation } from './toc';

/** What psql prints after COMMIT: proof that it read the whole script (an empty stdin also exits 0). */
export const COMMITTED = 'reset-runbook: restore committed';
export const REQUEUED = /reset-runbook: requeued (\d+)/;
export const INCOMPLETE = 'reset-runbook: load incomplete:';
export const CLAIMS_AT_BACKUP = 'pg_temp.rr_claimed_at_backup';

type Queue = { claimed: TableRef; jobs: TableRef; ready: TableRef };

/** The Solid Queue tables of one schema, when the claims the backup held can be put back as ready jobs. */
export function queueOf(restored: TableRef[], live: TableRef[]): Queue | undefined {
  const claimed = live.find((t) => t.table === 'solid_queue_claimed_executions');
  if (!claimed) return undefined;
  const jobs = restored.find((t) => t.schema === claimed.schema && t.table === 'solid_queue_jobs');
  const ready = restored.find((t) => t.schema === claimed.schema && t.table === 'solid_queue_ready_executions');
  return jobs && ready ? { claimed, jobs, ready } : undefined;
}

/** Opens the transaction, drops the foreign keys that touch the tables, and empties them. */
export function header(lockMs: number, queue: Queue | undefined, dropFks: string[], restored: TableRef[]): string {
  return [
    'BEGIN;',
    `SET LOCAL lock_timeout = '${lockMs}ms';`,
    ...(queue ? [`CREATE TEMPORARY TABLE ${CLAIMS_AT_BACKUP} (LIKE ${quoted(queue.claimed)}) ON COMMIT DROP;`] : []),
    ...dropFks,
    `TRUNCATE TABLE ${restored.map(quoted).join(', ')};`,
    '',
  ].join('\n');
}

/** Rows the backup streamed per restored table: a partitioned table's are its partitions'. */
export function rowsByTable(
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
export function footer(
  counter: CopyCounter,
  relations: RestoreRelation[],
  queue: Queue | undefined,
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
function requeueClaims(q: Queue): string[] {
  return [
    `WITH requeued AS (INSERT INTO ${quoted(q.ready)} (job_id, queue_name, priority, created_at)`,
    `  SELECT j.id, j.queue_name, j.priority, (now() AT TIME ZONE 'UTC') FROM ${CLAIMS_AT_BACKUP} c JOIN ${quoted(q.jobs)} j ON j.id = c.job_id`,
    `   WHERE j.finished_at IS NULL AND NOT EXISTS (SELECT 1 FROM ${quoted(q.ready)} r WHERE r.job_id = j.id) RETURNING 1)`,
    `SELECT count(*) AS rr_requeued FROM requeued \\gset`,
    `\\echo reset-runbook: requeued :rr_requeued`,
  ];
}
