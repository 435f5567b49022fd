/**
 * The plan is retried by the server (one scheduled event, one started event naming the last try), where
 * every other step's tries are the workflow's own (a scheduled event each). `status` read from history
 * counts both kinds as tries.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { readEvents } from '../../../src/cli/history-events';

const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 4, 0, s)).toISOString();
const TYPE: Record<string, string> = {
  workflowExecutionStartedEventAttributes: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
  activityTaskScheduledEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED',
  activityTaskStartedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_STARTED',
  activityTaskFailedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_FAILED',
  activityTaskCompletedEventAttributes: 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED',
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
