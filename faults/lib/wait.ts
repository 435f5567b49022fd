/** Waiting on a run's progress query, for the fault scenarios: the tests' own wait, with a longer default. */
import type { Progress } from '../../src/contract';
import { waitFor as waitForProgress } from '../../test/support/drive';
import type { Handle } from './types';

export function waitFor(h: Handle, pred: (p: Progress) => boolean, ms = 120_000): Promise<Progress> {
  return waitForProgress(h, pred, ms);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
