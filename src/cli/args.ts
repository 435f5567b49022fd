/**
 * Argument parsing with Node's util.parseArgs: one spec per command, global options shared by all.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors';
import { DURATION_RULE, DURATION_UNIT_MS, isDuration, type DurationUnit } from '../config/rules';

export type OptionSpec = {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  /** Shown in help: the value's name, e.g. "<name>". */
  value?: string;
};

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments, in order. */
  positionals: { name: string; required: boolean; description: string }[];
  options: Record<string, OptionSpec>;
  /** Extra paragraphs for `reset-runbook <command> --help`. */
  details?: string;
  /**
   * Sub-verbs (`reset-runbook schedule create ...`): the first argument names one, which is then parsed
   * as a command of its own (its name is "<command> <verb>"). A command with verbs has no positionals.
   */
  verbs?: CommandSpec[];
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout (one object; NDJSON for follow)' },
  address: {
    type: 'string',
    value: '<host:port>',
    description: "Temporal frontend (default: $TEMPORAL_ADDRESS, the profile's address, or localhost:7233)",
  },
  namespace: {
    type: 'string',
    short: 'n',
    value: '<ns>',
    description: "Temporal namespace (default: $TEMPORAL_NAMESPACE, the profile's namespace, or default)",
  },
  profile: {
    type: 'string',
    value: '<name>',
    description: 'profile of the Temporal TOML config file (default: $TEMPORAL_PROFILE or default)',
  },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

export interface GlobalOptions {
  json: boolean;
  address?: string;
  namespace?: string;
  profile?: string;
  help: boolean;
}

export interface ParsedCommand {
  global: GlobalOptions;
  /** Positional values by name. */
  args: Record<string, string | undefined>;
  /** Command options by name (long form). */
  opts: Record<string, string | boolean | undefined>;
}

/**
 * The verb a command with verbs is asked for, and the arguments after it. Undefined when the command
 * has none, or for `--help` without a verb (the command's own help lists its verbs).
 */
export function pickVerb<S extends CommandSpec>(spec: S, argv: string[]): { verb: S; rest: string[] } | undefined {
  if (!spec.verbs?.length) return undefined;
  const [word, ...rest] = argv;
  if (word === undefined || word.startsWith('-')) {
    if (argv.includes('--help') || argv.includes('-h')) return undefined;
    throw new UsageError(
      `${spec.name}: missing <verb>`,
      `verbs: ${spec.verbs.map((v) => v.name.split(' ').pop()).join(', ')}; see: reset-runbook ${spec.name} --help`,
    );
  }
  const verb = spec.verbs.find((v) => v.name === `${spec.name} ${word}`);
  if (!verb)
    throw new UsageError(
      `${spec.name}: unknown verb "${word}"`,
      `verbs: ${spec.verbs.map((v) => v.name.split(' ').pop()).join(', ')}; see: reset-runbook ${spec.name} --help`,
    );
  return { verb: verb as S, rest };
}

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedCommand {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries({ ...GLOBAL_OPTIONS, ...spec.options })) {
    options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(cleanParseError(err), `see: reset-runbook ${spec.name} --help`);
  }
  const { values, positionals } = parsed;
  const global: GlobalOptions = {
    json: values.json === true,
    address: values.address as string | undefined,
    namespace: values.namespace as string | undefined,
    profile: values.profile as string | undefined,
    help: values.help === true,
  };
  const args: Record<string, string | undefined> = {};
  if (!global.help) {
    if (positionals.length > spec.positionals.length) {
      throw new UsageError(
        `${spec.name}: unexpected argument ${JSON.stringify(positionals[spec.positionals.length])}`,
        `usage: ${usageLine(spec)}`,
      );
    }
    spec.positionals.forEach((p, i) => {
      const v = positionals[i];
      if (v === undefined || v === '') {
        if (p.required) throw new UsageError(`${spec.name}: missing <${p.name}>`, `usage: ${usageLine(spec)}`);
      } else {
        args[p.name] = v;
      }
    });
  }
  const opts: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(spec.options)) opts[name] = values[name];
  return { global, args, opts };
}

function cleanParseError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // Node's messages end with advice about '--' that does not apply here.
  return msg
    .replace(/\. To specify a positional argument.*$/s, '')
    .replace(/^Option '(.*?)' argument missing$/, "option '$1' needs a value");
}

export function usageLine(spec: CommandSpec): string {
  const pos = spec.verbs?.length
    ? '<verb>'
    : spec.positionals.map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
  return `reset-runbook ${spec.name}${pos ? ' ' + pos : ''} [options]`;
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ' ' + o.value : ''}`;
    return `  ${flag.padEnd(30)} ${o.description}`;
  });
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`${spec.summary}`, '', `usage: ${usageLine(spec)}`];
  if (spec.positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of spec.positionals) lines.push(`  ${`<${p.name}>`.padEnd(30)} ${p.description}`);
  }
  if (spec.verbs?.length)
    lines.push('', 'Verbs:', ...spec.verbs.map((v) => `  ${v.name.split(' ').pop()!.padEnd(30)} ${v.summary}`));
  if (Object.keys(spec.options).length) lines.push('', 'Options:', ...optionLines(spec.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  if (spec.details) lines.push('', spec.details.trim());
  return lines.join('\n') + '\n';
}

/** "30m", "2h", "45s", "1d" or a number of seconds -> milliseconds: how long the CLI itself waits. */
export function parseDurationMs(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: ${JSON.stringify(text)} is not a duration (e.g. 90s, 30m, 24h)`);
  return Number(m[1]) * DURATION_UNIT_MS[(m[2] ?? 's') as DurationUnit];
}

/**
 * A duration the CLI passes on to a run (e.g. --approval-timeout): the run's own rule, so the run never refuses what
 * the CLI accepted.
 */
export function checkRunDuration(text: string, what: string): string {
  if (!isDuration(text)) throw new UsageError(`${what}: ${JSON.stringify(text)} is not ${DURATION_RULE}`);
  return text;
}

export function parsePositiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${what}: expected a positive whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}
