/**
 * What the CLI knows about a fleet at one moment: the server's description, the fleet's `progress`
 * query (when a worker answers) and, once closed, its FleetResult (returned, or carried by the
 * FleetFailed/FleetAborted/FleetRefused failure as its first detail).
 */
import { Client, WorkflowHandle, WorkflowNotFoundError } from '@temporalio/client';
import { fleetProgressQuery, type FleetProgress, type FleetResult, type FleetTarget } from '../contract';
import { keyErrorIn } from '../encryption/codec';
import { CliError } from './errors';
import { EXIT, type ExitCode } from './exit-codes';
import { fleetIdCandidates } from './fleet-args';
import { failureDetails, failureText } from './snapshot';

export interface FleetSnapshot {
  workflowId: string;
  runId: string;
  status: string;
  startTime: string;
  closeTime?: string;
  progress?: FleetProgress;
  progressError?: string;
  /** Set while running when no worker answered the progress query in time. */
  noWorker?: boolean;
  result?: FleetResult;
  failure?: string;
}

export function isFleetResult(d: unknown): d is FleetResult {
  return !!d && typeof d === 'object' && 'name' in d && 'targets' in d && 'totals' in d && 'outcome' in d;
}

export async function takeFleetSnapshot(
  client: Client,
  handle: WorkflowHandle,
  opts: { queryTimeoutMs?: number; result?: boolean } = {},
): Promise<FleetSnapshot> {
  const desc = await handle.describe();
  const snap: FleetSnapshot = {
    workflowId: desc.workflowId,
    runId: desc.runId,
    status: desc.status.name,
    startTime: desc.startTime.toISOString(),
    closeTime: desc.closeTime?.toISOString(),
  };
  const unreadable = (err: unknown) => {
    const k = keyErrorIn(err);
    if (k)
      throw new CliError(
        `cannot read fleet ${desc.workflowId}: ${k.message}`,
        EXIT.usage,
        `RR_CODEC_KEYS must hold the key "${k.keyId}"`,
      );
  };
  try {
    snap.progress = await client.withDeadline(Date.now() + (opts.queryTimeoutMs ?? 5000), () =>
      handle.query(fleetProgressQuery),
    );
  } catch (err) {
    unreadable(err);
    const msg = err instanceof Error ? err.message : String(err);
    snap.progressError = msg;
    if (snap.status === 'RUNNING' && /deadline|DEADLINE_EXCEEDED/i.test(msg)) snap.noWorker = true;
  }
  if (snap.status !== 'RUNNING' && opts.result !== false) {
    try {
      snap.result = (await handle.result()) as FleetResult;
    } catch (err) {
      unreadable(err);
      snap.failure = failureText(err);
      const d = failureDetails(err);
      if (isFleetResult(d)) snap.result = d;
    }
  }
  return snap;
}

/** The targets as the freshest source has them: the result once ended, else the progress. */
export function fleetTargets(snap: Pick<FleetSnapshot, 'result' | 'progress'>): FleetTarget[] {
  return snap.result?.targets ?? snap.progress?.targets ?? [];
}

/** Children that ended with their Solid Queue workers still stopped: a person must start them. */
export function stillStoppedTargets(snap: Pick<FleetSnapshot, 'result' | 'progress'>): FleetTarget[] {
  return fleetTargets(snap).filter((t) => t.workers === 'still-stopped' || t.endReason === 'workersStillStopped');
}

/** Targets whose child waits for a person: its own approval, or a retry/abort decision. */
export function waitingTargets(snap: Pick<FleetSnapshot, 'progress'>): FleetTarget[] {
  return (snap.progress?.targets ?? []).filter(
    (t) => t.status === 'awaiting-approval' || t.status === 'waiting-for-operator',
  );
}

/**
 * The exit code of where a fleet stands, as for one run: 7 as soon as any child left its workers
 * stopped (it outranks everything, even while other children run), 3 when the fleet or a child
 * waits for a person (or no worker answers), 4 running, 0 completed or a clean plan, else 1.
 */
export function fleetExitCode(snap: FleetSnapshot): ExitCode {
  if (
    stillStoppedTargets(snap).length ||
    snap.result?.endReason === 'workersStillStopped' ||
    (snap.progress?.totals.workersStillStopped ?? 0) > 0
  )
    return EXIT.workersStopped;
  if (snap.status === 'RUNNING') {
    if (snap.progress?.phase === 'awaiting-approval' || waitingTargets(snap).length || snap.noWorker)
      return EXIT.waiting;
    return EXIT.running;
  }
  const r = snap.result;
  if (snap.status === 'COMPLETED' && r) {
    if (r.outcome === 'completed') return EXIT.ok;
    if (r.outcome === 'planned') return r.targets.some((t) => t.plan?.errors.length) ? EXIT.failed : EXIT.ok;
  }
  return EXIT.failed;
}

/** A fleet named by its name ("nightly") or its workflow id ("fleet-nightly", "plan-fleet-nightly-…"). */
export async function resolveFleet(client: Client, text: string, runId?: string): Promise<WorkflowHandle> {
  for (const id of fleetIdCandidates(text)) {
    try {
      const desc = await client.workflow.getHandle(id, runId).describe();
      return client.workflow.getHandle(id, runId ?? desc.runId);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) continue;
      throw err;
    }
  }
  throw new CliError(
    `no fleet "${text}"${runId ? ` with run id ${runId}` : ''} in namespace ${client.options.namespace}`,
    EXIT.notFound,
    'see: reset-runbook list',
  );
}

/** The --json shape of a fleet snapshot (status, follow lines, the end of start/abort). */
export function fleetJson(snap: FleetSnapshot, extra: Record<string, unknown> = {}) {
  const p = snap.progress;
  const r = snap.result;
  return {
    workflowId: snap.workflowId,
    runId: snap.runId,
    ...extra,
    kind: 'fleet',
    name: r?.name ?? p?.name ?? null,
    mode: r?.mode ?? p?.mode ?? null,
    status: snap.status,
    phase: p?.phase ?? null,
    startTime: snap.startTime,
    closeTime: snap.closeTime ?? null,
    approval: p?.phase === 'awaiting-approval' ? (p.approval ?? null) : null,
    batch: p?.batch ?? null,
    limits: r?.limits ?? p?.limits ?? null,
    stopped: p?.stopped ?? null,
    targets: fleetTargets(snap),
    totals: r?.totals ?? p?.totals ?? null,
    outcome: r?.outcome ?? null,
    endReason: r?.endReason ?? null,
    message: r?.message ?? null,
    workersStillStopped: stillStoppedTargets(snap).map((t) => t.target),
    noWorker: snap.noWorker ?? false,
    progressError: snap.progress ? null : (snap.progressError ?? null),
    failure: snap.failure ?? null,
    exitCode: fleetExitCode(snap),
  };
}
