/**
 * A clone must hold everything its documents point to: every relative link in a Markdown file resolves
 * to a file or folder of the repository, and nothing names the `shared/` folder that exists only on the
 * machine the project was started on. Plain jest: no stack (run with RR_NO_STACK=1 outside scripts/test).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
/** The folder's name, spelled so that this file's own fixtures do not match the check. */
const SHARED = ['sha', 'red'].join('');

/** Built from pieces so that this file does not match itself. */
const SHARED_PATH = new RegExp(`(?:\\.\\./)*${SHARED}/(?:runbook|DESIGN|NOTES)[\\w./-]*`, 'g');

/** Tracked files plus new ones not ignored (so a doc is checked before its first commit), as they are on disk. */
function repoFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const files = [...new Set(out.split('\0').filter(Boolean))];
  return files.filter((f) => !f.startsWith('node_modules/') && fs.existsSync(path.join(ROOT, f))).sort();
}

interface Link {
  line: number;
  target: string;
}

/** Links of a Markdown text: inline `[x](t)` and `![x](t)`, reference definitions, HTML href/src; not inside code. */
export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((raw, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(raw)?.[1];
    if (marker && (!fence || (marker[0] === fence[0] && marker.length >= fence.length))) {
      fence = fence ? undefined : marker;
      return;
    }
    if (fence) return;
    const line = raw.replace(/(`+)[^`]*?\1/g, ''); // inline code spans hold paths, not links
    const add = (target: string) => links.push({ line: i + 1, target });
    for (const m of line.matchAll(
      /!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g,
    )) {
      add(m[1].replace(/^<|>$/g, ''));
    }
    const def = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line);
    if (def) add(def[1].replace(/^<|>$/g, ''));
    for (const m of line.matchAll(/\b(?:href|src)\s*=\s*"([^"]*)"/g)) add(m[1]);
  });
  return links;
}

/**
 * What is wrong with the links of one Markdown file: each problem as "file:line: …". `exists` says
 * whether a repository-relative path is a file or folder of the repository.
 */
export function linkProblems(file: string, markdown: string, exists: (repoPath: string) => boolean): string[] {
  const problems: string[] = [];
  for (const { line, target } of linksOf(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) && !/^file:/i.test(target)) continue; // https:, mailto:, …
    const bare = target.replace(/[?#].*$/, '');
    if (bare === '') continue; // an anchor in the same file
    let decoded = bare;
    try {
      decoded = decodeURIComponent(bare);
    } catch {
      /* keep it as written */
    }
    const where = `${file}:${line}`;
    if (/^file:/i.test(decoded)) {
      problems.push(`${where}: link "${target}" points to a file on one machine, not into the repository`);
      continue;
    }
    // GitHub resolves a leading "/" against the repository's root.
    const resolved = decoded.startsWith('/')
      ? path.posix.normalize(decoded.slice(1))
      : path.posix.normalize(path.posix.join(path.posix.dirname(file), decoded));
    if (resolved === '..' || resolved.startsWith('../')) {
      problems.push(`${where}: link "${target}" leaves the repository (${resolved})`);
    } else if (!exists(resolved.replace(/\/$/, '') || '.')) {
      problems.push(`${where}: link "${target}" does not resolve: no file or folder ${resolved} in the repository`);
    }
  }
  return problems;
}

/** Mentions of the machine-local `shared/` folder, as "file:line: …". */
export function sharedMentions(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(SHARED_PATH))
      out.push(`${file}:${i + 1}: names "${m[0]}", which a clone does not have (point to docs/runbook.md)`);
  });
  return out;
}

describe('the checker itself', () => {
  const tree = new Set(['README.md', 'docs', 'docs/runbook.md', 'docs/operators.md', 'src', 'src/worker.ts']);
  const exists = (p: string) => p === '.' || tree.has(p);

  test('finds a broken relative link, a link out of the repository and a file: URL, each with file:line', () => {
    const md = [
      '# Title',
      'See [the runbook](runbook.md), [operators](./operators.md#2-configure-a-target) and [top](../README.md).',
      'Broken: [gone](missing.md) and ![img](../img/none.png).',
      `Out: [shared](../../${SHARED}/runbook/production-data-reset.md), [file](file:///etc/passwd).`,
      '[ref]: ../src/nothing.ts',
      '<a href="../src/worker.ts">ok</a> <a href="nope/">bad</a>',
    ].join('\n');
    expect(linkProblems('docs/x.md', md, exists)).toEqual([
      'docs/x.md:3: link "missing.md" does not resolve: no file or folder docs/missing.md in the repository',
      'docs/x.md:3: link "../img/none.png" does not resolve: no file or folder img/none.png in the repository',
      `docs/x.md:4: link "../../${SHARED}/runbook/production-data-reset.md" leaves the repository (../${SHARED}/runbook/production-data-reset.md)`,
      'docs/x.md:4: link "file:///etc/passwd" points to a file on one machine, not into the repository',
      'docs/x.md:5: link "../src/nothing.ts" does not resolve: no file or folder src/nothing.ts in the repository',
      'docs/x.md:6: link "nope/" does not resolve: no file or folder docs/nope/ in the repository',
    ]);
  });

  test('ignores web links, anchors, code spans and fenced code; folders and root-relative links resolve', () => {
    const md = [
      '[web](https://docs.temporal.io/) [mail](mailto:a@b.c) [here](#the-steps) [src](../src/) [root](/docs/runbook.md)',
      'Inline code is not a link: `[x](missing.md)`.',
      '```md',
      '[in a fence](missing.md)',
      '```',
      '~~~',
      '```',
      '[still fenced](missing.md)',
      '~~~',
    ].join('\n');
    expect(linkProblems('docs/x.md', md, exists)).toEqual([]);
  });

  test('finds mentions of the shared/ folder in any text', () => {
    const text = [
      '/**',
      ` * The production data reset runbook (${SHARED}/runbook/production-data-reset.md), as a workflow.`,
      ' */',
      'a shared machine is fine',
    ].join('\n');
    expect(sharedMentions('src/x.ts', text)).toEqual([
      `src/x.ts:2: names "${SHARED}/runbook/production-data-reset.md", which a clone does not have (point to docs/runbook.md)`,
    ]);
    expect(sharedMentions('a.md', `[x](../../${SHARED}/DESIGN.md)`)[0]).toContain(`"../../${SHARED}/DESIGN.md"`);
  });
});

describe('this repository', () => {
  const files = repoFiles();
  const folders = new Set<string>(['.']);
  for (const f of files) for (let d = path.posix.dirname(f); d !== '.'; d = path.posix.dirname(d)) folders.add(d);
  const fileSet = new Set(files);
  const exists = (p: string) => fileSet.has(p) || folders.has(p);

  test('has Markdown files to check', () => {
    expect(files.filter((f) => f.endsWith('.md'))).toEqual(
      expect.arrayContaining(['README.md', 'docs/operators/README.md', 'docs/runbook.md', 'demo/README.md']),
    );
  });

  test('every relative link in every Markdown file resolves to a file or folder of the repository', () => {
    const problems = files
      .filter((f) => f.endsWith('.md'))
      .flatMap((f) => linkProblems(f, fs.readFileSync(path.join(ROOT, f), 'utf8'), exists));
    expect(problems).toEqual([]);
  });

  test('no file names the shared/ folder that only the original machine has', () => {
    const problems: string[] = [];
    for (const f of files) {
      const buf = fs.readFileSync(path.join(ROOT, f));
      if (buf.includes(0)) continue; // binary
      problems.push(...sharedMentions(f, buf.toString('utf8')));
    }
    expect(problems).toEqual([]);
  });
});
