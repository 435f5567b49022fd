/**
 * The worker's and dispatcher's SQL, as Solid Queue 1.x runs it:
 *   claim     ready → claimed (with the worker's process id), FOR UPDATE SKIP LOCKED, paused queues skipped
 *   finish    job.finished_at set and the claim deleted, in one transaction (preserve_finished_jobs)
 *   release   claimed → ready again (a graceful shutdown hands its unfinished jobs back)
 *   dispatch  due scheduled → ready
 */
import { Pool } from 'pg';
import { NOW } from './processes';

export async function claim(db: Pool, processId: number, limit: number): Promise<number[]> {
  const { rows } = await db.query(
    `WITH picked AS (
       SELECT id, job_id FROM solid_queue_ready_executions
       WHERE queue_name NOT IN (SELECT queue_name FROM solid_queue_pauses)
       ORDER BY priority, job_id LIMIT $2 FOR UPDATE SKIP LOCKED),
     claimed AS (
       INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
       SELECT job_id, $1, ${NOW} FROM picked RETURNING job_id),
     removed AS (DELETE FROM solid_queue_ready_executions r USING picked WHERE r.id = picked.id)
     SELECT job_id FROM claimed`,
    [processId, limit],
  );
  return rows.map((r) => Number(r.job_id));
}

/** Finishes a job this process still holds; false if the claim is gone (released, pruned or truncated). */
export async function finish(db: Pool, processId: number, jobId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH done AS (DELETE FROM solid_queue_claimed_executions WHERE job_id = $1 AND process_id = $2 RETURNING job_id)
     UPDATE solid_queue_jobs j SET finished_at = ${NOW}, updated_at = ${NOW} FROM done WHERE j.id = done.job_id`,
    [jobId, processId],
  );
  return (rowCount ?? 0) > 0;
}

/** ClaimedExecution#release for every claim of the process: the job goes back to ready. */
export async function releaseAll(db: Pool, processId: number): Promise<number> {
  const { rowCount } = await db.query(
    `WITH gone AS (DELETE FROM solid_queue_claimed_executions WHERE process_id = $1 RETURNING job_id)
     INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
     SELECT j.id, j.queue_name, j.priority, ${NOW} FROM gone JOIN solid_queue_jobs j ON j.id = gone.job_id
     ON CONFLICT (job_id) DO NOTHING`,
    [processId],
  );
  return rowCount ?? 0;
}

export async function dispatchDue(db: Pool, batchSize: number): Promise<number> {
  const { rowCount } = await db.query(
    `WITH due AS (
       SELECT id, job_id, queue_name, priority FROM solid_queue_scheduled_executions
       WHERE scheduled_at <= ${NOW} ORDER BY scheduled_at, priority, job_id LIMIT $1 FOR UPDATE SKIP LOCKED),
     removed AS (DELETE FROM solid_queue_scheduled_executions s USING due WHERE s.id = due.id)
     INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
     SELECT job_id, queue_name, priority, ${NOW} FROM due
     ON CONFLICT (job_id) DO NOTHING`,
    [batchSize],
  );
  return rowCount ?? 0;
}
