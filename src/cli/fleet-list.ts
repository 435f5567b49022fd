/**
 * Fleets for `list`: runs of the workflow type resetFleet, each with its children as the fleet knows
 * them (the progress query while it runs, its result or failure details once closed).
 */
import { Client } from '@temporalio/client';
import { FLEET_WORKFLOW_TYPE, type FleetTarget } from '../contract';
import { formatDuration, formatTime } from './format';
import { fleetTargets, takeFleetSnapshot } from './fleet-snapshot';
import { table } from './render';
import { PLAIN, Style } from './style';

export interface FleetSummary {
  workflowId: string;
  runId: string;
  kind: 'fleet' | 'fleet-plan';
  status: string;
  phase?: string;
  outcome?: string;
  endReason?: string;
  startTime: string;
  closeTime?: string;
  children: Pick<FleetTarget, 'target' | 'workflowId' | 'runId' | 'status' | 'outcome' | 'endReason' | 'workers'>[];
}

export async function listFleets(
  client: Client,
  { target, limit, running }: { target?: string; limit: number; running?: boolean },
): Promise<FleetSummary[]> {
  const query = `WorkflowType='${FLEET_WORKFLOW_TYPE}'${running ? ` AND ExecutionStatus='Running'` : ''}`;
  const out: FleetSummary[] = [];
  for await (const info of client.workflow.list({ query, pageSize: 100 })) {
    out.push({
      workflowId: info.workflowId,
      runId: info.runId,
      kind: info.workflowId.startsWith('plan-') ? 'fleet-plan' : 'fleet',
      status: info.status.name,
      startTime: info.startTime.toISOString(),
      closeTime: info.closeTime?.toISOString(),
      children: [],
    });
    if (out.length >= limit * 3) break;
  }
  out.sort((a, b) => b.startTime.localeCompare(a.startTime));
  const fleets = out.slice(0, target ? out.length : limit);
  await Promise.all(fleets.map((f) => addChildren(client, f)));
  // A target's fleets are those that list it among their children.
  return (target ? fleets.filter((f) => f.children.some((c) => c.target === target)) : fleets).slice(0, limit);
}

async function addChildren(client: Client, f: FleetSummary): Promise<void> {
  try {
    const snap = await takeFleetSnapshot(client, client.workflow.getHandle(f.workflowId, f.runId), {
      queryTimeoutMs: 3000,
    });
    f.phase = snap.progress?.phase;
    f.outcome = snap.result?.outcome;
    f.endReason = snap.result?.endReason;
    f.children = fleetTargets(snap).map((t) => ({
      target: t.target,
      workflowId: t.workflowId,
      runId: t.runId,
      status: t.status,
      outcome: t.outcome,
      endReason: t.endReason,
      workers: t.workers,
    }));
  } catch {
    // A fleet this CLI cannot read (no worker, another key) is listed without its children.
  }
}

export function renderFleetList(fleets: FleetSummary[], style: Style = PLAIN): string {
  if (!fleets.length) return '  (no fleets)';
  const lines = table(
    ['fleet', 'kind', 'status', 'outcome', 'targets', 'started', 'took'],
    fleets.map((f) => [
      f.workflowId,
      f.kind,
      f.status === 'RUNNING' ? style.cyan(f.status) : f.status === 'COMPLETED' ? f.status : style.red(f.status),
      f.outcome
        ? `${f.outcome}${f.endReason && f.endReason !== f.outcome ? ` (${f.endReason})` : ''}`
        : (f.phase ?? ''),
      String(f.children.length || ''),
      formatTime(f.startTime),
      formatDuration((f.closeTime ? Date.parse(f.closeTime) : Date.now()) - Date.parse(f.startTime)),
    ]),
  ).split('\n');
  // Each fleet, then its children under it, one line each.
  const out = lines.slice(0, 2);
  fleets.forEach((f, i) => {
    out.push(lines[i + 2]);
    for (const c of f.children) {
      const stopped = c.workers === 'still-stopped' ? style.red(style.bold('  WORKERS STILL STOPPED')) : '';
      out.push(
        `      ${c.target.padEnd(20)} ${(c.outcome ?? c.status).padEnd(18)} ${c.runId ? c.workflowId : style.dim('(not started)')}${stopped}`,
      );
    }
  });
  return out.join('\n');
}
