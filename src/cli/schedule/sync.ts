/**
 * `schedule sync`, the pure half: the schedules a targets file asks for (its `schedule` blocks), and
 * the diff between those and the schedules Temporal has. The command (commands/schedule-sync.ts) reads
 * both sides and carries the diff out.
 */
import * as fs from 'node:fs';
import { describeIssues, normalizeGroups } from '../../config/load';
import { targetsFileSchema } from '../../config/schema';
import type { ScheduleMemo } from '../../contract';
import { CliError } from '../errors';
import { EXIT } from '../exit-codes';
import { scheduleDigest, ScheduleWhat, ScheduleWhen, whenProblems } from './spec';

/** A schedule the file asks for. `problems` set: it cannot be made as written (reported as refused). */
export interface DesiredSchedule {
  name: string;
  what: ScheduleWhat;
  when: ScheduleWhen;
  digest: string;
  problems: string[];
}

/** A schedule of Temporal's under one of our ids, as far as sync cares. */
export interface ExistingSchedule {
  name: string;
  scheduleId: string;
  /** Undefined: not ours (no reset-runbook memo). */
  source?: ScheduleMemo['source'];
  /** The digest it was last made or updated from. */
  digest?: string;
}

export type SyncKind = 'create' | 'update' | 'delete' | 'unchanged' | 'conflict' | 'refused';

export interface SyncEntry {
  kind: SyncKind;
  name: string;
  scheduleId: string;
  resets?: ScheduleMemo['resets'];
  /** Why: a conflict's owner, a refusal's reasons. */
  reasons: string[];
  desired?: DesiredSchedule;
  /** Set when Temporal refused the create, update or delete (its reasons say why). */
  failed?: boolean;
}

/**
 * Reads a targets file the way the CLI may: the schema's shapes and rules, without the worker's
 * environment (the CLI machine need not have the secrets the file names).
 */
export function readTargetsFileForSchedules(file: string, taskQueue: string): DesiredSchedule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read the targets file ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  const r = targetsFileSchema().safeParse(parsed);
  if (!r.success) {
    const problems = describeIssues(r.error.issues);
    throw new CliError(
      `${file}: ${problems.length} problem(s) in the targets file:\n  - ${problems.join('\n  - ')}`,
      EXIT.usage,
      'nothing was synced',
    );
  }
  return desiredSchedules(r.data, taskQueue);
}

type ParsedFile = ReturnType<ReturnType<typeof targetsFileSchema>['parse']>;

/** Every schedule block of the file, targets first, then groups, each by name. */
export function desiredSchedules(file: Pick<ParsedFile, 'targets' | 'groups'>, taskQueue: string): DesiredSchedule[] {
  const out: DesiredSchedule[] = [];
  const add = (what: ScheduleWhat, s: NonNullable<ParsedFile['targets'][string]['schedule']>) => {
    const when: ScheduleWhen = { cron: s.cron, pauseOnFailure: s.pauseOnFailure };
    if (s.timezone !== undefined) when.timezone = s.timezone;
    if (s.jitter !== undefined) when.jitter = s.jitter;
    out.push({
      name: what.name,
      what,
      when,
      digest: scheduleDigest(what, when, taskQueue),
      problems: whenProblems(when),
    });
  };
  for (const [name, t] of Object.entries(file.targets))
    if (t.schedule) add({ name, resets: { target: name } }, t.schedule);
  for (const [name, g] of Object.entries(normalizeGroups(file.groups))) {
    if (!g.schedule) continue;
    const what: ScheduleWhat = { name, resets: { group: name } };
    if (g.maxConcurrent !== undefined) what.maxConcurrent = g.maxConcurrent as ScheduleWhat['maxConcurrent'];
    if (g.maxFailures !== undefined) what.maxFailures = g.maxFailures as ScheduleWhat['maxFailures'];
    if (g.batches !== undefined) what.batches = g.batches as ScheduleWhat['batches'];
    add(what, g.schedule);
  }
  return out;
}

/**
 * Desired against existing. Sync owns only schedules whose memo says source "targets-file": it never
 * updates or deletes one made by `schedule create` (or anybody else's under our id); a file that
 * wants such a name gets a conflict. Sorted by name, so the report reads the same every time.
 */
export function diffSchedules(
  desired: DesiredSchedule[],
  existing: ExistingSchedule[],
  idOf: (name: string) => string,
): SyncEntry[] {
  const out: SyncEntry[] = [];
  const byName = new Map(existing.map((e) => [e.name, e]));
  const wanted = new Set(desired.map((d) => d.name));
  for (const d of desired) {
    const e = byName.get(d.name);
    const base = { name: d.name, scheduleId: idOf(d.name), resets: d.what.resets, desired: d };
    if (e && e.source !== 'targets-file') {
      const owner =
        e.source === 'cli' ? 'it was made by `reset-runbook schedule create`' : 'it is not a schedule of reset-runbook';
      out.push({
        ...base,
        kind: 'conflict',
        reasons: [
          `schedule ${e.scheduleId} exists and sync does not own it: ${owner}; delete it first to let the file manage it`,
        ],
      });
    } else if (d.problems.length) out.push({ ...base, kind: 'refused', reasons: d.problems });
    else if (!e) out.push({ ...base, kind: 'create', reasons: [] });
    else if (e.digest !== d.digest) out.push({ ...base, kind: 'update', reasons: [] });
    else out.push({ ...base, kind: 'unchanged', reasons: [] });
  }
  for (const e of existing) {
    if (e.source === 'targets-file' && !wanted.has(e.name))
      out.push({
        kind: 'delete',
        name: e.name,
        scheduleId: e.scheduleId,
        reasons: ['the targets file no longer has it'],
      });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A create or update the unattended plan refused: reported, not made (an update leaves the old schedule as it was). */
export function refuse(entry: SyncEntry, reasons: string[]): SyncEntry {
  return { ...entry, kind: 'refused', reasons };
}

export function syncFailed(entries: SyncEntry[]): boolean {
  return entries.some((e) => e.kind === 'refused' || e.kind === 'conflict');
}
