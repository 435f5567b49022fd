/**
 * A fleet's visible state: what its `progress` query answers and what the Web UI shows as its
 * current details — one line per target, with the step its child is on.
 */
import { setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  OUTCOME_KEY,
  STEP_TITLES,
  resetWorkflowId,
  fleetProgressQuery,
  type ChildReport,
  type FleetLimits,
  type FleetPhase,
  type FleetProgress,
  type FleetTarget,
  type FleetTotals,
} from '../contract';
import type { CheckedFleetInput } from './fleet-input';

/** Statuses of a child that has ended, one way or another. */
const ENDED = new Set(['completed', 'failed', 'aborted', 'not-started']);

export class FleetState {
  readonly state: FleetProgress;
  /** The latest report's seq per child run: an older report that arrives late changes nothing. */
  private lastSeq = new Map<string, number>();

  constructor(input: CheckedFleetInput) {
    this.state = {
      kind: 'fleet',
      name: input.name,
      mode: input.mode,
      phase: 'planning',
      unattended: input.unattended,
      ...(input.schedule ? { schedule: input.schedule } : {}),
      targets: [],
      totals: totalsOf([]),
    };
    setHandler(fleetProgressQuery, () => this.state);
    this.publish();
  }

  get targets(): FleetTarget[] {
    return this.state.targets;
  }

  target(name: string): FleetTarget | undefined {
    return this.state.targets.find((t) => t.target === name);
  }

  setTargets(names: string[], batches: number[]): void {
    let at = 0;
    this.state.targets = names.map((target, i) => {
      while (i >= batches.slice(0, at + 1).reduce((a, n) => a + n, 0)) at++;
      return { target, status: 'pending', workflowId: resetWorkflowId(target), batch: at + 1 };
    });
    this.publish();
  }

  setLimits(limits: FleetLimits): void {
    this.state.limits = limits;
    this.publish();
  }

  phase(p: FleetPhase): void {
    this.state.phase = p;
    if (p !== 'awaiting-approval') this.state.approval = undefined;
    this.publish();
  }

  /** Children that ended without completing, plus those waiting for an operator: what maxFailures counts. */
  failures(): number {
    return this.state.targets.filter(
      (t) => t.status === 'failed' || t.status === 'aborted' || t.status === 'waiting-for-operator',
    ).length;
  }

  /**
   * Children holding a concurrency slot: running or waiting for their own approval (a paused one does nothing until a
   * person acts).
   */
  active(): number {
    return this.state.targets.filter((t) => t.status === 'running' || t.status === 'awaiting-approval').length;
  }

  ended(t: FleetTarget): boolean {
    return ENDED.has(t.status);
  }

  /** A child's report: where it is. Its ending comes from its result, not from here. */
  report(r: ChildReport): FleetTarget | undefined {
    const t = this.target(r.target);
    if (!t || this.ended(t) || t.status === 'pending' || t.status === 'planned') return undefined;
    if (t.runId && t.runId !== r.runId) return undefined;
    if (r.seq !== undefined) {
      if (r.seq <= (this.lastSeq.get(r.runId) ?? 0)) return undefined;
      this.lastSeq.set(r.runId, r.seq);
    }
    t.runId = r.runId;
    t.phase = r.phase;
    t.step = r.step;
    t.stepStatus = r.stepStatus;
    t.workers = r.workers;
    t.detail = r.detail;
    t.status =
      r.phase === 'awaiting-approval'
        ? 'awaiting-approval'
        : r.phase === 'waiting-for-operator'
          ? 'waiting-for-operator'
          : 'running';
    this.publish();
    return t;
  }

  publish(): void {
    this.state.totals = totalsOf(this.state.targets);
    const s = this.state;
    const tot = s.totals;
    const head = `**fleet ${s.name}** (${s.mode}${s.unattended ? ', unattended' : ''}): ${s.phase}${s.batch ? `, batch ${s.batch.index}/${s.batch.of}` : ''}`;
    const limits = s.limits
      ? `at most ${s.limits.maxConcurrent} at once, stops after ${s.limits.maxFailures + 1} failure(s); ${s.limits.targets} targets, ${s.limits.databases} databases`
      : '';
    const lines = s.targets.map((t) => {
      const step = t.step && !this.ended(t) ? ` — ${STEP_TITLES[t.step]}` : '';
      return `- ${t.target}: ${t.status}${step}${t.detail ? ` — ${t.detail}` : ''}`;
    });
    const counts = `${tot.completed} completed, ${tot.failed} failed, ${tot.aborted} aborted, ${tot.running} running, ${tot.waiting} waiting, ${tot.notStarted} not started`;
    const tail: string[] = [];
    if (s.approval)
      tail.push(
        '',
        `Waiting for approval: signal "approve" with {"confirmation": "${s.approval.fleet}", "databases": ${s.approval.databases}}`,
      );
    if (s.stopped) tail.push('', `No new target starts: ${s.stopped.detail}`);
    if (tot.workersStillStopped)
      tail.push('', `${tot.workersStillStopped} TARGET(S) LEFT THEIR WORKERS STOPPED: see each one's run`);
    setCurrentDetails([head, limits, '', ...lines, '', counts, ...tail].join('\n'));
  }

  outcome(outcome: string): void {
    upsertSearchAttributes([{ key: OUTCOME_KEY, value: outcome }]);
  }
}

export function totalsOf(targets: FleetTarget[]): FleetTotals {
  const n = (s: FleetTarget['status']) => targets.filter((t) => t.status === s).length;
  return {
    targets: targets.length,
    completed: n('completed'),
    failed: n('failed'),
    aborted: n('aborted'),
    notStarted: n('not-started'),
    running: n('running') + n('awaiting-approval'),
    waiting: n('waiting-for-operator'),
    workersStillStopped: targets.filter((t) => t.endReason === 'workersStillStopped').length,
  };
}
