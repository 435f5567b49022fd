/**
 * The building blocks of the targets file's schema (schema.ts): each carries the message the operator
 * reads. A section of a target (schema-sections.ts) is made of these.
 */
import { z } from 'zod';
import { DURATION, DURATION_RULE, ENV_NAME, envNameProblem } from './rules';

export type Env = Record<string, string | undefined>;

/** A message that starts with this is about the enclosing object: the loader reports it there. */
export const AT_PARENT = '\u2191';
type Shape = Record<string, z.ZodType>;

// Each carries the message the operator reads. (No `abort: true` in them: an explicit abort would also stop the checks
// between fields, and every
// problem is to be reported at once.)

/** An object that refuses unknown fields (a typo must not silently fall back to a default). */
export function obj<S extends Shape>(shape: S, message: string) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `known fields here: ${known}` : message),
  });
}
export const str = (description?: string) => {
  const s = z
    .string({ error: 'expected a non-empty string' })
    .min(1, { error: 'expected a non-empty string' })
    .refine((v) => v === '' || v.trim() !== '', { error: 'expected a non-empty string' });
  return description ? s.describe(description) : s;
};
export const anyStr = (description: string) => z.string({ error: 'expected a string' }).describe(description);
export const num = (min: number, description: string) =>
  z
    .number({ error: `expected a number >= ${min}` })
    .min(min, { error: `expected a number >= ${min}` })
    .describe(description);
export const int = (min: number, max: number, description: string) => {
  const m = `expected a whole number from ${min} to ${max}`;
  return z.number({ error: m }).int({ error: m }).min(min, { error: m }).max(max, { error: m }).describe(description);
};
export const bool = (description: string) => z.boolean({ error: 'expected true or false' }).describe(description);
/** A list whose every message names the whole list (the loader reports it at the list's path). */
export const list = <T extends z.ZodType>(item: (m: string) => T, message: string, description: string) =>
  z.array(item(message), { error: message }).describe(description);
export const strList = (description: string) =>
  list((m) => z.string({ error: m }).min(1, { error: m }), 'expected a list of non-empty strings', description);
export const command = (description: string) =>
  list(
    (m) => z.string({ error: m }),
    'expected a command as a list of strings, e.g. ["bin/rails", "db:seed"]',
    description,
  ).min(1, {
    error: 'expected a command as a list of strings, e.g. ["bin/rails", "db:seed"]',
  });
export const envMap = (description: string) =>
  z
    .record(z.string(), z.string({ error: 'expected an object of string values' }), {
      error: 'expected an object of string values',
    })
    .describe(description);
export const duration = (description: string) =>
  z
    .string({ error: `expected ${DURATION_RULE}` })
    .regex(DURATION, { error: `expected ${DURATION_RULE}` })
    .describe(description);
export const httpUrl = (description: string) =>
  z
    .string({ error: 'expected an http(s) URL' })
    .regex(/^https?:\/\//, { error: 'expected an http(s) URL' })
    .refine((v) => !/^https?:\/\/[^/]*@/.test(v), { error: 'must not carry credentials; use the AWS credential chain' })
    .describe(description);

/**
 * The name of an environment variable holding a URL. A value that is not a name (the URL pasted
 * in its place) is refused without being repeated; with an environment, the variable must be set
 * (and for a webhook, hold an http(s) URL, again without repeating it).
 */
export function urlEnv(what: 'database URL' | 'webhook URL', env: Env | undefined) {
  return z
    .string({ error: envNameProblem(what) })
    .regex(ENV_NAME, { error: envNameProblem(what) })
    .superRefine((name, ctx) => {
      if (!env || !ENV_NAME.test(name)) return;
      const value = env[name];
      if (!value) ctx.addIssue({ code: 'custom', message: `environment variable ${name} is not set on this worker` });
      else if (what === 'webhook URL' && !/^https?:\/\/[^\s]+$/.test(value))
        ctx.addIssue({ code: 'custom', message: `environment variable ${name} does not hold an http(s) URL` });
    })
    .describe(
      `Name of the worker's environment variable holding the ${what} (a secret: never the URL itself), e.g. "DATABASE_URL".`,
    );
}
