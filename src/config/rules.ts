/**
 * The rules the targets file, a run's input and the CLI share: one copy, so a target name or a
 * duration that one of them accepts is never refused by another. Plain TypeScript with no imports:
 * workflow code (bundled, deterministic) uses it too.
 */

/** A target name becomes part of a workflow id, a file name and a visibility query. */
export const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TARGET_NAME_RULE = 'lower-case letters, digits, "-" or "_", at most 63, starting with a letter or digit';

/** Durations as the targets file and a run's input write them: a whole number and a unit, e.g. "30m", "24h". */
export const DURATION = /^(\d+)(ms|s|m|h|d)$/;
export const DURATION_RULE = 'a duration like "30m" or "24h" (a whole number and ms, s, m, h or d)';
export const DURATION_UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNIT_MS;

export function isDuration(text: unknown): text is string {
  return typeof text === 'string' && DURATION.test(text);
}

/** Milliseconds of a valid duration; undefined for anything else (each caller words its own refusal). */
export function durationToMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * DURATION_UNIT_MS[m[2] as DurationUnit] : undefined;
}

/** The name of an environment variable: where a secret's value lives, never the value itself. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The refusal for a value where an env-variable name belongs. It never repeats the value: people
 * paste the URL itself (with its password, or a webhook's token) where the name of its variable goes.
 */
export function envNameProblem(what: 'database URL' | 'webhook URL'): string {
  return `expected the NAME of an environment variable holding the ${what} (never the URL itself)`;
}
