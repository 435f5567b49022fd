/** RR_LOG_FORMAT/RR_LOG_LEVEL: the json line, its redaction and the refused settings. No stack needed. */
import { ApplicationFailure } from '@temporalio/common';
import type { LogEntry } from '@temporalio/worker';
import { redactor } from '../../src/activities/lib/secrets';
import type { LoadedTargets } from '../../src/config/load';
import { targetsFileSchema } from '../../src/config/schema';
import { jsonLine, plain, targetOfWorkflowId, textLine } from '../../src/observability/log-line';
import { LoggingConfigError, logFormatOf, logLevelOf, workerLogging } from '../../src/observability/logging';

const URL_SECRET = 'postgres://app:p%40ss%2Fw0rd@db1:5432/app_production';
const at = BigInt(Date.UTC(2026, 11, 3, 12, 0, 0, 250)) * 1_000_000n;
const entry = (over: Partial<LogEntry> = {}): LogEntry => ({
  level: 'INFO',
  message: 'hello',
  timestampNanos: at,
  ...over,
});
const ctx = { redactor: redactor([URL_SECRET, 'aws-secret-1']), targets: ['app', 'app-eu'] };

test('an activity line: time, level, message, then the run coordinates, then the SDK attributes', () => {
  const line = jsonLine(
    entry({
      message: 'Activity failed',
      level: 'WARN',
      meta: {
        sdkComponent: 'worker',
        attempt: 2,
        activityType: 'resetDatabase',
        workflowId: 'reset-app',
        workflowRunId: 'run-1',
        taskQueue: 'reset-runbook',
        error: ApplicationFailure.create({ message: `could not connect to ${URL_SECRET}`, type: 'PgError' }),
        durationMs: 12n,
      },
    }),
    ctx,
  );
  const o = JSON.parse(line);
  expect(Object.keys(o).slice(0, 8)).toEqual([
    'time',
    'level',
    'message',
    'workflowId',
    'runId',
    'target',
    'step',
    'attempt',
  ]);
  expect(o).toMatchObject({
    time: '2026-12-03T12:00:00.250Z',
    level: 'warn',
    workflowId: 'reset-app',
    runId: 'run-1',
    target: 'app', // from the workflow id: the SDK's lines before the activity function starts
    step: 'reset',
    attempt: 2,
    taskQueue: 'reset-runbook',
    durationMs: '12',
    error: { name: 'ApplicationFailure', type: 'PgError', message: 'could not connect to [redacted]' },
  });
  expect(o.workflowRunId).toBeUndefined();
  expect(line).not.toContain('p%40ss');
  expect(line).not.toContain('p@ss');
});

test('redaction walks the values, so a secret that JSON would escape is still caught and the line stays JSON', () => {
  const quoted = 'se"cr\\et-9';
  const line = jsonLine(entry({ message: `pw=${quoted}`, meta: { nested: [{ deep: `x ${quoted} y` }] } }), {
    ...ctx,
    redactor: redactor([quoted]),
  });
  expect(JSON.parse(line)).toMatchObject({ message: 'pw=[redacted]', nested: [{ deep: 'x [redacted] y' }] });
  // Any URL's credentials, known or not; the regex runs on values, never across JSON punctuation.
  const other = JSON.parse(jsonLine(entry({ message: 'see https://u:hunter22@x.example/', meta: { a: '"@' } }), ctx));
  expect(other).toMatchObject({ message: 'see https://[redacted]@x.example/', a: '"@' });
});

test("core's Rust module is `module`, not a target; an explicit target wins over the workflow id's", () => {
  const core = JSON.parse(
    jsonLine(entry({ meta: { sdkComponent: 'core', target: 'temporalio_sdk_core::worker' } }), ctx),
  );
  expect(core.module).toBe('temporalio_sdk_core::worker');
  expect(core.target).toBeUndefined();
  const wf = JSON.parse(jsonLine(entry({ meta: { workflowId: 'fleet-nightly', runId: 'r', target: 'app-eu' } }), ctx));
  expect(wf).toMatchObject({ workflowId: 'fleet-nightly', runId: 'r', target: 'app-eu' });
});

test('the target of a workflow id, among the known targets', () => {
  const t = ['app', 'app-eu'];
  expect(targetOfWorkflowId('reset-app', t)).toBe('app');
  expect(targetOfWorkflowId('restore-app-eu', t)).toBe('app-eu');
  expect(targetOfWorkflowId('drill-app', t)).toBe('app');
  expect(targetOfWorkflowId('plan-app-eu-20261203T120000', t)).toBe('app-eu');
  expect(targetOfWorkflowId('plan-app-20261203T120000', t)).toBe('app');
  expect(targetOfWorkflowId('scheduled-app-2026-12-03T12:00:00Z', t)).toBe('app');
  expect(targetOfWorkflowId('reset-other', t)).toBeUndefined();
  expect(targetOfWorkflowId('fleet-app', t)).toBeUndefined();
});

test('plain: cycles, depth, bigints, dates, buffers and functions become something JSON can carry', () => {
  const a: Record<string, unknown> = { n: 1n, d: new Date(0), b: Buffer.from('abc'), f: () => 1, inf: Infinity };
  a.self = a;
  expect(plain(a)).toEqual({
    n: '1',
    d: '1970-01-01T00:00:00.000Z',
    b: '[3 bytes]',
    inf: 'Infinity',
    self: '[circular]',
  });
  const shared = { x: 1 };
  expect(plain({ p: shared, q: shared })).toEqual({ p: { x: 1 }, q: { x: 1 } }); // seen twice is not a cycle
});

test('the text line is the SDK default format, redacted', () => {
  const line = textLine(entry({ message: `url ${URL_SECRET}`, meta: { k: 'aws-secret-1' } }), ctx.redactor, false);
  expect(line).toBe(
    `${new Date(Date.UTC(2026, 11, 3, 12, 0, 0, 250)).toISOString()} [INFO] url [redacted] { k: '[redacted]' }`,
  );
});

test('the worker logging: json lines through the SDK logger and the own lines, secrets from the targets file', () => {
  const lines: string[] = [];
  const codecKey = Buffer.alloc(32, 7).toString('base64');
  const env = {
    RR_LOG_FORMAT: 'json',
    APP_DB: URL_SECRET,
    AWS_SECRET_ACCESS_KEY: 'aws-secret-1',
    RR_CODEC_KEYS: `k2026:${codecKey}`,
  };
  const logging = workerLogging(env, { write: (l) => lines.push(l), processWide: false });
  expect(logging.coreLogging).toMatchObject({ forward: {} });
  logging.error(`refused: aws-secret-1 and ${URL_SECRET}`); // before the targets file: the always-secret names only
  const t: LoadedTargets = {
    file: '/t.json',
    targets: {
      app: targetsFileSchema().parse({ targets: { app: { database: { urlEnv: 'APP_DB' }, backup: { dir: '/b' } } } })
        .targets.app,
    },
  };
  logging.useTargets(t);
  logging.logger.info(`connecting to ${URL_SECRET}`, { workflowId: 'reset-app' });
  logging.logger.debug('below INFO: not written');
  logging.info(`started, key k2026 (${codecKey})`);
  const parsed = lines.map((l) => JSON.parse(l));
  expect(parsed.map((o) => [o.level, o.message])).toEqual([
    ['error', `refused: [redacted] and postgres://[redacted]@db1:5432/app_production`],
    ['info', 'connecting to [redacted]'],
    ['info', 'started, key k2026 ([redacted])'],
  ]);
  expect(parsed[1].target).toBe('app');
  expect(lines.join('\n')).not.toMatch(/p%40ss|p@ss|aws-secret-1/);
});

test('text stays the default; an unknown format or level is refused, naming the variable and the allowed values', () => {
  expect(logFormatOf({})).toBe('text');
  expect(logFormatOf({ RR_LOG_FORMAT: ' JSON ' })).toBe('json');
  expect(logLevelOf({})).toBe('INFO');
  expect(logLevelOf({ RR_LOG_LEVEL: 'debug' })).toBe('DEBUG');
  expect(() => logFormatOf({ RR_LOG_FORMAT: 'xml' })).toThrow(LoggingConfigError);
  expect(() => logFormatOf({ RR_LOG_FORMAT: 'xml' })).toThrow(
    'RR_LOG_FORMAT="xml" is not a log format: use text (the default) or json',
  );
  expect(() => logLevelOf({ RR_LOG_LEVEL: 'loud' })).toThrow(
    /RR_LOG_LEVEL="loud" is not a log level: use one of TRACE, DEBUG, INFO, WARN, ERROR/,
  );
  expect(workerLogging({}, { processWide: false }).coreLogging).toBeUndefined();
});

test("the activity interceptor puts the activity's target argument on its lines", async () => {
  const [factory] = workerLogging({}, { processWide: false }).activityInterceptors;
  const { inbound, outbound } = factory({} as Parameters<typeof factory>[0]);
  const same = (a: Record<string, unknown>) => a;
  expect(outbound!.getLogAttributes!({ activityType: 'purgeStorage' }, same)).toEqual({ activityType: 'purgeStorage' });
  await inbound!.execute!({ args: [{ target: 'app-eu', mode: 'execute' }], headers: {} }, async () => 'done');
  expect(outbound!.getLogAttributes!({ activityType: 'purgeStorage' }, same)).toEqual({
    activityType: 'purgeStorage',
    target: 'app-eu',
  });
});
