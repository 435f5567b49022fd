/**
 * The targets file, defined once: the types (types.ts), the checks and messages of the loader
 * (load.ts), the defaults filled in at load (from defaults.ts) and the published JSON Schema
 * (deploy/targets.schema.json, `npm run schema`) all come from this module: the whole file, its
 * groups here, the checks between fields in schema-checks.ts, the sections of a target in
 * schema-sections.ts and schema-storage.ts (storage and backup), the
 * building blocks (each with its operator-facing message) in schema-parts.ts.
 *
 * Why zod (v4): it derives the TypeScript types and the JSON Schema (`z.toJSONSchema`) from one
 * definition, fills defaults while parsing, reports every issue with its path in one pass, and lets
 * each check carry our own message, so the operator-facing wording stays ours. TypeBox starts from
 * JSON Schema (better for a schema-first project, but its error messages are generic and defaults
 * need a separate `Value.Default` pass); valibot's JSON Schema export is a separate package. Zod is
 * used on the worker side only: the workflow bundle never imports this module (defaults.ts and
 * rules.ts are the plain parts it shares).
 *
 * Secrets appear only as the *names* of environment variables (`urlEnv`), never as values. Checks
 * that need the worker's environment (is the variable set? does a webhook variable hold a URL?) run
 * when an environment is given to `targetsFileSchema(env)`; the JSON Schema is built without one.
 */
import { z } from 'zod';
import { DEFAULTS } from './defaults';
import { approval } from './schema-approval';
import { ENV_NAME, TARGET_NAME, TARGET_NAME_RULE } from './rules';
import { AT_PARENT, Env, anyStr, bool, list, num, obj, str } from './schema-parts';
import { databaseFields, expectedCount, schedule, seeds, strategy, webhook, workers } from './schema-sections';
import { backup, storage } from './schema-storage';
import { crossChecks, groupChecks } from './schema-checks';

// ---- groups of targets (fleet resets and schedules) ----

const share = z
  .union([z.number().int().min(0), z.string().regex(/^\d+(\.\d+)?%$/)], {
    error: 'expected a whole number or a percentage like "25%"',
  })
  .describe('A count, or a share of the group\'s targets like "25%".');
const group = z
  .union(
    [
      z.array(z.string().regex(TARGET_NAME), { error: 'expected a list of target names' }),
      obj(
        {
          targets: z
            .array(z.string().regex(TARGET_NAME), { error: 'expected a list of target names' })
            .min(1, { error: 'expected at least one target' })
            .describe("The group's targets, by name, in the order they are reset."),
          maxConcurrent: share.optional(),
          maxFailures: share.optional(),
          batches: z
            .array(share, { error: 'expected a list like [1, "25%", "100%"]' })
            .describe(
              'Canary batches: how many targets each batch resets, in order, e.g. [1, "25%", "100%"]; the next batch starts only when one has ended.',
            )
            .optional(),
          schedule: schedule.optional(),
        },
        'expected an object',
      ),
    ],
    { error: 'expected a list of target names, or {"targets": [...], "schedule": {...}}' },
  )
  .describe('Targets reset together by `reset-runbook fleet start --group <name>`, in this order.');

// ---- a target, and the file ----

function target(env: Env | undefined) {
  return obj(
    {
      database: obj(databaseFields(env), 'required, e.g. {"urlEnv": "DATABASE_URL"}').describe(
        "The application's primary database: where the worker finds its URL, which schemas are reset, which tables are kept.",
      ),
      secretEnv: list(
        (m) => z.string({ error: m }).regex(ENV_NAME, { error: m }),
        'expected a list of environment variable NAMES, e.g. ["STRIPE_KEY"] (never the values)',
        'Further environment variables of the worker whose values are secrets: redacted from every result, error and log. Child processes get one only when seeds.env / workers.env / strategy.env pass it.',
      ).optional(),
      extraDatabases: z
        .array(
          obj(
            { name: str('Logical name, as database.yml calls it: "queue", "cache", "cable".'), ...databaseFields(env) },
            'expected an object',
          ),
          { error: 'expected a list' },
        )
        .describe(
          "The application's other databases (database.yml's queue, cache, cable): reset and backed up with the primary one. One that is another's own database under a second URL must reset other schemas of it (the plan refuses the same tables twice).",
        )
        .optional(),
      restartIdentity: bool(
        'Restart identity sequences. Default false: ids keep counting, as db:seed:replant leaves them.',
      ).default(DEFAULTS.restartIdentity),
      seeds: seeds
        .describe(
          'How the emptied tables are filled again: {"sqlFile": …} in the TRUNCATE\'s transaction, or {"command": […]} after it commits.',
        )
        .optional(),
      strategy: strategy
        .describe(
          'How the data is reset: "replant" (the default) truncates and seeds; "rebuild" runs a command that recreates the schema.',
        )
        .default({ kind: 'replant' }),
      workers: workers
        .describe(
          'The Solid Queue workers: the commands that stop and start them, and how long each may take. Left out, the run neither stops nor starts them (the plan warns).',
        )
        .optional(),
      storage: storage
        .describe(
          'The ActiveStorage services whose files the purge deletes once their blobs are truncated, and the quarantine that lets a restore bring them back.',
        )
        .optional(),
      backup: backup.describe(
        "Where the pg_dump backups (and the run's manifests and journals) are kept, how many, how old one may be at the TRUNCATE, how each is proven.",
      ),
      verify: obj(
        {
          expect: z
            .array(expectedCount, { error: 'expected a list of {"label", "table", "count" | "min"/"max"}' })
            .describe('One line of the verify report each, e.g. {"label": "Users", "table": "users", "count": 6}.'),
        },
        'expected a list of {"label", "table", "count" | "min"/"max"}',
      )
        .describe('Row counts checked after the reset (step 6), printed in the runbook\'s "Users: 6" form.')
        .optional(),
      schedule: schedule.optional(),
      approval,
      timing: obj(
        {
          heartbeatTimeoutSeconds: num(
            1,
            'A worker that dies mid-step is noticed after this long and the step is retried elsewhere.',
          ).default(DEFAULTS.timing.heartbeatTimeoutSeconds),
          maximumAttempts: num(1, 'Attempts per step before the run waits for an operator.').default(
            DEFAULTS.timing.maximumAttempts,
          ),
          lockTimeoutSeconds: num(
            1,
            "How long the reset step waits for each lock on the tables it empties (taken against writers before it reads the rows it records, then the TRUNCATE's) while another session holds one.",
          ).default(DEFAULTS.timing.lockTimeoutSeconds),
        },
        'expected an object',
      )
        .describe("Heartbeat timeout, attempts per step, and the TRUNCATE's lock wait.")
        .prefault({}),
      plan: obj(
        {
          exactCounts: bool('Count every table exactly, however large.').default(DEFAULTS.plan.exactCounts),
          estimateAboveRows: z
            .number({ error: 'expected a whole number >= 0' })
            .int({ error: 'expected a whole number >= 0' })
            .min(0, { error: 'expected a whole number >= 0' })
            .describe(
              'Tables whose pg_class.reltuples estimate is at least this are shown with the estimate (marked "≈") unless exactCounts.',
            )
            .default(DEFAULTS.plan.estimateAboveRows),
        },
        'expected an object',
      )
        .describe('How the plan counts rows: exactly, or by estimate for large tables.')
        .prefault({}),
      notify: obj(
        {
          webhooks: z
            .array(webhook(env), { error: `${AT_PARENT}expected {"webhooks": [{"urlEnv": "SLACK_WEBHOOK_URL"}]}` })
            .describe(
              "Each a webhook URL (the name of the worker's environment variable that holds it) and the events it receives.",
            ),
        },
        'expected {"webhooks": [{"urlEnv": "SLACK_WEBHOOK_URL"}]}',
      )
        .describe(
          'Who hears about a run that waits for a person, leaves the workers stopped, completes or fails: a JSON POST (Slack-compatible).',
        )
        .optional(),
    },
    'must be an object',
  ).superRefine(crossChecks, { when: () => true });
}

/** The whole file. With `env`, names of environment variables are checked against it. */
export function targetsFileSchema(env?: Env) {
  return obj(
    {
      $schema: anyStr(
        'The JSON Schema of this file, for editors: a path relative to the file, e.g. "../deploy/targets.schema.json".',
      ).optional(),
      targets: z
        .record(z.string(), target(env), { error: 'expected {"<name>": {...}}' })
        .superRefine(
          (targets, ctx) => {
            if (typeof targets !== 'object' || targets === null) return;
            for (const name of Object.keys(targets))
              if (!TARGET_NAME.test(name))
                ctx.addIssue({
                  code: 'custom',
                  path: [name],
                  message: `a target name is ${TARGET_NAME_RULE} (it becomes part of a workflow id and a file name)`,
                });
          },
          { when: () => true },
        )
        .describe(`The targets this worker can reset, by name (${TARGET_NAME_RULE}).`),
      groups: z
        .record(z.string(), group, { error: 'expected {"<group>": ["<target>", ...]}' })
        .describe('Named groups of targets for fleet resets and schedules.')
        .optional(),
    },
    'top level must be an object {"targets": {"<name>": {...}}}',
  )
    .superRefine(
      (f, ctx) => {
        if (f && typeof f.targets === 'object' && f.targets !== null && Object.keys(f.targets).length === 0)
          ctx.addIssue({ code: 'custom', path: [], message: '"targets" is empty: define at least one target' });
        groupChecks(f, ctx);
      },
      { when: () => true },
    )
    .describe(
      'reset-runbook targets file: the worker reads it from RESET_RUNBOOK_TARGETS. Secrets appear only as names of environment variables.',
    );
}

/** The schema as types are derived from it (the environment checks do not change the shapes). */
const shapeOnly = targetsFileSchema();
export type TargetsFileInput = z.input<typeof shapeOnly>;
export type TargetsFileOutput = z.output<typeof shapeOnly>;

/** The published JSON Schema: what a person writes (defaults not required). */
export function targetsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(shapeOnly, { io: 'input', target: 'draft-2020-12' }) as unknown as {
    properties: { targets: { propertyNames: unknown } };
  };
  // Target names are checked by a refinement (so a bad name does not hide the problems inside the
  // target); editors get the rule as a pattern.
  schema.properties.targets.propertyNames = { type: 'string', pattern: TARGET_NAME.source };
  const { $schema, ...rest } = schema as unknown as Record<string, unknown>;
  return { $schema, title: 'reset-runbook targets file', ...rest };
}
