/**
 * The ONE list of the steps of our procedures. The workflow's progress, the CLI's view of a history,
 * the activities' boundary (which activities run under the reset lock) and the activity summaries all
 * read it, so a step added or renamed here is added or renamed everywhere.
 *
 * Order matters: a procedure's steps are this list's entries that name it, in this order.
 * The titles are what the Web UI shows as activity summaries and the CLI prints: recorded histories
 * carry them, so they must not change.
 */

/** Which procedure runs a step. */
export type Procedure = 'reset' | 'restore';

interface StepDef {
  readonly name: string;
  /**
   * The runbook's number ("3 Reset the database"); the approval has none. The restore shares the numbering: 3/4 undo
   * the reset's 3/4.
   */
  readonly number?: number;
  readonly title: string;
  /**
   * The step changes the database, its workers or its objects: its activities run under the reset lock
   * (activities/boundary.ts).
   */
  readonly destructive: boolean;
  /**
   * The procedures that have this step, and the activity that runs it in each ('': none, the workflow waits, e.g. for
   * the approval).
   */
  readonly activity: Partial<Record<Procedure, string>>;
}

const BOTH = { reset: '', restore: '' };

export const STEPS = [
  {
    name: 'plan',
    number: 0,
    title: 'Plan',
    destructive: false,
    activity: { reset: 'planReset', restore: 'planRestore' },
  },
  {
    name: 'backup',
    number: 1,
    title: 'Backup the database',
    destructive: false,
    activity: { reset: 'backupDatabase' },
  },
  { name: 'approval', title: 'Approval', destructive: false, activity: BOTH },
  {
    name: 'stopWorkers',
    number: 2,
    title: 'Stop Solid Queue workers',
    destructive: true,
    activity: { reset: 'stopWorkers', restore: 'stopWorkers' },
  },
  { name: 'reset', number: 3, title: 'Reset the database', destructive: true, activity: { reset: 'resetDatabase' } },
  {
    name: 'purgeStorage',
    number: 4,
    title: 'Clean orphaned S3 files',
    destructive: true,
    activity: { reset: 'purgeStorage' },
  },
  {
    name: 'restore',
    number: 3,
    title: 'Restore the database from the backup',
    destructive: true,
    activity: { restore: 'restoreDatabase' },
  },
  {
    name: 'restoreStorage',
    number: 4,
    title: 'Bring back quarantined files',
    destructive: true,
    activity: { restore: 'restoreStorage' },
  },
  {
    name: 'startWorkers',
    number: 5,
    title: 'Restart Solid Queue workers',
    destructive: true,
    activity: { reset: 'startWorkers', restore: 'startWorkers' },
  },
  {
    name: 'verify',
    number: 6,
    title: 'Verify',
    destructive: false,
    activity: { reset: 'verifyCounts', restore: 'verifyRestore' },
  },
] as const satisfies readonly StepDef[];

export type StepName = (typeof STEPS)[number]['name'];

const activities = (s: StepDef): Partial<Record<Procedure, string>> => s.activity;

/** "3 Reset the database": the step's number and title, as the activity summary and every view show it. */
export const STEP_TITLES = Object.fromEntries(
  STEPS.map((s) => [s.name, 'number' in s ? `${s.number} ${s.title}` : s.title]),
) as Record<StepName, string>;

/** A procedure's steps, in order: the reset's 0 plan · 1 backup · approval · 2-6, the restore's without the backup. */
export function stepsOf(p: Procedure): StepName[] {
  return STEPS.filter((s) => activities(s)[p] !== undefined).map((s) => s.name);
}

/**
 * Activity type -> the step it runs in procedure p (the compensation's startWorkers is the same activity as step 5).
 */
export function stepOfActivity(p: Procedure): Record<string, StepName> {
  const out: Record<string, StepName> = {};
  for (const s of STEPS) {
    const a = activities(s)[p];
    if (a) out[a] = s.name;
  }
  return out;
}

/**
 * The marker the SDK records in a run's history once a local activity (the plan, the verify, the reset lock) has
 * ended: its type and last try in `details.data`, its result or failure beside them. Local activities have no
 * activity events, so whatever reads a history for steps reads these.
 */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** The activities of the destructive steps, any procedure's: the ones the boundary runs under the reset lock. */
export const DESTRUCTIVE_ACTIVITIES: readonly string[] = [
  ...new Set(STEPS.filter((s) => s.destructive).flatMap((s) => Object.values(activities(s)))),
];

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'waiting-for-operator' | 'skipped';

export interface StepState {
  name: StepName;
  title: string;
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  /** Every attempt of the step's activity: the workflow's own retries and an operator's retry each count one. */
  attempts: number;
  detail?: string;
  error?: string;
}
