/**
 * The plan is retried by the server (one scheduled event, one started event naming the last try), where
 * every other step's tries are the workflow's own (a scheduled event each). `status` read from history
 * counts both kinds as tries. Runs from 2026-12-05 plan and verify in local activities: one marker each
 * once the activity has ended, naming its type and last try.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { readEvents } from '../../../src/cli/history-events';
import { fakePlan } from '../../support/fake-plan';

const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 4, 0, s)).toISOString();
const TYPE: Record<string, string> = {
  workflowExecutionStartedEventAttributes: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
  activityTaskScheduledEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
  activityTaskStartedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_STARTED',
  activityTaskFailedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_FAILED',
  activityTaskCompletedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
  markerRecordedEventAttributes: 'EVENT_TYPE_MARKER_RECORDED',
};

/** Events as `temporal workflow show -o json` prints them, read as the CLI reads a fetched history. */
type Event = { eventId: number; eventTime: string } & Record<string, unknown>;
function read(events: Event[]) {
  const json = events.map((e) => {
    const key = Object.keys(e).find((k) => k in TYPE)!;
    return { ...e, eventId: String(e.eventId), eventType: TYPE[key] };
  });
  return readEvents(historyFromJSON({ events: json }).events ?? []);
}

function planEvents(lastTry: number, ending: 'failed' | 'completed'): Event[] {
  return [
    { eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} },
    { eventId: 5, eventTime: at(1), activityTaskScheduledEventAttributes: { activityType: { name: 'planReset' } } },
    { eventId: 6, eventTime: at(4), activityTaskStartedEventAttributes: { scheduledEventId: '5', attempt: lastTry } },
    ending === 'failed'
      ? {
          eventId: 7,
          eventTime: at(5),
          activityTaskFailedEventAttributes: { scheduledEventId: '5', failure: { message: 'S3 is throttling' } },
        }
      : { eventId: 7, eventTime: at(5), activityTaskCompletedEventAttributes: { scheduledEventId: '5' } },
  ];
}

test.each([
  [3, 'failed', 3],
  [2, 'completed', 2],
  [1, 'failed', 1],
] as const)('a plan whose last try was %i and %s counts %i tries', (lastTry, ending, tries) => {
  const plan = read(planEvents(lastTry, ending)).steps.get('plan')!;
  expect(plan.status).toBe(ending === 'failed' ? 'failed' : 'done');
  expect(plan.attempts).toBe(tries);
});

test("a step the workflow retries counts one try per scheduled event, each started on the server's first try", () => {
  const events: Event[] = [{ eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} }];
  for (const [i, id] of [10, 20].entries()) {
    events.push(
      {
        eventId: id,
        eventTime: at(i * 10),
        activityTaskScheduledEventAttributes: { activityType: { name: 'backupDatabase' } },
      },
      {
        eventId: id + 1,
        eventTime: at(i * 10 + 1),
        activityTaskStartedEventAttributes: { scheduledEventId: String(id), attempt: 1 },
      },
      {
        eventId: id + 2,
        eventTime: at(i * 10 + 2),
        activityTaskFailedEventAttributes: { scheduledEventId: String(id), failure: { message: 'pg_dump failed' } },
      },
    );
  }
  expect(read(events).steps.get('backup')!.attempts).toBe(2);
});

/** A JSON payload as `temporal workflow show -o json` prints it. */
const payload = (v: unknown) => ({
  payloads: [
    {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from(JSON.stringify(v)).toString('base64'),
    },
  ],
});

/** The marker the SDK records for a local activity once it has ended (its try count in `data`). */
function localActivity(
  eventId: number,
  type: string,
  attempt: number,
  end: { result?: unknown; failure?: string },
): Event {
  return {
    eventId,
    eventTime: at(eventId),
    markerRecordedEventAttributes: {
      markerName: 'core_local_activity',
      details: {
        data: payload({ seq: eventId, attempt, activity_id: String(eventId), activity_type: type, backoff: null }),
        ...(end.result !== undefined ? { result: payload(end.result) } : {}),
      },
      ...(end.failure ? { failure: { message: end.failure } } : {}),
    },
  };
}

test.each([
  [3, 'failed', 3],
  [2, 'completed', 2],
] as const)('a plan run as a local activity whose last try was %i and %s counts %i tries', (lastTry, ending, tries) => {
  const plan = fakePlan('t');
  const facts = read([
    { eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} },
    localActivity(5, 'planReset', lastTry, ending === 'failed' ? { failure: 'S3 is throttling' } : { result: plan }),
  ]);
  const step = facts.steps.get('plan')!;
  expect(step).toMatchObject({ status: ending === 'failed' ? 'failed' : 'done', attempts: tries });
  if (ending === 'failed') expect(facts.lastFailure).toMatchObject({ step: 'plan', error: 'S3 is throttling' });
  else {
    expect(facts.plan?.digest).toBe(plan.digest);
    expect(step.detail).toBe('1 tables to truncate, 0 kept');
  }
});

test('a verify run as a local activity: one try per marker; failed, then done after the retry', () => {
  const failed = read([
    { eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} },
    localActivity(30, 'verifyCounts', 1, { failure: 'connection reset' }),
  ]);
  expect(failed.steps.get('verify')).toMatchObject({ status: 'failed', attempts: 1, error: 'connection reset' });
  expect(failed.lastFailure?.step).toBe('verify');
  const done = read([
    { eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} },
    localActivity(30, 'verifyCounts', 1, { failure: 'connection reset' }),
    localActivity(40, 'verifyCounts', 1, { result: { ok: true, report: 'Users: 6' } }),
  ]);
  expect(done.steps.get('verify')).toMatchObject({ status: 'done', attempts: 2 });
  expect(done.lastFailure).toBeUndefined();
});

/** Step 6's counts when they are wrong: the activity returns them, and the run fails the step on them. */
const WRONG_COUNTS = { ok: false, report: 'Users: 6\nCustomers: 1', hints: ['Customers: expected 0, found 1.'] };

test.each([
  ['a local activity', (id: number) => [localActivity(id, 'verifyCounts', 1, { result: WRONG_COUNTS })]],
  [
    'an activity (runs from before 2026-12-05)',
    (id: number) => [
      {
        eventId: id,
        eventTime: at(30),
        activityTaskScheduledEventAttributes: { activityType: { name: 'verifyCounts' } },
      },
      {
        eventId: id + 1,
        eventTime: at(31),
        activityTaskCompletedEventAttributes: { scheduledEventId: String(id), result: payload(WRONG_COUNTS) },
      },
    ],
  ],
] as const)(
  "a verify that counted wrong, run as %s, is the step that failed, with the run's message",
  (_, verifyEvents) => {
    const facts = read([
      { eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} },
      ...verifyEvents(30),
    ]);
    const message = 'Verify found unexpected counts:\nUsers: 6\nCustomers: 1\nCustomers: expected 0, found 1.';
    expect(facts.steps.get('verify')).toMatchObject({ status: 'failed', attempts: 1, error: message });
    expect(facts.lastFailure).toMatchObject({ step: 'verify', error: message });
    expect(facts.lastCompleted).toBeUndefined();
  },
);

test("the reset lock's local activity is no step", () => {
  const facts = read([
    { eventId: 1, eventTime: at(0), workflowExecutionStartedEventAttributes: {} },
    localActivity(9, 'acquireResetLock', 1, { result: [] }),
  ]);
  expect([...facts.steps.keys()]).toEqual([]);
});
