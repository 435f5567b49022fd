/**
 * A fleet's children, batch after batch: at most maxConcurrent at once; once failures exceed
 * maxFailures or a batch did not complete, no new child starts (those running finish).
 */
import { condition, log } from '@temporalio/workflow';
import { type Children, childInput } from './fleet-children';
import { notStarted } from './fleet-ending';
import type { CheckedFleetInput } from './fleet-input';
import type { FleetState } from './fleet-progress';
import { FleetAborted, type FleetSignals } from './fleet-signals';

/**
 * Returns when the last batch has ended, or as soon as a threshold stops new starts (children may still run); throws
 * FleetAborted on an abort.
 */
export async function runBatches(
  input: CheckedFleetInput,
  fleet: FleetState,
  children: Children,
  signals: FleetSignals,
): Promise<void> {
  const s = fleet.state;
  const overThreshold = () => fleet.failures() > s.limits!.maxFailures;
  const sizes = s.limits!.batches;
  for (let b = 0; b < sizes.length; b++) {
    s.batch = { index: b + 1, of: sizes.length };
    const members = s.targets.filter((x) => x.batch === b + 1);
    for (const m of members) {
      await condition(() => Boolean(signals.abort) || overThreshold() || fleet.active() < s.limits!.maxConcurrent);
      if (signals.abort) throw new FleetAborted();
      if (overThreshold())
        return stop(
          fleet,
          'failureThreshold',
          `failure threshold reached (${fleet.failures()} failed or waiting, ${s.limits!.maxFailures} allowed)`,
        );
      children.start(m, childInput(input, m));
    }
    await condition(() => Boolean(signals.abort) || members.every((m) => fleet.ended(m)));
    if (signals.abort) throw new FleetAborted();
    const missed = members.filter((m) => m.status !== 'completed');
    if (missed.length && b + 1 < sizes.length)
      return stop(
        fleet,
        'batchFailed',
        `batch ${b + 1} did not complete (${missed.map((m) => `${m.target}: ${m.status}`).join(', ')})`,
      );
  }
}

function stop(fleet: FleetState, reason: 'failureThreshold' | 'batchFailed', detail: string): void {
  const s = fleet.state;
  s.stopped = { reason, at: new Date().toISOString(), detail };
  for (const x of s.targets) if (x.status === 'pending' || x.status === 'planned') notStarted(x, detail);
  log.warn('No new target starts', { reason, detail });
  fleet.publish();
}
