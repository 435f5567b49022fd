/**
 * The fleet verbs' arguments: shares ("3", "25%"), canary batches, the target list, and the
 * FleetInput they make. Every refusal here is a usage error raised before anything is started.
 */
import type { FleetInput, Share } from '../contract';
import { TARGET_NAME, TARGET_NAME_RULE } from '../config/rules';
import { checkRunDuration, parsePositiveInt } from './args';
import { checkTarget } from './command';
import { UsageError } from './errors';

const SHARE_RULE = 'a count (e.g. 3) or a share of the targets (e.g. 25%)';

/**
 * "3" -> 3, "25%" -> "25%". `min` is 0 where none is a valid answer (--max-failures 0), else 1.
 * A share above 100% or a fraction of a count would be resolved by the workflow into something the
 * operator did not mean, so both are refused here.
 */
export function parseShare(text: string, what: string, min: 0 | 1 = 1): Share {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < min) throw new UsageError(`${what}: expected at least ${min}, got ${JSON.stringify(text)}`);
    return n;
  }
  const m = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (!m) throw new UsageError(`${what}: ${JSON.stringify(text)} is not ${SHARE_RULE}`);
  const p = Number(m[1]);
  if (p > 100) throw new UsageError(`${what}: ${JSON.stringify(text)} is more than 100% of the targets`);
  if (p < min || (min === 1 && p === 0))
    throw new UsageError(`${what}: ${JSON.stringify(text)} is less than ${min === 1 ? 'one target' : '0%'}`);
  return `${p}%`;
}

/** "1,25%,100%" -> [1, "25%", "100%"]: the canary batches, in order. */
export function parseBatches(text: string): Share[] {
  const parts = text.split(',').map((s) => s.trim());
  if (!parts.length || parts.some((p) => p === ''))
    throw new UsageError(`--batches: expected a list like 1,25%,100%, got ${JSON.stringify(text)}`);
  return parts.map((p) => parseShare(p, '--batches'));
}

/** "a,b,c" -> ["a","b","c"]: each a valid target name, each once (a target is reset once per fleet). */
export function parseTargets(text: string): string[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === ''))
    throw new UsageError(`--targets: expected a list like a,b,c, got ${JSON.stringify(text)}`);
  const seen = new Set<string>();
  for (const p of parts) {
    checkTarget(p);
    if (seen.has(p)) throw new UsageError(`--targets: "${p}" is listed twice`);
    seen.add(p);
  }
  return parts;
}

/** A fleet's name becomes part of its workflow id and is typed to approve it: the target-name rule. */
export function checkFleetName(name: string): string {
  if (!TARGET_NAME.test(name)) throw new UsageError(`fleet name ${JSON.stringify(name)}: expected ${TARGET_NAME_RULE}`);
  return name;
}

export type FleetOpts = Record<string, string | boolean | undefined>;

/** The FleetInput of `fleet plan|start`, checked whole before anything is started. */
export function fleetInput(name: string, opts: FleetOpts, mode: 'plan' | 'execute'): FleetInput {
  checkFleetName(name);
  const targets = opts.targets as string | undefined;
  const group = opts.group as string | undefined;
  if ((targets === undefined) === (group === undefined))
    throw new UsageError('give exactly one of --targets a,b,c or --group <name>');
  const input: FleetInput = { name, mode };
  if (targets !== undefined) input.targets = parseTargets(targets);
  else {
    if (!TARGET_NAME.test(group!))
      throw new UsageError(`--group ${JSON.stringify(group)}: expected ${TARGET_NAME_RULE}`);
    input.group = group;
  }
  if (opts['max-concurrent'] !== undefined)
    input.maxConcurrent = parseShare(opts['max-concurrent'] as string, '--max-concurrent', 1);
  if (opts['max-failures'] !== undefined)
    input.maxFailures = parseShare(opts['max-failures'] as string, '--max-failures', 0);
  if (opts.batches !== undefined) input.batches = parseBatches(opts.batches as string);
  if (opts.reason !== undefined) input.reason = opts.reason as string;
  if (opts['approval-timeout'] !== undefined)
    input.approvalTimeout = checkRunDuration(opts['approval-timeout'] as string, '--approval-timeout');
  const pause = opts['on-child-pause'] as string | undefined;
  if (pause !== undefined) {
    if (pause !== 'wait' && pause !== 'abort')
      throw new UsageError(`--on-child-pause: expected wait or abort, got ${JSON.stringify(pause)}`);
    input.onChildPause = pause;
  }
  const confirm = opts.confirm as string | undefined;
  const databases = opts.databases as string | undefined;
  if (mode === 'execute' && (confirm !== undefined || databases !== undefined)) {
    // Both or neither: the fleet takes the two together in place of its approval signal.
    if (confirm === undefined || databases === undefined)
      throw new UsageError(
        '--confirm <fleet name> and --databases <n> go together (the name and the number of databases the plan counts)',
      );
    if (confirm !== name)
      throw new UsageError(`--confirm ${JSON.stringify(confirm)} is not the fleet's name ("${name}")`);
    input.confirmation = confirm;
    input.databases = parsePositiveInt(databases, '--databases');
  }
  return input;
}

/** The fleet's workflow id from what an operator types: its name, or the id itself. */
export function fleetIdCandidates(text: string): string[] {
  if (text.startsWith('plan-fleet-')) return [text];
  if (text.startsWith('fleet-')) return [text, `fleet-${text}`];
  return [`fleet-${text}`];
}
