/**
 * Solid Queue's data, as a busy production queue database holds it: jobs in every state
 * (ready, claimed, blocked, scheduled, failed, recurring, finished), recurring tasks, semaphores, and the
 * process rows of a worker host that crashed (SIGKILL, power loss) while holding claims: its
 * heartbeat is stale (at the base time), its claimed executions are still there. A real supervisor
 * would prune it after process_alive_threshold; the runbook must recognise it as dead, not live.
 *
 * Same determinism rules as app-rows.ts. Each job and its execution row go in one statement (a
 * data-modifying CTE), so the execution count equals the job count of that state.
 */
import { Client } from 'pg';
import { Plan } from './plan';

const CLASSES = `(ARRAY['PaymentReminderJob','ActionMailer::MailDeliveryJob','DeviceLockJob','OverdueInstallmentsJob'])`;
const QUEUES = `(ARRAY['default','mailers','mdm','default'])`;

/** SELECT list of one job of state `tag`, row g; k is the lateral with i (class index), ajid and at. */
function jobSelect(
  tag: string,
  opts: { scheduledAt?: string; finishedAt?: string; concurrencyKey?: string } = {},
): string {
  return `
    SELECT ${QUEUES}[k.i], ${CLASSES}[k.i],
           json_build_object('job_class', ${CLASSES}[k.i], 'job_id', k.ajid, 'provider_job_id', NULL,
                             'queue_name', ${QUEUES}[k.i], 'priority', NULL, 'arguments', json_build_array(g),
                             'executions', 0, 'exception_executions', json_build_object(), 'locale', 'es',
                             'timezone', 'UTC', 'enqueued_at', to_char(k.at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
           (pg_temp.rnd($1 || ':pr:${tag}:' || g) % 3)::int, k.ajid,
           ${opts.scheduledAt ?? 'k.at'}, ${opts.finishedAt ?? 'NULL::timestamp'}, ${opts.concurrencyKey ?? 'NULL'},
           k.at, k.at
    FROM generate_series(1, $3::int) g
    CROSS JOIN LATERAL (SELECT 1 + (pg_temp.rnd($1 || ':jc:${tag}:' || g) % 4)::int AS i,
                               md5($1 || ':aj:${tag}:' || g)::uuid::text AS ajid,
                               $2::timestamp - make_interval(mins => g) AS at) k
    ORDER BY g`;
}

const JOB_COLUMNS = `(queue_name, class_name, arguments, priority, active_job_id, scheduled_at, finished_at, concurrency_key, created_at, updated_at)`;

export const STALE_SUPERVISOR_PID = 4100;
export const STALE_WORKER_PID = 4101;
export const STALE_HOSTNAME = 'app1.phonefin.example';

async function insertStaleProcesses(c: Client, seed: string, baseTime: string): Promise<number> {
  const r = await c.query(
    `WITH s AS (
       INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name)
       VALUES ('Supervisor', $2::timestamp, NULL, ${STALE_SUPERVISOR_PID}, '${STALE_HOSTNAME}', '{}',
               $2::timestamp - interval '1 day', 'supervisor-' || substr(md5($1 || ':sup'), 1, 20))
       RETURNING id)
     INSERT INTO solid_queue_processes (kind, last_heartbeat_at, supervisor_id, pid, hostname, metadata, created_at, name)
     SELECT 'Worker', $2::timestamp, s.id, ${STALE_WORKER_PID}, '${STALE_HOSTNAME}',
            '{"polling_interval":0.1,"queues":"*","thread_pool_size":3}',
            $2::timestamp - interval '1 day', 'worker-' || substr(md5($1 || ':worker'), 1, 20)
     FROM s`,
    [seed, baseTime],
  );
  return 1 + (r.rowCount ?? 0);
}

const RECURRING_TASKS = `
  INSERT INTO solid_queue_recurring_tasks (key, schedule, command, class_name, arguments, queue_name, priority, static, description, created_at, updated_at)
  VALUES
    ('overdue_installments', 'every day at 6am', NULL, 'OverdueInstallmentsJob', '[]', 'default', 0, true, 'Marks overdue installments, locks devices', $1::timestamp, $1::timestamp),
    ('device_heartbeat_sweep', 'every 15 minutes', NULL, 'DeviceHeartbeatSweepJob', '[]', 'mdm', 0, true, NULL, $1::timestamp, $1::timestamp),
    ('clear_solid_queue_finished_jobs', 'every hour at minute 12', 'SolidQueue::Job.clear_finished_in_batches(sleep_between_batches: 0.3)', NULL, NULL, NULL, 0, true, NULL, $1::timestamp, $1::timestamp)`;

export async function generateQueueRows(
  c: Client,
  ctx: { seed: string; baseTime: string; plan: Plan },
): Promise<Record<string, number>> {
  const { seed, baseTime, plan } = ctx;
  const made: Record<string, number> = { solid_queue_jobs: 0 };
  const run = async (table: string, n: number, sql: string) => {
    const r = await c.query(sql, [seed, baseTime, n]);
    made[table] = (made[table] ?? 0) + (r.rowCount ?? 0);
    if (table !== 'solid_queue_jobs') made.solid_queue_jobs += r.rowCount ?? 0; // one job per execution row
  };

  made.solid_queue_processes = await insertStaleProcesses(c, seed, baseTime);
  made.solid_queue_recurring_tasks = (await c.query(RECURRING_TASKS, [baseTime])).rowCount ?? 0;

  await run(
    'solid_queue_ready_executions',
    plan.jobs.ready,
    `
    WITH j AS (INSERT INTO solid_queue_jobs ${JOB_COLUMNS} ${jobSelect('ready')} RETURNING id, queue_name, priority, created_at)
    INSERT INTO solid_queue_ready_executions (job_id, queue_name, priority, created_at)
    SELECT id, queue_name, priority, created_at FROM j ORDER BY id`,
  );

  await run(
    'solid_queue_claimed_executions',
    plan.jobs.claimed,
    `
    WITH j AS (INSERT INTO solid_queue_jobs ${JOB_COLUMNS} ${jobSelect('claimed')} RETURNING id, created_at)
    INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at)
    SELECT j.id, p.id, j.created_at FROM j
    CROSS JOIN (SELECT id FROM solid_queue_processes WHERE name = 'worker-' || substr(md5($1 || ':worker'), 1, 20)) p
    ORDER BY j.id`,
  );

  await run(
    'solid_queue_blocked_executions',
    plan.jobs.blocked,
    `
    WITH j AS (INSERT INTO solid_queue_jobs ${JOB_COLUMNS}
               ${jobSelect('blocked', { concurrencyKey: `'DeviceLockJob/device-' || g` })}
               RETURNING id, queue_name, priority, concurrency_key, created_at)
    INSERT INTO solid_queue_blocked_executions (job_id, queue_name, priority, concurrency_key, expires_at, created_at)
    SELECT id, queue_name, priority, concurrency_key, created_at + interval '15 minutes', created_at FROM j ORDER BY id`,
  );
  // The semaphore each blocked job waits on, taken (value 0) by the job ahead of it.
  made.solid_queue_semaphores =
    (
      await c.query(`
    INSERT INTO solid_queue_semaphores (key, value, expires_at, created_at, updated_at)
    SELECT concurrency_key, 0, min(expires_at), min(created_at), min(created_at)
    FROM solid_queue_blocked_executions GROUP BY concurrency_key ORDER BY concurrency_key`)
    ).rowCount ?? 0;

  // Far in the future (base time + 10 years), so a running dispatcher leaves them scheduled.
  await run(
    'solid_queue_scheduled_executions',
    plan.jobs.scheduled,
    `
    WITH j AS (INSERT INTO solid_queue_jobs ${JOB_COLUMNS}
               ${jobSelect('scheduled', { scheduledAt: `$2::timestamp + interval '3650 days' + make_interval(mins => g)` })}
               RETURNING id, queue_name, priority, scheduled_at, created_at)
    INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, priority, scheduled_at, created_at)
    SELECT id, queue_name, priority, scheduled_at, created_at FROM j ORDER BY id`,
  );

  await run(
    'solid_queue_failed_executions',
    plan.jobs.failed,
    `
    WITH j AS (INSERT INTO solid_queue_jobs ${JOB_COLUMNS} ${jobSelect('failed')} RETURNING id, created_at)
    INSERT INTO solid_queue_failed_executions (job_id, error, created_at)
    SELECT id, json_build_object('exception_class', 'Net::ReadTimeout', 'message', 'Net::ReadTimeout with #<TCPSocket:(closed)>',
                                 'backtrace', json_build_array('app/jobs/device_lock_job.rb:12:in ''perform'''))::text,
           created_at + interval '5 seconds'
    FROM j ORDER BY id`,
  );

  // Recurring runs: the job was enqueued by a task and has finished; the execution row stays as a run marker.
  await run(
    'solid_queue_recurring_executions',
    plan.jobs.recurring,
    `
    WITH j AS (INSERT INTO solid_queue_jobs ${JOB_COLUMNS}
               ${jobSelect('recurring', { finishedAt: `k.at + interval '2 seconds'` })}
               RETURNING id, created_at, (pg_temp.rnd($1 || ':rk:' || active_job_id) % 3)::int AS t)
    INSERT INTO solid_queue_recurring_executions (job_id, task_key, run_at, created_at)
    SELECT id, (ARRAY['overdue_installments','device_heartbeat_sweep','clear_solid_queue_finished_jobs'])[1 + t],
           created_at, created_at
    FROM j ORDER BY id`,
  );

  // Finished jobs (preserve_finished_jobs is on by default): no execution row at all.
  await run(
    'solid_queue_jobs',
    plan.jobs.finished,
    `
    INSERT INTO solid_queue_jobs ${JOB_COLUMNS} ${jobSelect('finished', { finishedAt: `k.at + interval '2 seconds'` })}`,
  );

  return made;
}
