/** A scenario's working state on the suite. */
import { temporal } from '@temporalio/proto';
import * as fs from 'node:fs';
import type { productionDataReset } from '../../src/workflows';
import {
  LOCAL_ACTIVITY_MARKER,
  resetWorkflowId,
  type Progress,
  type ResetInput,
  type ResetResult,
  WORKFLOW_TASK_TIMEOUT,
} from '../../src/contract';
import { ResetFixture, type WorkerProcess } from '../../test/support/fixture';
import { EXPECTED_REPORT, KEPT_TABLES, SEEDED, type Handle, type Outcome, type Snapshot } from './types';
import type { Suite } from './suite';
import { waitFor } from './wait';

/** A scenario's working state on the suite: its snapshot before the fault, its outcome being filled in. */
export class Stage {
  before!: Snapshot;
  readonly started = Date.now();
  readonly pids = new Set<number>();

  constructor(
    readonly suite: Suite,
    readonly out: Outcome,
  ) {}

  get f(): ResetFixture {
    return this.suite.f;
  }

  async prepare(): Promise<void> {
    this.suite.setModes({});
    this.suite.proxy.reset();
    fs.rmSync(this.suite.crashFile, { force: true });
    await this.suite.ensureWorkers();
    await this.suite.reload();
    if (this.f.service('start') !== 0) this.problem('the stand-in Solid Queue service did not start');
    this.before = await this.snapshot();
    for (const w of this.suite.alive()) this.pids.add(w.child.pid!);
  }

  start(input: Omit<ResetInput, 'target'> = { mode: 'execute' }, target = this.f.target): Promise<Handle> {
    return this.f.client.workflow.start<typeof productionDataReset>('productionDataReset', {
      taskQueue: this.f.taskQueue,
      workflowId: resetWorkflowId(target),
      args: [{ target, ...input }],
      workflowTaskTimeout: WORKFLOW_TASK_TIMEOUT,
    });
  }

  problem(p: string): void {
    this.out.problems.push(p);
  }

  check(ok: boolean, p: string): void {
    if (!ok) this.problem(p);
  }

  async snapshot(): Promise<Snapshot> {
    const tables = await this.f.sql<{ t: string }>(
      `SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    const counts = new Map<string, number>();
    for (const { t } of tables) counts.set(t, await this.f.count(t));
    const objects = new Map([
      ...(await this.f.objects(this.f.prefix)),
      ...(await this.f.objects(this.f.otherAppPrefix)),
    ]);
    const blobKeys = new Set(
      (await this.f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key),
    );
    return { counts, objects, blobKeys };
  }

  private isBlobObject(key: string, blobKeys: Set<string>): boolean {
    if (!key.startsWith(this.f.prefix)) return false;
    const rest = key.slice(this.f.prefix.length);
    if (blobKeys.has(rest)) return true;
    const m = /^variants\/([^/]+)\//.exec(rest);
    return !!m && blobKeys.has(m[1]);
  }

  /** SIGKILL, the way a host loses a process; a replacement starts at once (the standby carries on meanwhile). */
  async kill(w: WorkerProcess): Promise<void> {
    this.suite.sampleRss();
    await w.kill('SIGKILL');
    this.out.faults++;
    void this.suite.ensureWorkers().then(() => this.suite.alive().forEach((x) => this.pids.add(x.child.pid!)));
  }

  /**
   * After an ending that must be whole: the six counts, no dropped blob's object, nothing kept lost, workers running.
   */
  async expectCompleted(r: ResetResult): Promise<void> {
    this.out.got = r.outcome;
    this.check(r.outcome === 'completed', `ended ${r.outcome}${r.message ? `: ${r.message}` : ''}`);
    this.check(r.verify?.report === EXPECTED_REPORT, `verify report: ${JSON.stringify(r.verify?.report)}`);
    const after = await this.snapshot();
    this.countLosses(after, false);
    const left = [...after.objects.keys()].filter((k) => this.isBlobObject(k, this.before.blobKeys)).length;
    this.out.droppedObjectsLeft = left;
    this.check(left === 0, `${left} object(s) of dropped blobs left in the bucket`);
    this.check(this.f.service('status') === 0, 'the Solid Queue service is not running at the end');
  }

  /**
   * A run that stopped before its TRUNCATE and waits for an operator: every table's count and the
   * bucket listing exactly as before, the workers running, and every view saying so.
   */
  async expectPausedIntact(h: Handle, step: string, ms = 180_000): Promise<Progress> {
    const p = await waitFor(h, (x) => ['waiting-for-operator', 'completed', 'failed', 'aborted'].includes(x.phase), ms);
    this.out.got = p.phase === 'waiting-for-operator' ? `paused at ${p.waiting?.step}` : p.phase;
    this.check(
      p.phase === 'waiting-for-operator' && p.waiting?.step === step,
      `expected a pause at ${step}, got ${this.out.got}`,
    );
    this.check(
      p.workers.status === 'untouched' || p.workers.status === 'running',
      `workers ${p.workers.status} while paused`,
    );
    this.check(this.f.service('status') === 0, 'the Solid Queue service is not running while the run waits');
    const after = await this.snapshot();
    this.countLosses(after, true);
    return p;
  }

  /**
   * Rows and objects lost: kept tables (every table when the run must not have touched the data),
   * objects that are not a dropped blob's; seed rows beyond what the seeds insert.
   */
  countLosses(after: Snapshot, untouched: boolean): void {
    // Checked more than once in a scenario (paused, then ended): the worst check counts, not the sum.
    let rows = 0;
    let dup = 0;
    let objects = 0;
    for (const [t, n] of this.before.counts) {
      const now = after.counts.get(t) ?? 0;
      // Solid Queue's own tables change under running workers (jobs claimed, done): not the reset's doing.
      const touchable = untouched && !t.startsWith('solid_queue_');
      if ((touchable || KEPT_TABLES.includes(t)) && now < n) {
        rows += n - now;
        this.problem(`${t}: ${n} rows before, ${now} after`);
      }
    }
    for (const [t, n] of Object.entries(SEEDED)) {
      const now = after.counts.get(t) ?? 0;
      const limit = untouched ? Math.max(n, this.before.counts.get(t) ?? 0) : n;
      if (now > limit) {
        dup += now - limit;
        this.problem(`${t}: ${now} rows, ${limit} expected`);
      }
    }
    for (const k of this.before.objects.keys()) {
      if (after.objects.has(k)) continue;
      if (!untouched && this.isBlobObject(k, this.before.blobKeys)) continue;
      objects++;
    }
    if (objects) this.problem(`${objects} object(s) that must stay are gone`);
    this.out.keptRowsLost = Math.max(this.out.keptRowsLost, rows);
    this.out.duplicateSeedRows = Math.max(this.out.duplicateSeedRows, dup);
    this.out.keptObjectsLost = Math.max(this.out.keptObjectsLost, objects);
  }

  /**
   * Each death in this scenario: the first activity attempt started after it on another worker (history event times).
   * A local activity (the plan, the verify, the lock) has no started event of its own: it runs inside a workflow
   * task, so that task's start counts as its attempt's.
   */
  async measureRecovery(h: Handle): Promise<void> {
    const events = (await h.fetchHistory()).events ?? [];
    const E = temporal.api.enums.v1.EventType;
    const starts: { at: number; identity: string }[] = [];
    let task: { at: number; identity: string } | undefined;
    for (const e of events) {
      if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
        starts.push({ at: tsMs(e.eventTime), identity: e.activityTaskStartedEventAttributes?.identity ?? '' });
      else if (e.eventType === E.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        task = { at: tsMs(e.eventTime), identity: e.workflowTaskStartedEventAttributes?.identity ?? '' };
      else if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER && task) starts.push(task);
    }
    const end = tsMs(events[events.length - 1]?.eventTime);
    for (const d of this.suite.deaths.filter((x) => x.at >= this.started && x.at < end)) {
      const next = starts
        .filter((s) => s.at > d.at && !s.identity.startsWith(`${d.pid}@`))
        .sort((a, b) => a.at - b.at)[0];
      if (next) this.out.recoveryMs.push(next.at - d.at);
    }
  }

  /** The worker that took the run's latest task (from the history): the one a kill hurts. */
  async busyWorker(h: Handle): Promise<WorkerProcess | undefined> {
    const events = (await h.fetchHistory().catch(() => undefined))?.events ?? [];
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      const id = e.activityTaskStartedEventAttributes?.identity ?? e.workflowTaskStartedEventAttributes?.identity;
      if (!id) continue;
      const pid = Number(id.split('@')[0]);
      const w = this.suite.alive().find((x) => x.child.pid === pid);
      if (w) return w;
    }
    return this.suite.alive()[0];
  }

  finish(): void {
    this.suite.sampleRss();
    this.out.peakRssMb = this.suite.peakRssMb(this.pids);
    this.out.durationMs = Date.now() - this.started;
  }
}

function tsMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}
