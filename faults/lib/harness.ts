/**
 * What every fault scenario shares. One demo target on the real stack (test/support/fixture.ts: its
 * own database, key prefix, task queue), reloaded before each scenario, and two long-lived workers as
 * real processes — a standby always polls, as in production, so a recovery time measures the runbook
 * (heartbeat timeout, sticky queue, retry), not how long node takes to boot. Faults are switched on
 * per scenario through mode files that the target's wrapper commands read (pg_dump, stop, start) and
 * through the S3 fault proxy, so the targets file never changes under the workers. A second target on
 * the same database, with storage.quarantine and a pg_restore wrapper, is the restore scenarios' own.
 * The checks after each fault: every table's row count and the bucket listing, never logs.
 */
import { temporal } from '@temporalio/proto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { load } from '../../demo/generate';
import type { productionDataReset } from '../../src/workflows';
import { progressQuery, resetWorkflowId, type Progress, type ResetInput, type ResetResult, WORKFLOW_TASK_TIMEOUT } from '../../src/contract';
import { ResetFixture, type WorkerProcess } from '../../test/support/fixture';
import { REPO_ROOT } from '../../test/support/temporal';
import { startChaosProxy, type ChaosProxy } from './chaos-proxy';

export type Handle = WorkflowHandle<typeof productionDataReset>;

export const EXPECTED_REPORT = ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join('\n');
/** What the demo's seeds insert: more rows than this after a reset are duplicated seed rows. */
export const SEEDED: Record<string, number> = { users: 6, phone_models: 10, system_settings: 1 };
/** Tables the demo's reset keeps (Rails' own bookkeeping). */
const KEPT_TABLES = ['ar_internal_metadata', 'schema_migrations'];

/** One scenario's figures: what the table adds up. */
export interface Outcome {
  scenario: string;
  kind: string;
  faults: number;
  expected: string;
  got: string;
  keptRowsLost: number;
  keptObjectsLost: number;
  droppedObjectsLeft: number;
  duplicateSeedRows: number;
  /** Worker death → the next activity attempt started on a live worker, per death (ms). */
  recoveryMs: number[];
  peakRssMb?: number;
  durationMs: number;
  /** Every check that did not hold (empty: the scenario passed). */
  problems: string[];
}

export interface Snapshot {
  counts: Map<string, number>;
  objects: Map<string, number>;
  blobKeys: Set<string>;
}

/** The switches a scenario flips: each wrapper reads its mode file at every call. */
export type Modes = {
  pgDump?: 'ok' | 'fail' | 'kill-once' | 'truncated-once' | `slow:${number}`;
  stop?: 'ok' | 'fail' | 'hang' | 'ignore-term';
  start?: 'ok' | 'fail' | 'fail-once' | 'no-heartbeat';
  /** slow: the SQL seeds begin with a 3 s pg_sleep (long enough to be caught). */
  seeds?: 'ok' | 'slow';
  /** slow-once: the restore's data stream stalls 4 s after its first 8 KiB, once (its session caught mid-load). */
  pgRestore?: 'ok' | 'slow-once';
};

export interface Job {
  name: string;
  run: (suite: Suite) => Promise<Outcome>;
}

const SEEDS_SQL = path.join(REPO_ROOT, 'demo', 'db', 'seeds.sql');

const wrapper = (modeFile: string, body: string) => `#!/bin/bash
# faults/: a wrapper whose behaviour the fault suite sets in ${path.basename(modeFile)}.
mode=$(cat "${modeFile}" 2>/dev/null || echo ok)
${body}
`;

export class Suite {
  f: ResetFixture;
  proxy!: ChaosProxy;
  readonly workers: WorkerProcess[] = [];
  readonly deaths: { at: number; pid: number }[] = [];
  readonly crashFile: string;
  private readonly bin: string;
  private peakRssKb = new Map<number, number>();
  private rssTimer?: NodeJS.Timeout;
  /** A second target on the same database whose backups go to a tiny tmpfs (disk full). */
  smallDiskTarget?: string;
  smallDiskDir?: string;
  /** A third target on the same database with storage.quarantine, for the restore scenarios (faults/scenarios/restore.ts). */
  restoreTarget!: string;

  constructor(readonly opts: { scale?: string; pageSize?: number } = {}) {
    this.f = new ResetFixture({ pageSize: opts.pageSize ?? 5, scale: opts.scale });
    this.crashFile = path.join(this.f.dir, 'crash-at');
    this.bin = path.join(this.f.dir, 'bin');
  }

  async start(): Promise<void> {
    this.proxy = await startChaosProxy(process.env.RR_S3_ENDPOINT!);
    await this.f.setup();
    fs.mkdirSync(this.bin, { recursive: true });
    const real = path.join(process.env.RR_PG_BIN!, 'pg_dump');
    const service = path.join(REPO_ROOT, 'scripts', 'solid-queue-service');
    const m = (n: string) => path.join(this.bin, `${n}.mode`);
    this.script(
      'pg_dump',
      wrapper(
        m('pg_dump'),
        `[ "$1" = "--version" ] && exec ${real} "$@"
case "$mode" in
  fail) echo "pg_dump: error: connection to server failed (injected)" >&2; exit 1 ;;
  kill-once) echo ok > "${m('pg_dump')}"; ${real} "$@" | head -c 4096; kill -9 $$ ;;
  truncated-once) echo ok > "${m('pg_dump')}"; ${real} "$@" | head -c 4096; exit 0 ;;
  slow:*) sleep "\${mode#slow:}"; exec ${real} "$@" ;;
  *) exec ${real} "$@" ;;
esac`,
      ),
    );
    this.script(
      'stop',
      wrapper(
        m('stop'),
        `case "$mode" in
  fail) echo "systemctl: Failed to stop solid_queue.service: Access denied (injected)" >&2; exit 1 ;;
  hang) exec sleep 3600 ;;
  ignore-term) exit 0 ;;  # TERM sent, process ignored it: it keeps running and heartbeating
  *) exec ${service} stop ;;
esac`,
      ),
    );
    this.script(
      'start',
      wrapper(
        m('start'),
        `case "$mode" in
  fail) echo "systemctl: Job for solid_queue.service failed (injected)" >&2; exit 1 ;;
  fail-once) echo ok > "${m('start')}"; echo "systemctl: Job for solid_queue.service failed (injected)" >&2; exit 1 ;;
  no-heartbeat) setsid nohup sleep 3600 >/dev/null 2>&1 & echo $! >> "${path.join(this.bin, 'no-heartbeat.pid')}"; exit 0 ;;  # a process that never registers
  *) exec ${service} start ;;
esac`,
      ),
    );
    const realRestore = path.join(process.env.RR_PG_BIN!, 'pg_restore');
    this.script(
      'pg_restore',
      wrapper(
        m('pg_restore'),
        `if [ "$mode" = slow-once ] && [[ " $* " == *" --data-only "* ]]; then
  echo ok > "${m('pg_restore')}"
  # dd reads byte by byte: nothing past the first 8 KiB is swallowed before the pause.
  ${realRestore} "$@" | { dd bs=1 count=8192 2>/dev/null; sleep 4; cat; }
  exit \${PIPESTATUS[0]}
fi
exec ${realRestore} "$@"`,
      ),
    );
    // The restore runs psql from beside pg_restore (restore/load.ts).
    fs.symlinkSync(path.join(process.env.RR_PG_BIN!, 'psql'), path.join(this.bin, 'psql'));
    this.setModes({});
    this.f.opts.target = { backup: { pgDump: path.join(this.bin, 'pg_dump') }, endpoint: this.proxy.endpoint, seedSqlFile: path.join(this.bin, 'seeds.sql') };
    this.f.writeTargets();
    const file = JSON.parse(fs.readFileSync(this.f.targetsFile, 'utf8'));
    const t = file.targets[this.f.target];
    t.workers.stop = `${path.join(this.bin, 'stop')}`;
    t.workers.start = `${path.join(this.bin, 'start')}`;
    t.workers.stopTimeoutSeconds = 8;
    t.workers.startTimeoutSeconds = 10;
    t.workers.restartBudgetSeconds = 25;
    this.smallDiskDir = mountTinyDisk(path.join(this.f.dir, 'tiny'));
    if (this.smallDiskDir) {
      this.smallDiskTarget = `${this.f.target}-tiny`;
      file.targets[this.smallDiskTarget] = { ...t, backup: { ...t.backup, dir: this.smallDiskDir } };
    }
    this.restoreTarget = `${this.f.target}-restore`;
    file.targets[this.restoreTarget] = {
      ...t,
      backup: { ...t.backup, pgRestore: path.join(this.bin, 'pg_restore') },
      storage: { ...t.storage, quarantine: { bucket: this.f.bucket, prefix: `quarantine-${this.f.id}/`, days: 30 } },
    };
    fs.writeFileSync(this.f.targetsFile, JSON.stringify(file, null, 2));
    await this.ensureWorkers();
    this.rssTimer = setInterval(() => this.sampleRss(), 250);
  }

  private script(name: string, text: string): void {
    fs.writeFileSync(path.join(this.bin, name), text, { mode: 0o755 });
  }

  setModes(m: Modes): void {
    fs.writeFileSync(path.join(this.bin, 'pg_dump.mode'), m.pgDump ?? 'ok');
    fs.writeFileSync(path.join(this.bin, 'stop.mode'), m.stop ?? 'ok');
    fs.writeFileSync(path.join(this.bin, 'start.mode'), m.start ?? 'ok');
    fs.writeFileSync(path.join(this.bin, 'pg_restore.mode'), m.pgRestore ?? 'ok');
    fs.writeFileSync(path.join(this.bin, 'seeds.sql'), (m.seeds === 'slow' ? 'SELECT pg_sleep(3);\n' : '') + fs.readFileSync(SEEDS_SQL, 'utf8'));
  }

  /** Two workers poll at all times (replacements start in parallel). */
  async ensureWorkers(n = 2): Promise<void> {
    const alive = this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).length;
    await Promise.all(Array.from({ length: Math.max(0, n - alive) }, () => this.worker()));
  }

  async worker(env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
    const w = await this.f.startWorker({ RR_CRASH_FILE: this.crashFile, RR_S3_REQUEST_TIMEOUT_MS: '3000', ...env });
    this.workers.push(w);
    w.child.once('exit', () => this.deaths.push({ at: Date.now(), pid: w.child.pid! }));
    return w;
  }

  alive(): WorkerProcess[] {
    return this.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  }

  private loaded = false;

  /** A fresh copy of the demo data (same seed: the same rows and keys each time); the first is setup's own. */
  async reload(): Promise<void> {
    this.f.service('stop');
    if (!this.loaded) {
      this.loaded = true;
      return;
    }
    this.f.report = (await load({
      databaseUrl: this.f.dbUrl,
      scale: this.opts.scale ?? 'small',
      seed: this.f.id,
      fresh: true,
      storage: { bucket: this.f.bucket, endpoint: this.f.endpoint, prefix: this.f.prefix, otherAppPrefix: this.f.otherAppPrefix },
    }))!;
    // A run terminated midway (a failed scenario) leaves its claim on the database: the next run must not be refused for it.
    await this.f.sql(`DO $$ BEGIN IF to_regclass('reset_runbook.reset_lock') IS NOT NULL THEN DELETE FROM reset_runbook.reset_lock; END IF; END $$`);
    for (const file of fs.readdirSync(this.f.backupDir, { withFileTypes: true }).filter((d) => d.isFile())) fs.rmSync(path.join(this.f.backupDir, file.name));
  }

  sampleRss(): void {
    for (const w of this.alive()) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${w.child.pid}/status`, 'utf8'));
        if (m) this.peakRssKb.set(w.child.pid!, Math.max(this.peakRssKb.get(w.child.pid!) ?? 0, Number(m[1])));
      } catch {
        /* exited between the check and the read */
      }
    }
  }

  /** The highest peak RSS among workers alive since `since` (ms), in MB. */
  peakRssMb(pids: Set<number>): number | undefined {
    const kb = Math.max(0, ...[...pids].map((p) => this.peakRssKb.get(p) ?? 0));
    return kb ? Math.round(kb / 1024) : undefined;
  }

  async close(): Promise<void> {
    if (this.rssTimer) clearInterval(this.rssTimer);
    await this.f.cleanup().catch(() => undefined);
    if (this.smallDiskDir) unmount(this.smallDiskDir);
    await this.proxy?.close();
  }
}

/** A 64 MiB tmpfs as a backup folder (more than the small demo database, so the plan's free-space check passes) (root can mount one); undefined where mounting is not allowed. */
function mountTinyDisk(dir: string): string | undefined {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    return undefined;
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    /* already gone */
  }
}

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
    const tables = await this.f.sql<{ t: string }>(`SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`);
    const counts = new Map<string, number>();
    for (const { t } of tables) counts.set(t, await this.f.count(t));
    const objects = new Map([...(await this.f.objects(this.f.prefix)), ...(await this.f.objects(this.f.otherAppPrefix))]);
    const blobKeys = new Set((await this.f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key));
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

  /** After an ending that must be whole: the six counts, no dropped blob's object, nothing kept lost, workers running. */
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
    this.check(p.phase === 'waiting-for-operator' && p.waiting?.step === step, `expected a pause at ${step}, got ${this.out.got}`);
    this.check(p.workers.status === 'untouched' || p.workers.status === 'running', `workers ${p.workers.status} while paused`);
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

  /** Each death in this scenario: the first activity attempt started after it on another worker (history event times). */
  async measureRecovery(h: Handle): Promise<void> {
    const events = (await h.fetchHistory()).events ?? [];
    const E = temporal.api.enums.v1.EventType;
    const starts = events.filter((e) => e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED).map((e) => ({ at: tsMs(e.eventTime), identity: e.activityTaskStartedEventAttributes?.identity ?? '' }));
    const end = tsMs(events[events.length - 1]?.eventTime);
    for (const d of this.suite.deaths.filter((x) => x.at >= this.started && x.at < end)) {
      const next = starts.filter((s) => s.at > d.at && !s.identity.startsWith(`${d.pid}@`)).sort((a, b) => a.at - b.at)[0];
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

export async function waitFor(h: Handle, pred: (p: Progress) => boolean, ms = 120_000): Promise<Progress> {
  const deadline = Date.now() + ms;
  let last: Progress | undefined;
  for (;;) {
    last = (await h.query(progressQuery).catch(() => undefined)) ?? last;
    if (last && pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s; last phase ${last?.phase}, step ${last?.currentStep}`);
    await sleep(200);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function newOutcome(kind: string, scenario: string, expected: string): Outcome {
  return { scenario, kind, faults: 0, expected, got: '?', keptRowsLost: 0, keptObjectsLost: 0, droppedObjectsLeft: 0, duplicateSeedRows: 0, recoveryMs: [], durationMs: 0, problems: [] };
}

export type ScenarioBody = (s: Stage) => Promise<void>;

/** Runs one scenario on the suite, turning a thrown error into a problem; the run it started is ended either way. */
export async function scenario(suite: Suite, kind: string, name: string, expected: string, body: ScenarioBody): Promise<Outcome> {
  const s = new Stage(suite, newOutcome(kind, name, expected));
  try {
    await s.prepare();
    await body(s);
  } catch (e) {
    s.problem(`error: ${(e as Error).message}`);
  } finally {
    // A scenario that failed midway may leave its run open: terminate it so the next one can start.
    await suite.f.client.workflow
      .getHandle(resetWorkflowId(suite.f.target))
      .terminate('fault suite: scenario over')
      .catch(() => undefined);
    if (suite.smallDiskTarget)
      await suite.f.client.workflow
        .getHandle(resetWorkflowId(suite.smallDiskTarget))
        .terminate('fault suite: scenario over')
        .catch(() => undefined);
    s.finish();
  }
  return s.out;
}
