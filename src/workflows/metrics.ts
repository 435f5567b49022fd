/**
 * What a run tells Prometheus, through the SDK's workflow metric meter: it records nothing while the
 * workflow replays, and a metric is not a command, so adding one never changes a run's history.
 *
 * Gauges follow the run's visible state (RunProgress.publish), so every path that changes it is seen.
 */
import { metricMeter } from '@temporalio/workflow';
import { METRIC_HELP, METRICS, type EndReason, type MetricName, type Progress, type StepName } from '../contract';

export type Kind = 'reset' | 'restore';

const STOPPED_BY_A_RUN = new Set(['stopped', 'restarting', 'still-stopped']);

const counter = (name: MetricName) => metricMeter.createCounter(name, undefined, METRIC_HELP[name]);
const gauge = (name: MetricName) => metricMeter.createGauge(name, 'int', undefined, METRIC_HELP[name]);
const seconds = (name: MetricName) => metricMeter.createHistogram(name, 'float', undefined, METRIC_HELP[name]);

export class RunMetrics {
  private waiting?: 'approval' | 'operator';
  private workers = 'untouched';

  constructor(
    private readonly target: string,
    private readonly kind: Kind,
  ) {}

  started(mode: string): void {
    counter(METRICS.runsStarted).add(1, { target: this.target, kind: this.kind, mode });
  }

  /** The run ended: its outcome and reason, and each step's duration as the result reports it. */
  ended(
    outcome: string,
    endReason: EndReason,
    steps: Progress['steps'],
    durationsMs: Partial<Record<StepName, number>>,
  ) {
    const { target, kind } = this;
    counter(METRICS.runsEnded).add(1, { target, kind, outcome, end_reason: endReason });
    const h = seconds(METRICS.stepDuration);
    for (const s of steps) {
      const ms = durationsMs[s.name];
      if (ms !== undefined) h.record(ms / 1000, { target, kind, step: s.name, status: s.status });
    }
  }

  restartAttempt(ok: boolean): void {
    counter(METRICS.workerRestartAttempts).add(1, {
      target: this.target,
      kind: this.kind,
      result: ok ? 'ok' : 'failed',
    });
  }

  /** Called on every change of the run's visible state; sets the gauges only when what they show changes. */
  observe(state: Progress): void {
    const { target, kind } = this;
    const waiting =
      state.phase === 'awaiting-approval'
        ? 'approval'
        : state.phase === 'waiting-for-operator'
          ? 'operator'
          : undefined;
    if (waiting !== this.waiting) {
      const g = gauge(METRICS.runsWaiting);
      if (this.waiting) g.set(0, { target, kind, reason: this.waiting });
      if (waiting) g.set(1, { target, kind, reason: waiting });
      this.waiting = waiting;
    }
    const w = state.workers;
    if (w.status === this.workers) return;
    const before = this.workers;
    this.workers = w.status;
    // A run that never touched the workers says nothing about them (an earlier run's gauges stand).
    if (w.status === 'untouched') return;
    gauge(METRICS.workersStopped).set(STOPPED_BY_A_RUN.has(w.status) ? 1 : 0, { target });
    gauge(METRICS.workersStillStopped).set(w.status === 'still-stopped' ? 1 : 0, { target });
    if (w.status === 'running' && STOPPED_BY_A_RUN.has(before) && w.stoppedSince)
      seconds(METRICS.workersDowntime).record(Math.max(0, Date.now() - Date.parse(w.stoppedSince)) / 1000, {
        target,
        kind,
      });
  }
}
