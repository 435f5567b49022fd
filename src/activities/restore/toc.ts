/**
 * Choosing the backup's entries to load. `pg_restore --list` prints `<id>; <tableoid> <oid> <desc>
 * <schema> <name> <owner>` with names unquoted: a name with spaces cannot be split on whitespace, and a
 * partitioned table's rows sit under each leaf partition's own name. So each line is matched against
 * the relations the catalog says we restore (every member of the truncated tables' partition trees,
 * and their owned sequences), by exact "<schema> <name> " prefix, then by the table's oid and owner
 * when two names would both fit.
 */

/** A relation the restore may load: a truncated table, or a partition (leaf or intermediate) of one. */
export interface RestoreRelation {
  schema: string;
  name: string;
  oid: number;
  /** 'r' holds rows (pg_dump writes a TABLE DATA entry for it); 'p' is partitioned, never has data. */
  kind: string;
  owner: string;
  /** The truncated table it belongs to, schema.table. */
  root: string;
}

export interface SequenceRelation {
  schema: string;
  name: string;
  owner: string;
}

export interface TocSelection {
  /** The archive's lines to pass to `pg_restore -L`, in the archive's order. */
  lines: string[];
  /** The relations whose TABLE DATA entry was selected, schema.name → relation. */
  tables: Map<string, RestoreRelation>;
  sequences: number;
  /** Relations holding rows now that the archive has no data entry for, and sequences without SEQUENCE SET. */
  missing: string[];
  /** Lines that fit more than one relation, or a relation that fits more than one line. */
  ambiguous: string[];
}

interface Candidate {
  key: string;
  prefix: string;
  exact: string;
  oid?: number;
  relation?: RestoreRelation;
}

const ENTRY = /^(\d+); (\d+) (\d+) (TABLE DATA|SEQUENCE SET) (.*)$/;

/**
 * First pass: a line whose "<schema> <name> <owner>" is exactly a relation's, or whose oid is the
 * table's (same database, owner changed). Second pass: a relation not matched yet takes the one line that
 * starts with its "<schema> <name> " (a database rebuilt since, and its owner changed), unless several
 * lines or several relations fit: then nothing is guessed. A line that fits no relation is another
 * object's (a kept table "line items" beside a truncated "line").
 */
export function selectEntries(toc: string, relations: RestoreRelation[], sequences: SequenceRelation[]): TocSelection {
  const sel: TocSelection = { lines: [], tables: new Map(), sequences: 0, missing: [], ambiguous: [] };
  const cand = (schema: string, name: string, owner: string, oid?: number, relation?: RestoreRelation): Candidate => ({
    key: `${relation ? '' : 'sequence '}${schema}.${name}`,
    prefix: `${schema} ${name} `,
    exact: `${schema} ${name} ${owner}`,
    oid,
    relation,
  });
  const byDesc: Record<string, Candidate[]> = {
    'TABLE DATA': relations.filter((r) => r.kind === 'r').map((r) => cand(r.schema, r.name, r.owner, r.oid, r)),
    'SEQUENCE SET': sequences.map((s) => cand(s.schema, s.name, s.owner)),
  };
  const entries = toc
    .split('\n')
    .map((line) => ({ line, m: ENTRY.exec(line) }))
    .filter((e) => e.m)
    .map((e) => ({
      line: e.line,
      oid: Number(e.m![3]),
      rest: e.m![5],
      cands: byDesc[e.m![4]].filter((c) => e.m![5].startsWith(c.prefix)),
      chosen: undefined as Candidate | undefined,
    }));
  const taken = new Map<string, number>();
  const take = (e: (typeof entries)[number], c: Candidate) => {
    e.chosen = c;
    taken.set(c.key, (taken.get(c.key) ?? 0) + 1);
  };
  for (const e of entries) {
    const exact = e.cands.filter((c) => e.rest === c.exact);
    const byOid = e.cands.filter((c) => c.oid !== undefined && c.oid === e.oid);
    if (exact.length === 1) take(e, exact[0]);
    else if (byOid.length === 1) take(e, byOid[0]);
    else if (exact.length > 1)
      sel.ambiguous.push(`archive entry "${e.line}" fits ${exact.map((c) => c.key).join(' and ')}`);
  }
  const left = entries.filter((e) => !e.chosen);
  for (const c of Object.values(byDesc).flat()) {
    if (taken.has(c.key)) continue;
    const fits = left.filter((e) => e.cands.includes(c));
    if (fits.length > 1)
      sel.ambiguous.push(`${c.key} fits archive entries ${fits.map((e) => `"${e.line}"`).join(' and ')}`);
    else if (fits.length === 1 && fits[0].cands.filter((x) => !taken.has(x.key)).length > 1)
      sel.ambiguous.push(`archive entry "${fits[0].line}" fits ${fits[0].cands.map((x) => x.key).join(' and ')}`);
    else if (fits.length === 1 && !fits[0].chosen) take(fits[0], c);
  }
  for (const e of entries) {
    if (!e.chosen) continue;
    sel.lines.push(e.line);
    if (e.chosen.relation) sel.tables.set(e.chosen.key, e.chosen.relation);
    else sel.sequences++;
  }
  for (const r of relations.filter((x) => x.kind === 'r')) {
    const key = `${r.schema}.${r.name}`;
    if (!taken.has(key)) sel.missing.push(r.root === key ? r.root : `${key} (partition of ${r.root})`);
  }
  for (const s of sequences)
    if (!taken.has(`sequence ${s.schema}.${s.name}`)) sel.missing.push(`sequence ${s.schema}.${s.name}`);
  for (const [k, n] of taken) if (n > 1) sel.ambiguous.push(`${k} has ${n} entries in the archive`);
  return sel;
}
