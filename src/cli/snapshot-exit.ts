/** Where a run stands, as an exit code, and the error of a command that needs a running run. */
import { CliError } from './errors';
import { EXIT, ExitCode } from './exit-codes';
import { phaseOf, type Snapshot } from './snapshot-model';
import { leftStopped, stillStoppedLine } from './workers-view';

/** Exit code that tells a script where the run stands. */
export function exitCodeFor(snap: Snapshot): ExitCode {
  if (leftStopped(snap)) return EXIT.workersStopped;
  if (snap.status === 'RUNNING') {
    const phase = phaseOf(snap);
    if (phase === 'awaiting-approval' || phase === 'waiting-for-operator') return EXIT.waiting;
    if (snap.noWorker) return EXIT.waiting;
    return EXIT.running;
  }
  if (snap.status === 'COMPLETED' && snap.result) {
    const o = snap.result.outcome;
    if (o === 'completed') return EXIT.ok;
    if (o === 'planned') return snap.result.plan?.errors?.length ? EXIT.failed : EXIT.ok;
    return EXIT.failed;
  }
  return EXIT.failed;
}

/** For a command that needs a running run: the run has ended; if it left the workers stopped, that first (exit 7). */
export function endedRunError(snap: Snapshot, nothingTo: string, hint?: string): CliError {
  const stopped = leftStopped(snap);
  if (stopped)
    return new CliError(
      `${snap.workflowId} has ended (${snap.status}) with the Solid Queue workers stopped; there is nothing to ${nothingTo}. ${stillStoppedLine(stopped)}`,
      EXIT.workersStopped,
    );
  return new CliError(
    `${snap.workflowId} has ended (${snap.status}); there is nothing to ${nothingTo}`,
    EXIT.failed,
    hint,
  );
}
