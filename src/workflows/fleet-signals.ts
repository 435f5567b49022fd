/**
 * What a fleet hears while it runs: an abort, its approval, and its children's reports. The handlers
 * only record; the fleet's body (fleet.ts) reads what they recorded between its steps.
 */
import { type CancellationScope, setHandler } from '@temporalio/workflow';
import {
  type AbortArgs,
  childReportSignal,
  fleetAbortSignal,
  fleetApproveSignal,
  type FleetApproveArgs,
  type FleetProgress,
} from '../contract';
import type { Children } from './fleet-children';
import type { CheckedFleetInput } from './fleet-input';
import type { FleetState } from './fleet-progress';

/** Thrown inside the fleet's body to leave its running phase once an abort came. */
export class FleetAborted extends Error {}

export interface FleetSignals {
  /** A valid approval; one that does not match the plan is rejected in the fleet's state instead. */
  approval?: FleetApproveArgs;
  /** The first abort; a later one changes nothing. */
  abort?: AbortArgs;
}

/** Sets the handlers; the object returned fills in as signals arrive. */
export function handleFleetSignals(
  input: CheckedFleetInput,
  fleet: FleetState,
  children: Children,
  planning: CancellationScope,
): FleetSignals {
  const got: FleetSignals = {};
  const s = fleet.state;
  setHandler(fleetAbortSignal, (a) => {
    if (got.abort) return;
    got.abort = a ?? {};
    s.abortRequested = { by: got.abort.by, reason: got.abort.reason, at: new Date().toISOString() };
    planning.cancel();
    fleet.publish();
  });
  setHandler(fleetApproveSignal, (a) => {
    const problem = approvalProblem(input, s, a);
    if (problem && s.approval) Object.assign(s.approval, { rejected: problem, rejectedAt: new Date().toISOString() });
    else if (!problem) got.approval = a;
    fleet.publish();
  });
  setHandler(childReportSignal, (r) => {
    const t = fleet.report(r);
    // Unattended, nobody would come: a paused child is aborted (it has already started its workers again).
    if (t?.status === 'waiting-for-operator' && input.onChildPause === 'abort')
      void children.abort(t, { by: `fleet ${input.name}`, reason: 'a step failed and this fleet runs unattended' });
  });
  return got;
}

function approvalProblem(input: CheckedFleetInput, s: FleetProgress, a: FleetApproveArgs): string | undefined {
  if (!s.limits || s.phase !== 'awaiting-approval') return 'the fleet is not waiting for an approval';
  if (a?.confirmation !== input.name)
    return `confirmation "${a?.confirmation}" does not match the fleet's name "${input.name}"`;
  if (a.databases !== s.limits.databases)
    return `databases ${a.databases} does not match the plan: ${s.limits.databases} databases on ${s.limits.targets} targets`;
  return undefined;
}

export function abortedBy(a: AbortArgs): string {
  return `aborted by ${a.by ?? 'an operator'}${a.reason ? `: ${a.reason}` : ''}`;
}
