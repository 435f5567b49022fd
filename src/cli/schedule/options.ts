/** The options `schedule create` and `schedule sync` share, and parsing a share (`3`, `25%`) from the command line. */
import { Share } from '../../contract';
import { parseDurationMs } from '../args';
import { UsageError } from '../errors';
import { parseShare } from './spec';

export const PLAN_TIMEOUT = {
  type: 'string' as const,
  value: '<duration>',
  description:
    'how long to wait for the unattended plan that comes first (default 2m); no worker in that time: nothing is made',
};

export function planTimeoutMs(opts: Record<string, string | boolean | undefined>): number {
  return opts['plan-timeout'] !== undefined
    ? parseDurationMs(opts['plan-timeout'] as string, '--plan-timeout')
    : 120_000;
}

export function shareOption(text: string | boolean | undefined, flag: string): Share | undefined {
  if (text === undefined) return undefined;
  const s = parseShare(String(text));
  if (s === undefined)
    throw new UsageError(`${flag}: expected a whole number or a percentage like "25%", got ${JSON.stringify(text)}`);
  return s;
}
