/**
 * Following a fleet, as `follow` does one run: a poll a second; on a terminal a redrawn view (one
 * line per target), piped one line per change, with --json one NDJSON object per change.
 * Ctrl-C (ctx.signal) detaches: the fleet and its children go on, untouched.
 */
import { Client, WorkflowHandle } from '@temporalio/client';
import { Context, sleep } from './context';
import { EXIT, ExitCode } from './exit-codes';
import { formatTime, visibleLength } from './format';
import { renderFleetView, stillStoppedTargetLine } from './fleet-render';
import {
  FleetSnapshot,
  fleetExitCode,
  fleetJson,
  stillStoppedTargets,
  takeFleetSnapshot,
  waitingTargets,
} from './fleet-snapshot';

/** approval: the fleet's own; operator: a child waits for its own approval or a retry/abort decision. */
export type FleetWaitingKind = 'approval' | 'operator' | 'no-worker';

export function fleetWaitingKind(snap: FleetSnapshot): FleetWaitingKind | undefined {
  if (snap.status !== 'RUNNING') return undefined;
  if (snap.noWorker) return 'no-worker';
  if (snap.progress?.phase === 'awaiting-approval') return 'approval';
  if (waitingTargets(snap).length) return 'operator';
  return undefined;
}

export interface FleetFollowOptions {
  intervalMs?: number;
  /** Return (exit 3) as soon as the fleet or a child waits for a person. */
  exitOnWait?: boolean;
  /** Called each poll that finds the fleet waiting; 'stop' returns with the current exit code. */
  onWaiting?: (snap: FleetSnapshot, kind: FleetWaitingKind) => Promise<'continue' | 'stop'>;
  /** Show nothing while following (plan, abort): the caller prints the end. */
  quiet?: boolean;
}

/** What changed between two polls, one line each, for piped output. */
export function fleetChangeLines(prev: FleetSnapshot | undefined, snap: FleetSnapshot, now: Date): string[] {
  const t = formatTime(now).slice(11);
  const lines: string[] = [];
  const p = snap.progress;
  if (p && p.phase !== prev?.progress?.phase)
    lines.push(`[${t}] fleet ${p.name}: ${p.phase}${p.batch ? ` (batch ${p.batch.index}/${p.batch.of})` : ''}`);
  const before = new Map((prev?.progress?.targets ?? []).map((x) => [x.target, x]));
  for (const x of p?.targets ?? []) {
    const b = before.get(x.target);
    if (b && b.status === x.status && b.step === x.step && b.stepStatus === x.stepStatus && b.detail === x.detail)
      continue;
    if (!b && (x.status === 'pending' || x.status === 'planned')) continue;
    lines.push(
      `[${t}] ${x.target}: ${x.status}${x.step ? `, step ${x.step}${x.stepStatus ? ` ${x.stepStatus}` : ''}` : ''}${x.detail && x.detail !== x.status ? `: ${x.detail}` : ''}`,
    );
  }
  if (p?.phase === 'awaiting-approval' && p.approval && prev?.progress?.phase !== 'awaiting-approval') {
    lines.push(
      `[${t}] WAITING FOR THE FLEET APPROVAL of ${p.approval.databases} databases: reset-runbook fleet approve ${p.approval.fleet}`,
    );
  }
  if (p?.approval?.rejected && p.approval.rejected !== prev?.progress?.approval?.rejected)
    lines.push(`[${t}] approval refused: ${p.approval.rejected}`);
  if (p?.stopped && !prev?.progress?.stopped) lines.push(`[${t}] no new target starts: ${p.stopped.detail}`);
  const known = new Set(prev ? stillStoppedTargets(prev).map((x) => x.target) : []);
  for (const x of stillStoppedTargets(snap))
    if (!known.has(x.target)) lines.push(`[${t}] ${stillStoppedTargetLine(x)}`);
  if (snap.noWorker && !prev?.noWorker)
    lines.push(`[${t}] NO WORKER answered the progress query: the fleet continues when a worker runs it`);
  if (snap.status !== 'RUNNING' && prev?.status === 'RUNNING') lines.push(`[${t}] fleet ${snap.status.toLowerCase()}`);
  return lines;
}

function fingerprint(s: FleetSnapshot): string {
  const p = s.progress;
  return JSON.stringify([
    s.status,
    p?.phase,
    p?.batch,
    p?.approval?.rejected,
    p?.stopped,
    s.noWorker,
    p?.targets.map((t) => [t.status, t.step, t.stepStatus, t.detail, t.workers]),
  ]);
}

export async function followFleet(
  ctx: Context,
  client: Client,
  handle: WorkflowHandle,
  opts: FleetFollowOptions = {},
): Promise<{ snap: FleetSnapshot; code: ExitCode; detached: boolean }> {
  const interval = opts.intervalMs ?? Number(ctx.io.env.RESET_RUNBOOK_POLL_MS ?? 1000);
  let prev: FleetSnapshot | undefined;
  let drawnRows = 0;
  let lastFingerprint = '';
  const columns = () => ctx.io.stdout.columns ?? 120;
  const draw = (text: string) => {
    const rows = text.split('\n').reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / columns())), 0);
    ctx.io.stdout.write((drawnRows ? `\x1b[${drawnRows}F\x1b[0J` : '') + text + '\n');
    drawnRows = rows;
  };
  for (;;) {
    const snap = await takeFleetSnapshot(client, handle);
    const now = ctx.now();
    const fp = fingerprint(snap);
    if (!opts.quiet) {
      if (ctx.json) {
        if (fp !== lastFingerprint || snap.status !== 'RUNNING') ctx.emit({ type: 'progress', ...fleetJson(snap) });
      } else if (ctx.live) draw(renderFleetView(snap, now, ctx.style));
      else for (const l of fleetChangeLines(prev, snap, now)) ctx.print(l);
    }
    lastFingerprint = fp;
    prev = snap;
    if (snap.status !== 'RUNNING') return { snap, code: fleetExitCode(snap), detached: false };
    const kind = fleetWaitingKind(snap);
    if (kind) {
      if (opts.onWaiting) {
        if ((await opts.onWaiting(snap, kind)) === 'stop') return { snap, code: fleetExitCode(snap), detached: false };
        if (ctx.live) drawnRows = 0; // the prompt's lines stay; redraw below them
      } else if (opts.exitOnWait) return { snap, code: EXIT.waiting, detached: false };
    }
    await sleep(interval, ctx.signal);
    if (ctx.signal.aborted) {
      const name = snap.progress?.name ?? snap.workflowId;
      ctx.note(
        `\ndetached from ${snap.workflowId}: the fleet goes on. Follow it again: reset-runbook fleet follow ${name}`,
      );
      const code = fleetExitCode(snap);
      return {
        snap,
        code: code === EXIT.waiting || code === EXIT.workersStopped ? code : EXIT.running,
        detached: true,
      };
    }
  }
}
