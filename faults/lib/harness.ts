/** Running one fault scenario on the suite (suite.ts) with its stage (stage.ts); shared types in types.ts. */
import { resetWorkflowId } from '../../src/contract';
import { Stage } from './stage';
import type { Suite } from './suite';
import type { Outcome } from './types';

export * from './types';
export * from './wait';
export { Suite } from './suite';
export type { Stage } from './stage';

export function newOutcome(kind: string, scenario: string, expected: string): Outcome {
  return {
    scenario,
    kind,
    faults: 0,
    expected,
    got: '?',
    keptRowsLost: 0,
    keptObjectsLost: 0,
    droppedObjectsLeft: 0,
    duplicateSeedRows: 0,
    recoveryMs: [],
    durationMs: 0,
    problems: [],
  };
}

export type ScenarioBody = (s: Stage) => Promise<void>;

/** Runs one scenario on the suite, turning a thrown error into a problem; the run it started is ended either way. */
export async function scenario(
  suite: Suite,
  kind: string,
  name: string,
  expected: string,
  body: ScenarioBody,
): Promise<Outcome> {
  const s = new Stage(suite, newOutcome(kind, name, expected));
  try {
    await s.prepare();
    await body(s);
  } catch (e) {
    s.problem(`error: ${(e as Error).message}`);
  } finally {
    // A scenario that failed midway may leave its run open: terminate it so the next one can start.
    await suite.f.client.workflow
      .getHandle(resetWorkflowId(suite.f.target))
      .terminate('fault suite: scenario over')
      .catch(() => undefined);
    if (suite.smallDiskTarget)
      await suite.f.client.workflow
        .getHandle(resetWorkflowId(suite.smallDiskTarget))
        .terminate('fault suite: scenario over')
        .catch(() => undefined);
    s.finish();
  }
  return s.out;
}
