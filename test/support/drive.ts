/** Driving a run from a test the way an operator would: watch progress, approve when asked. */
import type { WorkflowHandle } from '@temporalio/client';
import type { productionDataReset } from '../../src/workflows';
import type { ResetFixture } from './fixture';
import { approveSignal, progressQuery, type Progress, type ResetResult } from '../../src/contract';

type Handle = WorkflowHandle<typeof productionDataReset>;

/**
 * The run's progress, or undefined when no worker answers within 5 s. A query fails while no worker
 * polls (after a crash), and one handed to a worker killed before it answered waits for the server's
 * own timeout (~30 s): the deadline is the one the CLI puts on its queries (src/cli/snapshot.ts).
 */
function progressOf(h: Pick<Handle, 'query' | 'client'>): Promise<Progress | undefined> {
  return h.client.withDeadline(Date.now() + 5000, () => h.query(progressQuery)).catch(() => undefined);
}

export async function waitFor(
  h: Pick<Handle, 'query' | 'client'>,
  pred: (p: Progress) => boolean,
  ms = 90_000,
): Promise<Progress> {
  const deadline = Date.now() + ms;
  let last: Progress | undefined;
  for (;;) {
    last = (await progressOf(h)) ?? last;
    if (last && pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last progress: ${JSON.stringify(last, null, 1)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Approves (once) whenever the run asks, and returns its result. */
export async function approveAndFinish(h: Handle, database: string): Promise<ResetResult> {
  let done = false;
  const result = h.result().finally(() => (done = true));
  let approved = false;
  while (!done && !approved) {
    const p = await progressOf(h);
    if (p?.phase === 'awaiting-approval') {
      await h.signal(approveSignal, { confirmation: database, by: 'jest' });
      approved = true;
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 250))]);
  }
  return result;
}

/** Waits until the run asks for approval, then gives it, as an operator who read the plan would. */
export async function approveWhenAsked(h: Handle, database: string): Promise<void> {
  await waitFor(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: database, by: 'jest' });
}

/** A reset of the fixture's target, approved as asked, that must complete; its result and run id. */
export async function completedReset(
  f: Pick<ResetFixture, 'start' | 'dbName'>,
): Promise<{ r: ResetResult; runId: string }> {
  const h = await f.start({ mode: 'execute' });
  const r = await approveAndFinish(h, f.dbName);
  expect(r.outcome).toBe('completed');
  return { r, runId: h.firstExecutionRunId };
}
