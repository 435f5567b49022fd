import { CommandSpec, ParsedCommand } from './args';
import { Context } from './context';
import { ExitCode } from './exit-codes';
import { UsageError } from './errors';
import { TASK_QUEUE } from '../workflows/definitions';
import { TARGET_NAME, TARGET_NAME_RULE } from '../config/rules';

export interface Command extends CommandSpec {
  run(ctx: Context, parsed: ParsedCommand): Promise<ExitCode>;
  /** Verbs of a command group (`fleet plan|start|…`): each a command of its own, named "<group> <verb>". */
  subcommands?: Command[];
}

/**
 * The command a command line names: for a group, its verb (the first argument) picks the subcommand
 * and the rest is its arguments. Without a verb the group itself parses them (its --help, or "missing <verb>").
 */
export function pickSubcommand(command: Command, argv: string[]): { command: Command; argv: string[] } {
  const [verb, ...rest] = argv;
  if (!command.subcommands || verb === undefined || verb.startsWith('-')) return { command, argv };
  const sub = command.subcommands.find((c) => c.name === `${command.name} ${verb}`);
  if (!sub) throw new UsageError(`${command.name}: unknown verb ${JSON.stringify(verb)}`, `verbs: ${command.subcommands.map((c) => c.name.split(' ')[1]).join(', ')}`);
  return { command: sub, argv: rest };
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
  description: 'workflow id (reset-<target>, plan-<target>-<time>, or any id given in the Web UI), or a target name for its reset',
};

export const RUN_ID_OPTION = { type: 'string' as const, value: '<run id>', description: 'a specific run of that workflow id (default: the latest)' };

/** The runbook's task queue; RR_TASK_QUEUE separates environments (and tests) on one server, as for the worker. */
export function taskQueueOf(env: NodeJS.ProcessEnv): string {
  return env.RR_TASK_QUEUE || TASK_QUEUE;
}
