/**
 * The audit trail of `reset-runbook audit`: one row per reset, plan, restore or fleet run, made of its
 * history (who signalled what) and its result (read from the close event), and the three ways to print
 * the rows (a table, JSON, CSV). Nothing here talks to Temporal, so the unit tests feed it events.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { FleetResult, ResetInput, ResetResult, RestoreResult } from '../contract';
import { UsageError } from './errors';

type Event = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayload[] | null | undefined;

export type AuditKind = 'reset' | 'plan' | 'restore' | 'fleet';

/** Who did something to the run, and when; approvals carry the plan digest they approved. */
export interface AuditAct {
  identity: string;
  at: string;
  planDigest?: string;
  reason?: string;
}

/** One run's line of the audit trail; every key is always present (null where the run has no such fact). */
export interface AuditRow {
  kind: AuditKind;
  target: string | null;
  workflowId: string;
  runId: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  startedBy: string | null;
  approvals: AuditAct[];
  resumedBy: AuditAct[];
  abortedBy: AuditAct | null;
  rejectedBy: AuditAct | null;
  outcome: string | null;
  endReason: string | null;
  reason: string | null;
  backupSha256: string[];
  rowsBefore: number | null;
  rowsAfter: number | null;
  rowsRestored: number | null;
  objectsDeleted: number | null;
  objectsRestored: number | null;
  workersDownSeconds: number | null;
  workersStatus: string | null;
  /** A fleet's targets (null for other runs). */
  fleetTargets: string[] | null;
}

/** What visibility says of a run before its history is read. */
export interface AuditListed {
  kind: AuditKind;
  target?: string;
  workflowId: string;
  runId: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

/** `--since`: a duration back from now (30d, 12h, 90m) or a date (2026-11-01, or an ISO time). */
export function parseSince(text: string, now: Date = new Date()): Date {
  const t = text.trim();
  const m = /^(\d+)(m|h|d|w)$/.exec(t);
  if (m) {
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    return new Date(now.getTime() - Number(m[1]) * unitMs);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t) && !Number.isNaN(Date.parse(t)))
    return new Date(Date.parse(t));
  throw new UsageError(
    `--since: ${JSON.stringify(text)} is neither a duration back from now (e.g. 30d, 12h, 90m, 2w) nor a date (e.g. 2026-11-01)`,
  );
}

function iso(ts: Event['eventTime']): string {
  if (!ts || ts.seconds == null) return new Date(0).toISOString();
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

function decode<T>(payloads: Payloads): T | undefined {
  if (!payloads?.length) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payloads[0] as never);
  } catch {
    return undefined;
  }
}

const sum = (counts: Record<string, number> | undefined) =>
  counts ? Object.values(counts).reduce((a, b) => a + b, 0) : null;

type AnyResult = Partial<ResetResult & FleetResult> & { restored?: RestoreResult['restored'] } & {
  objectsRestored?: RestoreResult['objectsRestored'];
  plan?: ResetResult['plan'] & { backup?: ResetResult['backup'] };
};

/** The row of one run, from its (decoded) history: signals, the input, the close event's result. */
export function auditRow(listed: AuditListed, events: Event[]): AuditRow {
  let input: (ResetInput & { name?: string }) | undefined;
  let starter: string | undefined;
  let result: AnyResult | undefined;
  let endedAt: string | undefined;
  let stoppedAt: string | undefined;
  let downMs = 0;
  const stopIds = new Set<string>();
  const startIds = new Set<string>();
  const signals: { name: string; act: AuditAct; args?: Record<string, unknown> }[] = [];
  for (const e of events) {
    const at = iso(e.eventTime);
    const id = String(e.eventId ?? '');
    if (e.workflowExecutionStartedEventAttributes) {
      const a = e.workflowExecutionStartedEventAttributes;
      input = decode(a.input?.payloads);
      starter = a.identity ?? undefined;
    } else if (e.activityTaskScheduledEventAttributes) {
      const type = e.activityTaskScheduledEventAttributes.activityType?.name;
      if (type === 'stopWorkers') stopIds.add(id);
      if (type === 'startWorkers') startIds.add(id);
    } else if (e.activityTaskCompletedEventAttributes) {
      const sch = String(e.activityTaskCompletedEventAttributes.scheduledEventId ?? '');
      // Downtime runs from the stop to the next successful start (a compensation's start counts too).
      if (stopIds.has(sch) && !stoppedAt) stoppedAt = at;
      if (startIds.has(sch) && stoppedAt) {
        downMs += Date.parse(at) - Date.parse(stoppedAt);
        stoppedAt = undefined;
      }
    } else if (e.workflowExecutionSignaledEventAttributes) {
      const a = e.workflowExecutionSignaledEventAttributes;
      const args = decode<Record<string, unknown>>(a.input?.payloads);
      // The client's identity (as the server recorded it) before `by`, a free label some commands send.
      const who = (args?.identity ?? (a.identity || undefined) ?? args?.by ?? 'unknown') as string;
      const act: AuditAct = { identity: String(who), at };
      if (typeof args?.planDigest === 'string') act.planDigest = args.planDigest;
      if (typeof args?.reason === 'string') act.reason = args.reason;
      signals.push({ name: a.signalName ?? '?', act, args });
    } else if (e.workflowExecutionCompletedEventAttributes) {
      endedAt = at;
      result = decode(e.workflowExecutionCompletedEventAttributes.result?.payloads);
    } else if (e.workflowExecutionFailedEventAttributes) {
      endedAt = at;
      // A failed run puts its result in the failure's details (see list's addEnding).
      let f = e.workflowExecutionFailedEventAttributes.failure;
      while (f && !result) {
        const r = decode<AnyResult>(f.applicationFailureInfo?.details?.payloads);
        if (r && typeof r === 'object' && 'outcome' in r) result = r;
        f = f.cause;
      }
    } else if (
      e.workflowExecutionCanceledEventAttributes ||
      e.workflowExecutionTerminatedEventAttributes ||
      e.workflowExecutionTimedOutEventAttributes ||
      e.workflowExecutionContinuedAsNewEventAttributes
    ) {
      endedAt = at;
    }
  }
  if (stoppedAt) downMs += Date.parse(endedAt ?? new Date().toISOString()) - Date.parse(stoppedAt);
  const named = (n: string) => signals.filter((s) => s.name === n).map((s) => s.act);
  const approvals: AuditAct[] = result?.approvals?.length
    ? result.approvals.map((a) => ({ identity: a.identity, at: a.at, planDigest: a.planDigest }))
    : result?.approvedBy
      ? [{ identity: result.approvedBy, at: named('approve')[0]?.at ?? endedAt ?? listed.startTime }]
      : named('approve');
  const rejected = result?.rejectedBy
    ? { identity: result.rejectedBy.identity ?? 'unknown', at: result.rejectedBy.at, reason: result.rejectedBy.reason }
    : (named('reject')[0] ?? null);
  const backup = result?.backup ?? result?.plan?.backup;
  const stopped = stopIds.size > 0;
  return {
    kind: listed.kind,
    target: listed.target ?? result?.target ?? input?.target ?? input?.name ?? null,
    workflowId: listed.workflowId,
    runId: listed.runId,
    status: listed.status,
    startedAt: listed.startTime,
    endedAt: listed.closeTime ?? endedAt ?? null,
    startedBy: result?.startedBy ?? input?.startedBy ?? starter ?? null,
    approvals,
    resumedBy: named('retry'),
    abortedBy: named('abort')[0] ?? null,
    rejectedBy: rejected,
    outcome: result?.outcome ?? (listed.status === 'RUNNING' ? null : listed.status.toLowerCase()),
    endReason: result?.endReason ?? null,
    reason: result?.reason ?? input?.reason ?? null,
    backupSha256: backup?.files?.map((f) => f.sha256) ?? [],
    rowsBefore: sum(result?.countsBefore),
    rowsAfter: sum(result?.countsAfter),
    rowsRestored: result?.restored?.rows ?? null,
    objectsDeleted: result?.objectsDeleted?.count ?? null,
    objectsRestored: result?.objectsRestored?.count ?? null,
    workersDownSeconds: stopped ? Math.round(downMs / 1000) : null,
    workersStatus: result?.workers?.status ?? null,
    fleetTargets: listed.kind === 'fleet' ? (result?.targets?.map((t) => t.target) ?? []) : null,
  };
}

/** The CSV's columns, in order: one value per column, lists joined by ";". */
export const CSV_COLUMNS = [
  'kind',
  'target',
  'workflowId',
  'runId',
  'status',
  'startedAt',
  'endedAt',
  'startedBy',
  'approvers',
  'planDigests',
  'resumedBy',
  'abortedBy',
  'rejectedBy',
  'outcome',
  'endReason',
  'reason',
  'backupSha256',
  'rowsBefore',
  'rowsAfter',
  'rowsRestored',
  'objectsDeleted',
  'objectsRestored',
  'workersDownSeconds',
  'workersStatus',
] as const;

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
export function csvField(v: string | number | null | undefined): string {
  const s = v == null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvValues(r: AuditRow): Record<(typeof CSV_COLUMNS)[number], string | number | null> {
  const ids = (acts: AuditAct[]) => acts.map((a) => a.identity).join(';');
  return {
    ...r,
    approvers: ids(r.approvals),
    planDigests: [...new Set(r.approvals.map((a) => a.planDigest).filter(Boolean))].join(';'),
    resumedBy: ids(r.resumedBy),
    abortedBy: r.abortedBy?.identity ?? null,
    rejectedBy: r.rejectedBy?.identity ?? null,
    backupSha256: r.backupSha256.join(';'),
  };
}

/** A header row and one row per run, CRLF-terminated as RFC 4180 says. */
export function toCsv(rows: AuditRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const v = csvValues(r);
    lines.push(CSV_COLUMNS.map((c) => csvField(v[c])).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

const short = (t: string | null) => (t ? t.replace('T', ' ').slice(0, 16) : '-');

/** The compact table a person reads: one line per run, newest first (the caller sorts). */
export function renderAuditTable(rows: AuditRow[]): string {
  if (!rows.length) return 'No runs in that period.';
  const head = ['started (UTC)', 'kind', 'target', 'outcome', 'by', 'approved by', 'other', 'backup', 'rows', 'down'];
  const body = rows.map((r) => {
    const other = [
      ...r.resumedBy.map((a) => `resumed:${a.identity}`),
      r.abortedBy ? `aborted:${r.abortedBy.identity}` : '',
      r.rejectedBy ? `rejected:${r.rejectedBy.identity}` : '',
    ].filter(Boolean);
    const rows =
      r.rowsRestored != null
        ? `+${r.rowsRestored}`
        : r.rowsBefore != null
          ? `${r.rowsBefore}→${r.rowsAfter ?? '?'}`
          : '-';
    return [
      short(r.startedAt),
      r.kind,
      r.target ?? '-',
      `${r.outcome ?? 'running'}${r.endReason && r.endReason !== r.outcome ? ` (${r.endReason})` : ''}`,
      r.startedBy ?? '-',
      r.approvals.map((a) => `${a.identity}${a.planDigest ? `@${a.planDigest.slice(0, 8)}` : ''}`).join(',') || '-',
      other.join(',') || '-',
      r.backupSha256.map((s) => s.slice(0, 12)).join(',') || '-',
      rows,
      r.workersDownSeconds != null ? `${r.workersDownSeconds}s` : '-',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}
