/**
 * The checks between fields of a target and between the file's groups and targets. They run even when
 * other fields are wrong (so every problem is reported at once), hence the defensive reading of values.
 */
import type { z } from 'zod';
import { TARGET_NAME, TARGET_NAME_RULE } from './rules';

/**
 * Checks between fields. They run even when other fields of the target are wrong (so every problem
 * is reported at once), hence the defensive reading of a value that may not have parsed.
 */
export function crossChecks(t: unknown, ctx: z.RefinementCtx): void {
  if (typeof t !== 'object' || t === null) return;
  const x = t as Record<string, any>;
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const names = new Set(['primary']);
  if (Array.isArray(x.extraDatabases))
    x.extraDatabases.forEach((d: { name?: unknown }, i: number) => {
      if (typeof d?.name !== 'string') return;
      if (names.has(d.name))
        add(['extraDatabases', i, 'name'], `"${d.name}" is used twice (or is the reserved "primary")`);
      names.add(d.name);
    });
  const known = (v: unknown, path: (string | number)[]) => {
    if (typeof v === 'string' && !names.has(v)) add(path, `"${v}" is not one of ${[...names].join(', ')}`);
  };
  if (x.seeds && typeof x.seeds === 'object' && 'sqlFile' in x.seeds) known(x.seeds.database, ['seeds', 'database']);
  if (x.workers && typeof x.workers === 'object') known(x.workers.database, ['workers', 'database']);
  const b = x.backup;
  if (b && typeof b === 'object') {
    const s3 = b.destination?.kind === 's3';
    if (!s3 && b.dir === undefined) add(['backup', 'dir'], 'expected a non-empty string');
  }
  if (Array.isArray(x.verify?.expect))
    x.verify.expect.forEach((e: Record<string, unknown>, i: number) => {
      if (!e || typeof e !== 'object') return;
      known(e.database, ['verify', 'expect', i, 'database']);
      if (e.count === undefined && e.min === undefined && e.max === undefined)
        add(['verify', 'expect', i], 'give "count", or "min" and/or "max"');
    });
}

/**
 * Every group names known targets, each once, and a group's name never shadows a target's (a schedule is named after
 * either).
 */
export function groupChecks(f: unknown, ctx: z.RefinementCtx): void {
  const file = f as { targets?: Record<string, unknown>; groups?: Record<string, unknown> } | undefined;
  if (!file || typeof file.groups !== 'object' || file.groups === null) return;
  const known = new Set(Object.keys(typeof file.targets === 'object' && file.targets ? file.targets : {}));
  for (const [name, g] of Object.entries(file.groups)) {
    if (!TARGET_NAME.test(name))
      ctx.addIssue({ code: 'custom', path: ['groups', name], message: `a group name is ${TARGET_NAME_RULE}` });
    if (known.has(name))
      ctx.addIssue({
        code: 'custom',
        path: ['groups', name],
        message: `"${name}" is also a target's name: a group needs a name of its own`,
      });
    const members = Array.isArray(g) ? g : (g as { targets?: unknown })?.targets;
    if (!Array.isArray(members)) continue;
    const seen = new Set<string>();
    members.forEach((t, i) => {
      if (typeof t !== 'string') return;
      const at = Array.isArray(g) ? ['groups', name, i] : ['groups', name, 'targets', i];
      if (!known.has(t)) ctx.addIssue({ code: 'custom', path: at, message: `"${t}" is not a target of this file` });
      if (seen.has(t)) ctx.addIssue({ code: 'custom', path: at, message: `"${t}" is listed twice` });
      seen.add(t);
    });
  }
}
