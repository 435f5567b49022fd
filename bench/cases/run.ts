/**
 * run: the whole workflow — a real Temporal dev server, a real worker process run as the image runs it
 * (compiled, prebuilt bundle; a fresh one per run, so its VmHWM is that run's peak; with --warm it first
 * serves one unmeasured run), the demo's real Solid Queue stand-in stopped and started by the target's
 * commands — vs. the runbook as a script (bench/peer-script.ts). Before every run the database is
 * re-created, the deleted objects are put back and the Solid Queue stand-in is started; our worker is up
 * and idle for at least SETTLE_MS before its run; its idle RSS is read, and its peak reset, just before.
 * Ours is started with the Temporal client and approved as soon as it asks (the driver reads the progress
 * each time the run's history grows), as an operator with `--confirm` would be. On a Disk-service fixture
 * the target's storage is that folder and the script deletes files by path. Per step: ours from the
 * result's stepDurationsMs, the script's from its own timestamps (bench/lib/steps.ts).
 */
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import {
  approveSignal,
  progressQuery,
  resetWorkflowId,
  TASK_QUEUE,
  WORKFLOW_TYPE,
  type ResetInput,
  type ResetResult,
} from '../../src/contract';
import { timed } from '../lib/activities';
import type { BenchContext } from '../lib/context';
import { recreateDatabase, recreateObjects } from '../lib/fixture';
import { run as runProgram } from '../lib/peers';
import type { RequestCounts } from '../lib/s3-counter';
import { figures, ratio, type Figures } from '../lib/stats';
import { ourStepSeconds, peerStepSeconds, stepFigures, type RunStep, type StepFigures } from '../lib/steps';
import { lastWindowSeconds, SERVICE, serviceEnv } from '../lib/target';
import { buildWorkerCode, startWorker, workerNodeFlags, type WorkerProcess } from '../lib/worker-process';
import { runPeerScript } from '../peer-script';

export interface RunFigures {
  /** fresh: each measured run is its worker's first; warm (--warm): its second, after one unmeasured run. */
  worker: 'fresh' | 'warm';
  /** The node flags the worker ran with (the defaults, or RR_BENCH_WORKER_NODE_FLAGS): runs under other flags do not compare. */
  workerNodeFlags: string[];
  oursSeconds: Figures;
  peerSeconds: Figures;
  ratio: number;
  workersStopped: { oursSeconds: Figures; peerSeconds: Figures; ratio: number };
  /**
   * The worker process: VmRSS after it sat idle, just before the run (idle); VmHWM after the run, reset just
   * before it (peak); and the peak above idle during each activity (from its scheduling to the next one's).
   */
  workerRss: {
    idleMiB: Figures;
    peakMiB: Figures;
    peakAboveIdleMiB: Figures;
    peakAboveIdleByActivityMiB: Record<string, Figures>;
  };
  requests: { ours: RequestCounts; peer: RequestCounts };
  objectsDeleted: { ours: number; peer: number };
  /** Each step of the whole run, ours and the script's (median, min, max over the runs). */
  steps: Record<RunStep, StepFigures>;
  /** pg_database_size of the fixture as loaded. */
  databaseBytes: number;
}

/** Our run, to its end; `what` names it in the error if it does not complete. */
async function ourRun(
  ctx: BenchContext,
  client: Client,
  what: string,
  peaks?: StepPeaks,
): Promise<{ seconds: number; result: ResetResult }> {
  const input: ResetInput = { target: ctx.run.name, mode: 'execute', reason: 'bench' };
  let driving: Promise<void> = Promise.resolve();
  const r = await timed(async () => {
    const handle = await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: TASK_QUEUE,
      workflowId: resetWorkflowId(ctx.run.name),
      args: [input],
    });
    driving = drive(ctx, client, handle, peaks);
    driving.catch(() => undefined); // awaited below, once the run is done
    return handle.result() as Promise<ResetResult>;
  });
  await driving;
  if (r.value.outcome !== 'completed') throw new Error(`${what} ended ${r.value.outcome}: ${r.value.message ?? ''}`);
  return { seconds: r.seconds, result: r.value };
}

/**
 * The worker's peak during each activity of a run, above its idle RSS: its VmHWM read, and reset, each time
 * the run's history schedules the next activity (and when it closes), so the figure of an activity is the
 * highest the worker reached from its scheduling to the next one's.
 */
interface StepPeaks {
  worker: WorkerProcess;
  idleMiB: number;
  byActivity: Record<string, number>;
}

/**
 * Plays an operator who approves at once and, with `peaks`, reads the worker's peak at each activity. It reads
 * the run's history as it grows (a long poll: the server answers when an event is written) and asks for the
 * progress on each answer until the run has been approved, not on a timer: polling the query every 10 ms
 * loaded the worker and the server while the backup ran (+0.3 s at large), and every 50 ms added ~25 ms of
 * the driver's own latency to every run.
 */
async function drive(
  ctx: BenchContext,
  client: Client,
  handle: WorkflowHandleWithFirstExecutionRunId,
  peaks?: StepPeaks,
): Promise<void> {
  // Before the first activity: the run's first workflow task.
  let current: string | undefined = '(start)';
  const mark = (next: string | undefined) => {
    if (!peaks) return;
    if (current !== undefined) {
      const above = peaks.worker.memory().hwmMiB - peaks.idleMiB;
      peaks.byActivity[current] = Math.max(peaks.byActivity[current] ?? 0, above);
    }
    // The last reading leaves VmHWM alone: the run's own peak is read after it from the segments.
    if (next !== undefined) peaks.worker.resetPeak();
    current = next;
  };
  let approved = false;
  let token: Uint8Array | undefined;
  for (;;) {
    if (!approved) {
      const p = await handle.query(progressQuery).catch(() => undefined);
      if (p?.approval) {
        await handle.signal(approveSignal, {
          confirmation: p.approval.database,
          planDigest: p.approval.planDigest,
          by: 'bench',
        });
        approved = true;
      }
    }
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: ctx.stack.namespace,
      execution: { workflowId: handle.workflowId, runId: handle.firstExecutionRunId },
      nextPageToken: token,
      waitNewEvent: true,
      maximumPageSize: 1000,
    });
    for (const e of page.history?.events ?? []) {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      if (name) mark(name);
    }
    // No token: the whole history has been read and the run is closed.
    if (!page.nextPageToken?.length) break;
    token = page.nextPageToken;
  }
  mark(undefined);
}

/** How long a worker has been up, idle, before a run starts (at least 1 s after the data is ready). */
const SETTLE_MS = 15_000;

export async function runCase(ctx: BenchContext): Promise<RunFigures> {
  const t = ctx.run;
  const f = t.fixture;
  ctx.log('run: compiling the worker and its workflow bundle ...');
  const code = await buildWorkerCode(ctx.dir);
  const connection = await Connection.connect({ address: ctx.stack.temporalAddress });
  const client = new Client({ connection, namespace: ctx.stack.namespace });
  const env = serviceEnv(t);
  // A run left open by an interrupted bench would refuse the fixed workflow id.
  await client.workflow
    .getHandle(resetWorkflowId(t.name))
    .terminate('bench: a new bench run')
    .catch(() => undefined);
  let fresh = true;
  let databaseBytes = 0;
  const prepare = async () => {
    await runProgram('/bin/sh', ['-c', `${SERVICE} status >/dev/null && ${SERVICE} stop || true`], env);
    await recreateDatabase(ctx.stack, f);
    if (!fresh) await recreateObjects(f);
    else {
      const c = new PgClient({ connectionString: f.url });
      await c.connect();
      databaseBytes = Number((await c.query(`SELECT pg_database_size(current_database()) AS b`)).rows[0].b);
      await c.end();
    }
    fresh = false;
    // Settle the copy's checkpoint and the files' writeback before the clock starts, for both sides.
    await runProgram('/bin/sync', []);
    await runProgram(SERVICE, ['start'], env);
  };
  const oursSteps: Record<RunStep, number>[] = [];
  const peerSteps: Record<RunStep, number>[] = [];
  const ours: number[] = [];
  const peer: number[] = [];
  const oursWindow: number[] = [];
  const peerWindow: number[] = [];
  const idle: number[] = [];
  const peak: number[] = [];
  const byActivity: Record<string, number>[] = [];
  const requests = { ours: { ...ctx.counter.counts }, peer: { ...ctx.counter.counts } };
  const deleted = { ours: 0, peer: 0 };
  try {
    for (let i = 0; i < ctx.profile.runs; i++) {
      const label = `run ${i + 1}/${ctx.profile.runs}`;
      // The worker is started first and waits while the data is put back, as a deployed worker waits for
      // work: a run begun a second after the worker's start also measured the start-up's uncollected
      // garbage. The script then waits as long after its own data is put back, so that both start as
      // long after the database's re-creation (PostgreSQL writes its copy out meanwhile).
      let gapMs = 0;
      const worker = await startWorker({
        targetsFile: ctx.targetsFile,
        code,
        env: ctx.targetEnv,
        log: path.join(ctx.dir, `worker-${i + 1}.log`),
      });
      try {
        // --warm: a deployed worker has usually served runs before; its first run after a start also pays
        // for code run for the first time (V8 compiles lazily) and the workflow sandbox's first activation.
        if (ctx.warmWorker) {
          await prepare();
          const w = await ourRun(ctx, client, 'our warm-up run');
          ctx.log(`${label}: the worker's unmeasured first run ${w.seconds.toFixed(2)} s`);
        }
        const ready = Date.now();
        await prepare();
        gapMs = Math.max(1000, SETTLE_MS - (Date.now() - ready));
        await new Promise((r) => setTimeout(r, gapMs));
        // The peak from here on is the run's: not the start-up's, which a settled worker has shed since.
        worker.resetPeak();
        idle.push(worker.memory().rssMiB);
        ctx.counter.reset();
        const stepPeaks: StepPeaks = { worker, idleMiB: idle[i], byActivity: {} };
        const o = await ourRun(ctx, client, 'our run', stepPeaks);
        requests.ours = { ...ctx.counter.counts };
        // The peak was read, and reset, at each activity: the run's is the highest of them.
        peak.push(idle[i] + Math.max(0, ...Object.values(stepPeaks.byActivity)));
        byActivity.push(stepPeaks.byActivity);
        ours.push(o.seconds);
        oursWindow.push(lastWindowSeconds(t));
        deleted.ours = o.result.objectsDeleted?.count ?? 0;
        oursSteps.push(ourStepSeconds(o.result.stepDurationsMs ?? {}, o.seconds));
        ctx.log(
          `${label}: ours ${o.seconds.toFixed(2)} s, workers stopped ${oursWindow[i].toFixed(2)} s, worker RSS idle ${idle[i].toFixed(0)} MiB peak ${peak[i].toFixed(0)} MiB (above idle: ${Object.entries(
            stepPeaks.byActivity,
          )
            .map(([a, m]) => `${a} ${m.toFixed(0)}`)
            .join(', ')}); ${stepsLine(oursSteps[i])}`,
        );
      } finally {
        await worker.stop();
      }
      await prepare();
      await new Promise((r) => setTimeout(r, gapMs));
      ctx.counter.reset();
      const p = await runPeerScript({
        databaseUrl: f.url,
        pgBin: ctx.stack.pgBin,
        backupFile: path.join(ctx.dir, 'peer-run.dump'),
        stopCommand: t.stopCommand,
        startCommand: t.startCommand,
        commandEnv: env,
        s3: ctx.s3,
        bucket: f.bucket,
        storageDir: f.storageDir,
      });
      requests.peer = { ...ctx.counter.counts };
      peer.push(p.seconds);
      peerWindow.push(lastWindowSeconds(t));
      deleted.peer = p.objectsDeleted;
      peerSteps.push(peerStepSeconds(p.steps, p.seconds));
      ctx.log(
        `${label}: script ${p.seconds.toFixed(2)} s, workers stopped ${peerWindow[i].toFixed(2)} s; ${stepsLine(peerSteps[i])}`,
      );
    }
  } finally {
    await runProgram('/bin/sh', ['-c', `${SERVICE} status >/dev/null && ${SERVICE} stop || true`], env).catch(
      () => undefined,
    );
    await connection.close();
  }
  const of = figures(ours);
  const pf = figures(peer);
  const ow = figures(oursWindow);
  const pw = figures(peerWindow);
  return {
    worker: ctx.warmWorker ? 'warm' : 'fresh',
    workerNodeFlags: [...workerNodeFlags()],
    oursSeconds: of,
    peerSeconds: pf,
    ratio: ratio(of, pf),
    workersStopped: { oursSeconds: ow, peerSeconds: pw, ratio: ratio(ow, pw) },
    workerRss: {
      idleMiB: figures(idle),
      peakMiB: figures(peak),
      peakAboveIdleMiB: figures(peak.map((p, i) => p - idle[i])),
      peakAboveIdleByActivityMiB: Object.fromEntries(
        [...new Set(byActivity.flatMap((b) => Object.keys(b)))].map((a) => [
          a,
          figures(byActivity.map((b) => b[a] ?? 0)),
        ]),
      ),
    },
    requests,
    objectsDeleted: deleted,
    steps: stepFigures(oursSteps, peerSteps),
    databaseBytes,
  };
}

const stepsLine = (s: Record<RunStep, number>) =>
  Object.entries(s)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
