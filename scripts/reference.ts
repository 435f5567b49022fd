/**
 * Writes the operators' generated references: docs/operators/targets-file.md (every field of the
 * targets file, from the JSON Schema of src/config/schema.ts: its `.describe()` texts and defaults)
 * and docs/operators/cli.md (every command and verb, from the CLI's argument specs). Run by
 * `npm run schema` (scripts/schema.ts), or alone: `npx tsx scripts/reference.ts`.
 * A unit test (test/unit/references.test.ts) fails when a checked-in file is stale.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GLOBAL_OPTIONS, usageLine, type CommandSpec, type OptionSpec } from '../src/cli/args';
import { COMMANDS } from '../src/cli/index';
import { targetsJsonSchema } from '../src/config/schema';

const DOCS = path.resolve(__dirname, '..', 'docs', 'operators');
export const TARGETS_REFERENCE_FILE = path.join(DOCS, 'targets-file.md');
export const CLI_REFERENCE_FILE = path.join(DOCS, 'cli.md');
const GENERATED = (from: string) =>
  `_Generated from ${from} by \`npm run schema\` (or \`npx tsx scripts/reference.ts\`): do not edit by hand._`;

/** Markdown text: `<` escaped outside code spans (a `<name>` would be read as HTML); in a table, `|` too. */
function md(text: string, inTable = false): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;')))
    .join('')
    .replace(/\|/g, inTable ? '\\|' : '|')
    .replace(/\s*\n\s*/g, ' ');
}
const code = (text: string) => `\`${text}\``;

// ---- the targets file ----

type Node = {
  type?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  required?: string[];
  properties?: Record<string, Node>;
  additionalProperties?: Node | boolean;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
};
type Row = { path: string; type: string; default: string; description: string };

/** What a record's key stands for in a path, by the record's own name. */
const KEY_NAMES: Record<string, string> = { targets: '<name>', groups: '<group>', services: '<service>' };

const variantsOf = (n: Node) => n.anyOf ?? n.oneOf;
const recordValue = (n: Node) => (typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined);

function typeOf(n: Node): string {
  const variants = variantsOf(n);
  if (variants) return [...new Set(variants.map(typeOf))].join(' | ');
  if (n.const !== undefined) return JSON.stringify(n.const);
  if (n.enum) return n.enum.map((v) => JSON.stringify(v)).join(' | ');
  const max = n.maximum !== undefined && n.maximum < Number.MAX_SAFE_INTEGER ? n.maximum : undefined;
  const range =
    n.minimum !== undefined && max !== undefined
      ? ` from ${n.minimum} to ${max}`
      : n.minimum !== undefined
        ? ` ≥ ${n.minimum}`
        : max !== undefined
          ? ` ≤ ${max}`
          : '';
  switch (n.type) {
    case 'string':
      return n.pattern ? `string matching ${code(n.pattern)}` : n.minLength ? 'non-empty string' : 'string';
    case 'number':
    case 'integer':
      return `${n.type === 'integer' ? 'whole number' : 'number'}${range}`;
    case 'array':
      return `${n.minItems ? 'non-empty ' : ''}list of ${n.items ? typeOf(n.items) : 'anything'}`;
    case 'object': {
      const value = recordValue(n);
      return value ? `map of ${typeOf(value)}` : 'object';
    }
    default:
      return n.type ?? 'anything';
  }
}

/** Rows for a node's fields (not the node itself), depth first, in the order the schema defines them. */
function fieldRows(n: Node, at: string, seen: Map<string, string>): Row[] {
  const rows: Row[] = [];
  const variants = variantsOf(n);
  if (variants) {
    const objects = variants.filter((v) => v.properties);
    const perVariant = objects.map((v) => fieldRows(v, at, seen));
    const label = (v: Node) =>
      v.properties?.kind?.const !== undefined
        ? code(`kind: ${JSON.stringify(v.properties.kind.const)}`)
        : code(v.required?.[0] ?? 'object');
    const paths = [...new Set(perVariant.flat().map((r) => r.path))];
    for (const p of paths) {
      const found = perVariant.map((rs) => rs.find((r) => r.path === p));
      const first = found.find((r) => r)!;
      const types = [...new Set(found.filter((r) => r).map((r) => r!.type))];
      const only =
        objects.length > 1 && found.some((r) => !r)
          ? `Only with ${objects
              .filter((_, i) => found[i])
              .map(label)
              .join(' or ')}. `
          : '';
      rows.push({ ...first, type: types.join(' | '), description: (only + first.description).trim() });
    }
    return rows;
  }
  if (n.type === 'array' && n.items) return fieldRows(n.items, `${at}[]`, seen);
  const value = recordValue(n);
  if (value) {
    const p = `${at}.${KEY_NAMES[at.split('.').pop()!] ?? '<key>'}`;
    return [
      { path: p, type: typeOf(value), default: '', description: value.description ?? '' },
      ...fieldRows(value, p, seen),
    ];
  }
  for (const [name, child] of Object.entries(n.properties ?? {})) {
    const p = at ? `${at}.${name}` : name;
    const required = n.required?.includes(name) && child.default === undefined;
    const row: Row = {
      path: p,
      type: typeOf(child),
      default: child.default !== undefined ? code(JSON.stringify(child.default)) : required ? 'required' : '',
      description: child.description ?? '',
    };
    const key = JSON.stringify({ ...child, default: undefined, description: undefined });
    const before = seen.get(key);
    if (before && hasFields(child)) {
      rows.push({ ...row, description: `${row.description} The fields of ${code(before)}.`.trim() });
      continue;
    }
    rows.push(row);
    if (hasFields(child)) {
      seen.set(key, p);
      rows.push(...fieldRows(child, p, seen));
    }
  }
  return rows;
}

function hasFields(n: Node): boolean {
  const value = recordValue(n);
  return !!(
    n.properties ||
    variantsOf(n)?.some(hasFields) ||
    (n.items && hasFields(n.items)) ||
    (value && hasFields(value))
  );
}

/** The section a field is listed in: the file's top level, a target, a target's section, a group. */
function sectionOf(p: string): string {
  const parts = p.split('.');
  if (parts.length <= 1) return '';
  if (parts[0] === 'targets' && parts.length >= 4) return parts.slice(0, 3).join('.').replace(/\[\]$/, '');
  return parts.slice(0, 2).join('.');
}

function table(rows: Row[]): string[] {
  return [
    '| Field | Type | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| ${code(r.path)} | ${md(r.type, true)} | ${md(r.default, true)} | ${md(r.description, true)} |`,
    ),
  ];
}

export function targetsReference(): string {
  const schema = targetsJsonSchema() as Node;
  const rows = fieldRows(schema, '', new Map());
  const byPath = new Map(rows.map((r) => [r.path, r]));
  const sections = new Map<string, Row[]>();
  for (const r of rows) sections.set(sectionOf(r.path), [...(sections.get(sectionOf(r.path)) ?? []), r]);
  const lines = [
    GENERATED('src/config/schema.ts (its JSON Schema, deploy/targets.schema.json)'),
    '',
    '# The targets file, field by field',
    '',
    md(schema.description ?? ''),
    '',
    'A field with a default may be left out; "required" marks the fields that must be given. Relative paths resolve against the targets file.',
  ];
  for (const [section, sectionRows] of sections) {
    const self = byPath.get(section);
    lines.push('', `## ${section ? code(section) : 'Top level'}`, '');
    const intro = [
      self && self.type !== 'object' && `Type: ${md(self.type)}.`,
      self?.description && md(self.description),
      self?.default === 'required' && 'Required.',
      self?.default && self.default !== 'required' && `Default: ${self.default}.`,
    ];
    if (intro.some((t) => t)) lines.push(intro.filter((t) => t).join(' '), '');
    lines.push(...table(sectionRows.filter((r) => r !== self)));
  }
  return lines.join('\n') + '\n';
}

// ---- the CLI ----

function options(opts: Record<string, OptionSpec>): string[] {
  return Object.entries(opts).map(
    ([name, o]) =>
      `- ${code(`${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ' ' + o.value : ''}`)}: ${md(o.description)}`,
  );
}

function commandSection(spec: CommandSpec, level: string): string[] {
  const lines = [
    '',
    `${level} ${code(`reset-runbook ${spec.name}`)}`,
    '',
    md(spec.summary),
    '',
    '```text',
    usageLine(spec),
    '```',
  ];
  if (spec.positionals.length)
    lines.push(
      '',
      'Arguments:',
      '',
      ...spec.positionals.map(
        (p) => `- ${code(`<${p.name}>`)}${p.required ? '' : ' (optional)'}: ${md(p.description)}`,
      ),
    );
  if (spec.verbs?.length)
    lines.push('', 'Verbs:', '', ...spec.verbs.map((v) => `- ${code(v.name.split(' ').pop()!)}: ${md(v.summary)}`));
  if (Object.keys(spec.options).length) lines.push('', 'Options:', '', ...options(spec.options));
  if (spec.details) lines.push('', '```text', spec.details.trim(), '```');
  for (const verb of spec.verbs ?? []) lines.push(...commandSection(verb, `${level}#`));
  return lines;
}

/**
 * A command with verbs (fleet, schedule) has a page of its own, so no page grows past what one reads; so do the
 * approval's two (approve, reject), which say who may approve.
 */
const OWN_PAGE = new Set(['approve', 'reject']);
const ownPage = (c: CommandSpec) => (c.verbs?.length ?? 0) > 0 || OWN_PAGE.has(c.name);
const pageOf = (c: CommandSpec) => `cli-${c.name}.md`;

export function cliReference(): string {
  const lines = [
    GENERATED("the CLI's argument specs (src/cli/index.ts COMMANDS)"),
    '',
    '# The reset-runbook command line',
    '',
    'Every command also prints this with `reset-runbook <command> --help` (a verb: `reset-runbook <command> <verb> --help`).',
    '',
    '## Global options',
    '',
    'Every command takes these:',
    '',
    ...options(GLOBAL_OPTIONS),
    '',
    '## Commands',
    '',
    ...COMMANDS.map((c) => `- ${ownPage(c) ? `[${code(c.name)}](${pageOf(c)})` : code(c.name)}: ${md(c.summary)}`),
  ];
  for (const c of COMMANDS) if (!ownPage(c)) lines.push(...commandSection(c, '##'));
  return lines.join('\n') + '\n';
}

/** The pages of the commands with verbs: file name → content. */
export function cliVerbPages(): Record<string, string> {
  const pages: Record<string, string> = {};
  for (const c of COMMANDS.filter(ownPage)) {
    const lines = [
      GENERATED("the CLI's argument specs (src/cli/index.ts COMMANDS)"),
      '',
      `The global options and the other commands: [cli.md](cli.md).`,
      '',
      ...commandSection(c, '#'),
    ];
    pages[path.join(DOCS, pageOf(c))] = lines.join('\n') + '\n';
  }
  return pages;
}

/** Writes every reference page; the paths written, relative to the working directory. */
export function writeReferences(): string[] {
  fs.mkdirSync(DOCS, { recursive: true });
  const pages: Record<string, string> = {
    [TARGETS_REFERENCE_FILE]: targetsReference(),
    [CLI_REFERENCE_FILE]: cliReference(),
    ...cliVerbPages(),
  };
  for (const [file, text] of Object.entries(pages)) fs.writeFileSync(file, text);
  return Object.keys(pages).map((f) => path.relative(process.cwd(), f));
}

if (require.main === module) for (const f of writeReferences()) console.log(`wrote ${f}`);
