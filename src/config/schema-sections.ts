/**
 * The sections of a target in the targets file (database, seeds, strategy, workers, storage, backup,
 * verify, schedule, notify), made of the building blocks of schema-parts.ts; schema.ts puts them
 * together into a target and the whole file.
 */
import { z } from 'zod';
import { NOTIFY_EVENTS } from '../contract';
import { DEFAULTS } from './defaults';
import { Env, anyStr, bool, command, duration, envMap, list, num, obj, str, strList, urlEnv } from './schema-parts';

export function databaseFields(env: Env | undefined) {
  return {
    urlEnv: urlEnv('database URL', env),
    schemas: strList("Schemas to reset. Default: the connection's search path (its existing schemas).").optional(),
    keepTables: strList(
      'Tables kept besides schema_migrations and ar_internal_metadata (always kept): "table" or "schema.table".',
    ).optional(),
    refreshMaterializedViews: bool(
      'Refresh the materialized views that read truncated tables after the seeds, so they show the new rows. When false they keep their old rows (the plan says so).',
    ).default(DEFAULTS.database.refreshMaterializedViews),
  };
}

const runSettings = {
  cwd: anyStr('Working directory; relative paths resolve against the targets file.').optional(),
  env: envMap("Extra environment; `${VAR}` is taken from the worker's environment.").optional(),
};

const sqlSeeds = obj(
  {
    sqlFile: str('Applied in the same transaction as the TRUNCATE. Relative paths resolve against the targets file.'),
    database: str('"primary" or an extra database\'s name.').default('primary'),
  },
  'expected an object',
);
const commandSeeds = obj(
  {
    command: command('Run after the TRUNCATE commits, e.g. ["bin/rails", "db:seed"].'),
    ...runSettings,
    timeoutSeconds: num(1, 'Seconds before the seed command is killed.').default(DEFAULTS.seeds.timeoutSeconds),
  },
  'expected an object',
);
export const seeds = z.union([sqlSeeds, commandSeeds], {
  error: 'expected either {"sqlFile": "..."} or {"command": [...]}',
});

const KIND =
  '"replant": TRUNCATE and seeds; "rebuild": a command that recreates the schema (high risk: a second confirmation).';
export const strategy = z.discriminatedUnion(
  'kind',
  [
    obj({ kind: z.literal('replant').describe(KIND) }, 'expected an object'),
    obj(
      {
        kind: z.literal('rebuild').describe(KIND),
        command: command('For a corrupted schema only: `bin/rails db:reset` or `db:migrate:reset`. High risk.'),
        ...runSettings,
        timeoutSeconds: num(1, 'Seconds before the rebuild command is killed.').default(
          DEFAULTS.strategy.rebuildTimeoutSeconds,
        ),
      },
      'expected an object',
    ),
  ],
  { error: 'expected "replant" or "rebuild"' },
);

export const workers = obj(
  {
    stop: str('Shell command, e.g. "sudo systemctl stop solid_queue" or "ssh app1 sudo systemctl stop solid_queue".'),
    start: str('Shell command that starts the workers again.'),
    status: str('Shell command that shows the workers (for operators).').optional(),
    ...runSettings,
    database: str('Which database holds solid_queue_processes: "primary" or an extra database\'s name.').default(
      DEFAULTS.workers.database,
    ),
    heartbeatThresholdSeconds: num(
      1,
      "A process whose heartbeat is older than this is dead (Solid Queue's process_alive_threshold).",
    ).default(DEFAULTS.workers.heartbeatThresholdSeconds),
    stopTimeoutSeconds: num(1, 'Seconds the stop command and the wait for no live process may take.').default(
      DEFAULTS.workers.stopTimeoutSeconds,
    ),
    startTimeoutSeconds: num(1, 'Seconds the start command and the wait for fresh heartbeats may take.').default(
      DEFAULTS.workers.startTimeoutSeconds,
    ),
    restartBudgetSeconds: num(
      1,
      'Total time a failing run may spend starting the workers again before it says they are still stopped.',
    ).default(DEFAULTS.workers.restartBudgetSeconds),
    whenNoneAliveBefore: z
      .enum(['start', 'leave'], { error: 'expected "start" or "leave"' })
      .describe(
        'When no Solid Queue process is alive before the reset: "start" starts them at the end anyway; "leave" leaves them stopped, as they were.',
      )
      .default(DEFAULTS.workers.whenNoneAliveBefore),
    startBeforePurge: bool(
      "Start the workers right after the seeds, before the storage purge: they are stopped only for the TRUNCATE and the seeds, however many files the purge deletes. false keeps the runbook's order (purge, then start).",
    ).default(DEFAULTS.workers.startBeforePurge),
  },
  'expected an object with "stop" and "start" commands',
);

export const expectedCount = obj(
  {
    label: str('As the runbook prints it, e.g. "Users".'),
    table: str('The table whose rows are counted.'),
    database: str('"primary" or an extra database\'s name.').default('primary'),
    count: num(0, 'Exact rows expected.').optional(),
    min: num(0, 'At least this many rows.').optional(),
    max: num(0, 'At most this many rows.').optional(),
  },
  'expected an object',
);

/**
 * A scheduled reset (Temporal's Schedule API, kept in step with this file by `reset-runbook schedule
 * sync`). Cron in Temporal's five-field syntax; the time zone an IANA name.
 */
const CRON = /^\S+(\s+\S+){4}$/;
const CRON_RULE =
  'expected a cron expression of five fields, e.g. "0 5 * * *" (minute hour day-of-month month day-of-week)';
export const schedule = obj(
  {
    cron: z
      .string({ error: CRON_RULE })
      .regex(CRON, { error: CRON_RULE })
      .describe('When it runs, e.g. "0 5 * * *" (05:00 every day).'),
    timezone: str('An IANA time zone, e.g. "Europe/Berlin". Default UTC.').optional(),
    jitter: duration(
      'Each run starts up to this much later, at random (spreads many schedules), e.g. "5m".',
    ).optional(),
    pauseOnFailure: bool('Pause the schedule after a run that did not complete, until a person unpauses it.').default(
      false,
    ),
  },
  'expected {"cron": "0 5 * * *", "timezone": "Europe/Berlin", "jitter": "5m", "pauseOnFailure": true}',
).describe(
  'Reset on a calendar, unattended: refused for production and for targets that require approval. `reset-runbook schedule sync` creates it in Temporal.',
);

export const webhook = (env: Env | undefined) =>
  obj(
    {
      urlEnv: urlEnv('webhook URL', env),
      events: list(
        (m) => z.enum(NOTIFY_EVENTS, { error: m }),
        `expected a non-empty list of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')} (or leave it out for all)`,
        'The events this webhook receives. Default: all of them.',
      )
        .min(1, {
          error: `expected a non-empty list of ${NOTIFY_EVENTS.map((e) => `"${e}"`).join(', ')} (or leave it out for all)`,
        })
        .optional(),
    },
    'expected an object {"urlEnv": "..."}',
  );
