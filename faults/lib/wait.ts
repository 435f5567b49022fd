/** Waiting on a run's progress query, for the fault scenarios. */
import type { Progress } from '../../src/contract';
import { progressOf } from '../../test/support/drive';
import type { Handle } from './types';

export async function waitFor(h: Handle, pred: (p: Progress) => boolean, ms = 120_000): Promise<Progress> {
  const deadline = Date.now() + ms;
  let last: Progress | undefined;
  for (;;) {
    last = (await progressOf(h)) ?? last;
    if (last && pred(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms / 1000} s; last phase ${last?.phase}, step ${last?.currentStep}`);
    await sleep(200);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
