/**
 * Loads the targets file when the worker starts: parsed against its schema (schema.ts), every
 * error naming the target and the field, all of them at once so an operator fixes them in one go;
 * defaults filled in and relative paths resolved, so the rest of the code reads settings, not
 * fallbacks. This runs on the worker side only: workflows never see the file, only a target's name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { AT_PARENT } from './schema-parts';
import { targetsFileSchema } from './schema';
import type { GroupConfig, TargetConfig } from './types';

export const TARGETS_ENV = 'RESET_RUNBOOK_TARGETS';
export const ALWAYS_KEPT = ['schema_migrations', 'ar_internal_metadata'];

export class ConfigError extends Error {
  constructor(
    public readonly problems: string[],
    source: string,
  ) {
    super(`${source}: ${problems.length} problem(s) in the targets file:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** A loaded target: the file's settings, defaults filled in, relative paths resolved against the file's folder. */
export interface LoadedTargets {
  file: string;
  targets: Record<string, TargetConfig>;
  /** The file's groups, each as an object (a bare list becomes {targets}). */
  groups?: Record<string, GroupConfig>;
}

export function loadTargetsFromEnv(env: NodeJS.ProcessEnv = process.env): LoadedTargets {
  const file = env[TARGETS_ENV];
  if (!file) {
    throw new ConfigError(
      [`${TARGETS_ENV} is not set: point it at your targets JSON file (see deploy/targets.example.json)`],
      'worker',
    );
  }
  return loadTargetsFile(file, env);
}

export function loadTargetsFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedTargets {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${file}: ${(err as Error).message}`], file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError([`not valid JSON: ${(err as Error).message}`], file);
  }
  const r = parse(parsed, env);
  if (!r.success) throw new ConfigError(describeIssues(r.error.issues), file);
  const base = path.dirname(path.resolve(file));
  for (const t of Object.values(r.data.targets)) resolvePaths(t, base);
  return { file: path.resolve(file), targets: r.data.targets, groups: normalizeGroups(r.data.groups) };
}

/** The problems of a parsed file (empty when it is valid), as the worker would report them. */
export function validateTargetsFile(parsed: unknown, env: NodeJS.ProcessEnv): string[] {
  const r = parse(parsed, env);
  return r.success ? [] : describeIssues(r.error.issues);
}

/** Issues keep their input (to tell a missing field from a wrong one); no message ever repeats it. */
const parse = (parsed: unknown, env: NodeJS.ProcessEnv) =>
  targetsFileSchema(env).safeParse(parsed, { reportInput: true });

/** A group written as a bare list is a group with no settings of its own. */
export function normalizeGroups(
  groups: Record<string, GroupConfig | string[]> | undefined,
): Record<string, GroupConfig> {
  return Object.fromEntries(
    Object.entries(groups ?? {}).map(([name, g]) => [name, Array.isArray(g) ? { targets: g } : g]),
  );
}

function resolvePaths(t: TargetConfig, base: string): void {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
  if (t.backup.dir) t.backup.dir = abs(t.backup.dir);
  if (t.seeds && 'sqlFile' in t.seeds) t.seeds.sqlFile = abs(t.seeds.sqlFile);
  if (t.seeds && 'command' in t.seeds && t.seeds.cwd) t.seeds.cwd = abs(t.seeds.cwd);
  if (t.strategy.kind === 'rebuild' && t.strategy.cwd) t.strategy.cwd = abs(t.strategy.cwd);
  if (t.workers?.cwd) t.workers.cwd = abs(t.workers.cwd);
  for (const s of Object.values(t.storage?.services ?? {})) if (s.kind === 'disk') s.root = abs(s.root);
}

// ---- issues as operators read them: "targets.shop.workers.stopTimeoutSeconds: expected a number >= 1" ----

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

const fieldPath = (p: Path) =>
  p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');

/** A message about a whole list is reported once, at the list, whichever item broke it. */
const aboutTheList = (m: string) => /^expected (a list|a non-empty list|a command as a list)/.test(m);

export function describeIssues(issues: readonly Issue[]): string[] {
  const out: string[] = [];
  const walk = (list: readonly Issue[], prefix: Path) => {
    for (const iss of list) {
      let p: Path = [...prefix, ...iss.path];
      if (iss.code === 'invalid_union') {
        const branch = fittingBranch(iss.errors, iss.input);
        if (branch) {
          walk(branch, p);
          continue;
        }
      }
      if (iss.code === 'unrecognized_keys') {
        for (const k of iss.keys) out.push(`${fieldPath([...p, k])}: unknown field (${iss.message})`);
        continue;
      }
      let message = iss.message;
      if (message.startsWith(AT_PARENT)) [message, p] = [message.slice(AT_PARENT.length), p.slice(0, -1)];
      if (aboutTheList(message)) while (typeof p[p.length - 1] === 'number') p = p.slice(0, -1);
      out.push(p.length ? `${fieldPath(p)}: ${message}` : message);
    }
  };
  walk(issues, []);
  return [...new Set(out)];
}

/**
 * Of a union's alternatives ({"sqlFile"} or {"command"}, an S3 or a Disk service), the one the
 * operator evidently meant: the one whose "kind" was written, else the only one with no missing
 * required field and no unknown field. Its own problems are then worth reporting; otherwise the
 * union's message says what is expected.
 */
function fittingBranch(branches: Issue[][], input: unknown): Issue[] | undefined {
  const kindOk = (b: Issue[]) => b.every((i) => !(i.path.length === 1 && i.path[0] === 'kind'));
  const kindGiven = typeof input === 'object' && input !== null && 'kind' in input;
  const fits = kindGiven
    ? branches.filter(kindOk)
    : branches.filter(
        (b) =>
          kindOk(b) &&
          b.every(
            (i) =>
              !(i.code === 'unrecognized_keys' && i.path.length === 0) &&
              !(i.path.length === 1 && i.input === undefined),
          ),
      );
  return fits.length === 1 ? fits[0] : undefined;
}
