/** Notification messages: what each event says, and the activity's last scrub for secrets. */
import { redactMessage, wants } from '../../src/activities/notify';
import type { Plan, Progress } from '../../src/contract';
import { notifyMessage } from '../../src/workflows/notify';

const ids = { workflowId: 'reset-shop', runId: 'run-1' };
const plan = {
  databaseName: 'shop_production',
  tables: [],
  objectsToDelete: { count: 0, bytes: 0 },
  warnings: [],
  settings: { notifications: true, workersConfigured: true, startCommand: 'sudo systemctl start solid_queue' },
} as unknown as Plan;
const progress = (over: Partial<Progress>): Progress => ({
  target: 'shop',
  mode: 'execute',
  phase: 'compensating',
  steps: [],
  workers: { status: 'stopped' },
  plan,
  ...over,
});

test('workersStillStopped says so first, since when, and the command to run by hand', () => {
  const m = notifyMessage(
    'workersStillStopped',
    progress({
      workers: {
        status: 'still-stopped',
        stoppedSince: '2026-01-01T10:00:00.000Z',
        startCommand: 'sudo systemctl start solid_queue',
        restart: { attempt: 3, maxAttempts: 3, deadline: '', lastError: 'No Solid Queue heartbeat within 60s.' },
      },
    }),
    undefined,
    ids,
  );
  expect(m).toMatchObject({
    event: 'workersStillStopped',
    target: 'shop',
    workflowId: 'reset-shop',
    runId: 'run-1',
    outcome: null,
  });
  expect(m.text).toBe(
    ':rotating_light: WORKERS ARE STILL STOPPED since 2026-01-01T10:00:00.000Z — start them by hand: sudo systemctl start solid_queue. Reset of "shop" (database shop_production) could not start them again: No Solid Queue heartbeat within 60s.',
  );
});

test('text is escaped for Slack (<, >, &)', () => {
  const m = notifyMessage(
    'failed',
    progress({ phase: 'failed', workers: { status: 'running' } }),
    { target: 'shop', mode: 'execute', outcome: 'failed', message: 'cmd >&2 <x>' },
    ids,
  );
  expect(m.text).toContain('cmd &gt;&amp;2 &lt;x&gt;');
});

test('the activity scrubs database URLs, their passwords, webhook URLs and URL credentials it was not told about', () => {
  const m = redactMessage(
    {
      event: 'failed',
      target: 'shop',
      workflowId: 'w',
      runId: 'r',
      outcome: 'failed',
      step: 'reset',
      text: 'postgres://app:s3cr%40t@db/shop failed; pw s3cr@t; hook https://hooks.slack.com/services/T/B/tok123; other redis://u:hunter2@cache:6379/0',
    },
    ['postgres://app:s3cr%40t@db/shop', 's3cr@t', 'https://hooks.slack.com/services/T/B/tok123', undefined],
  );
  expect(m.text).toBe('[redacted] failed; pw [redacted]; hook [redacted]; other redis://[redacted]@cache:6379/0');
});

test('a webhook limited to "failed" also hears of a run that left the workers stopped; others get only what they list', () => {
  expect(wants(undefined, 'completed')).toBe(true);
  expect(wants(['failed'], 'workersStillStopped')).toBe(true);
  expect(wants(['workersStillStopped'], 'workersStillStopped')).toBe(true);
  expect(wants(['waitingForApproval'], 'workersStillStopped')).toBe(false);
  expect(wants(['failed'], 'completed')).toBe(false);
});
