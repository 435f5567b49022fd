import { defaultPayloadConverter } from '@temporalio/common';
import { auditRow, csvField, parseSince, renderAuditTable, toCsv, type AuditListed } from '../../../src/cli/audit';
import { UsageError } from '../../../src/cli/errors';
import { parseCsv } from '../../support/csv';
import { runMain } from './run-main';

const NOW = new Date('2026-12-03T12:00:00Z');
const p = (v: unknown) => ({ payloads: [defaultPayloadConverter.toPayload(v)] });
const at = (iso: string) => ({ seconds: Math.floor(Date.parse(iso) / 1000), nanos: 0 });

describe('--since', () => {
  test('a period back from now, or a date', () => {
    expect(parseSince('30d', NOW).toISOString()).toBe('2026-11-03T12:00:00.000Z');
    expect(parseSince('12h', NOW).toISOString()).toBe('2026-12-03T00:00:00.000Z');
    expect(parseSince('90m', NOW).toISOString()).toBe('2026-12-03T10:30:00.000Z');
    expect(parseSince('2w', NOW).toISOString()).toBe('2026-11-19T12:00:00.000Z');
    expect(parseSince('2026-11-01').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseSince('2026-11-01T08:30:00Z').toISOString()).toBe('2026-11-01T08:30:00.000Z');
  });

  test('anything else is a usage error naming the value', () => {
    for (const bad of ['', 'yesterday', '30', '-3d', '30 days', '2026-13-45', '1y'])
      expect(() => parseSince(bad, NOW)).toThrow(UsageError);
    expect(() => parseSince('yesterday')).toThrow('--since: "yesterday" is neither');
  });

  test('the CLI exits 2 before connecting', async () => {
    const r = await runMain(['audit', '--since', 'soon'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(2);
    expect(r.err).toContain('--since: "soon"');
    expect((await runMain(['audit', '--csv', '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:1' })).code).toBe(2);
  });
});

describe('CSV', () => {
  test('RFC 4180 quoting', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(0)).toBe('0');
  });

  const listed: AuditListed = {
    kind: 'reset',
    target: 'demo',
    workflowId: 'reset-demo',
    runId: 'r1',
    status: 'COMPLETED',
    startTime: '2026-12-03T10:00:00.000Z',
    closeTime: '2026-12-03T10:05:00.000Z',
  };
  const events = [
    {
      eventId: 1,
      eventTime: at('2026-12-03T10:00:00Z'),
      workflowExecutionStartedEventAttributes: {
        input: p({ target: 'demo', mode: 'execute', startedBy: 'alice' }),
        identity: 'x@h',
      },
    },
    {
      eventId: 5,
      eventTime: at('2026-12-03T10:01:00Z'),
      activityTaskScheduledEventAttributes: { activityType: { name: 'stopWorkers' } },
    },
    {
      eventId: 6,
      eventTime: at('2026-12-03T10:01:10Z'),
      activityTaskCompletedEventAttributes: { scheduledEventId: 5 },
    },
    {
      eventId: 7,
      eventTime: at('2026-12-03T10:02:00Z'),
      workflowExecutionSignaledEventAttributes: { signalName: 'retry', identity: 'eve, the "on-call"' },
    },
    {
      eventId: 8,
      eventTime: at('2026-12-03T10:03:00Z'),
      activityTaskScheduledEventAttributes: { activityType: { name: 'startWorkers' } },
    },
    {
      eventId: 9,
      eventTime: at('2026-12-03T10:03:40Z'),
      activityTaskCompletedEventAttributes: { scheduledEventId: 8 },
    },
    {
      eventId: 10,
      eventTime: at('2026-12-03T10:05:00Z'),
      workflowExecutionCompletedEventAttributes: {
        result: p({
          target: 'demo',
          mode: 'execute',
          outcome: 'completed',
          endReason: 'completed',
          startedBy: 'alice',
          approvals: [
            { identity: 'bob', at: '2026-12-03T10:00:30Z', planDigest: 'd1' },
            { identity: 'carol', at: '2026-12-03T10:00:40Z', planDigest: 'd1' },
          ],
          backup: { files: [{ sha256: 'ab'.repeat(32) }] },
          countsBefore: { a: 10, b: 5 },
          countsAfter: { a: 0, b: 5 },
          objectsDeleted: { count: 3, bytes: 9, errors: 0 },
          workers: { status: 'running' },
        }),
      },
    },
  ];

  test('a row from the history and the close event; CSV joins approvers with ";" and quotes', () => {
    const row = auditRow(listed, events as never);
    expect(row).toMatchObject({
      startedBy: 'alice',
      approvals: [{ identity: 'bob', planDigest: 'd1' }, { identity: 'carol' }],
      resumedBy: [{ identity: 'eve, the "on-call"' }],
      outcome: 'completed',
      rowsBefore: 15,
      rowsAfter: 5,
      objectsDeleted: 3,
      workersDownSeconds: 150,
      backupSha256: ['ab'.repeat(32)],
    });
    const csv = toCsv([row]);
    expect(csv.endsWith('\r\n')).toBe(true);
    const [head, line] = parseCsv(csv);
    const rec = Object.fromEntries(head.map((h, i) => [h, line[i]]));
    expect(rec).toMatchObject({
      approvers: 'bob;carol',
      planDigests: 'd1',
      resumedBy: 'eve, the "on-call"',
      rowsBefore: '15',
    });
    expect(renderAuditTable([row])).toMatch(/alice\s+bob@d1,carol@d1\s+resumed:eve/);
  });
});
