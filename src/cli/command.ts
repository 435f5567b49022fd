import { CommandSpec, ParsedCommand } from './args';
import { Context } from './context';
import { ExitCode } from './exit-codes';
import { UsageError } from './errors';
import { TASK_QUEUE } from '../contract';
import { TARGET_NAME, TARGET_NAME_RULE } from '../config/rules';

export interface Command extends CommandSpec {
  verbs?: Command[];
  run(ctx: Context, parsed: ParsedCommand): Promise<ExitCode>;
}

/** Target names as the targets file spells them (the same rule); also safe inside a visibility query. */
export function checkTarget(target: string): string {
  if (!TARGET_NAME.test(target)) {
    throw new UsageError(`target ${JSON.stringify(target)}: expected ${TARGET_NAME_RULE}`);
  }
  return target;
}

export const RUN_ARG = {
  name: 'run',
  required: true,
  description:
    'workflow id (reset-<target>, plan-<target>-<time>, or any id given in the Web UI), or a target name for its reset',
};

export const RUN_ID_OPTION = {
  type: 'string' as const,
  value: '<run id>',
  description: 'a specific run of that workflow id (default: the latest)',
};

/** Who this client is to Temporal and to the run's four-eyes count (asserted, not proved: docs/operators/approvals.md). */
export const IDENTITY_OPTION = {
  type: 'string' as const,
  value: '<identity>',
  description: 'who you are to Temporal and the run (default: $TEMPORAL_IDENTITY, else user@host)',
};

/** The runbook's task queue; RR_TASK_QUEUE separates environments (and tests) on one server, as for the worker. */
export function taskQueueOf(env: NodeJS.ProcessEnv): string {
  return env.RR_TASK_QUEUE || TASK_QUEUE;
}
