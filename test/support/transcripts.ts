/**
 * CLI output in the operator guide is captured by the tests that drive the real scenario, never typed
 * by hand. A page holds marked blocks:
 *
 *   <!-- transcript: workers-stopped-abort -->
 *   ```text
 *   $ reset-runbook abort demo --reason "postponed"
 *   …
 *   ```
 *
 * The test that produces that output builds the same text (`Transcript`: each command, its output, its
 * exit code), normalises what changes from run to run (times, run ids, durations, sizes, checksums,
 * temp paths, ports, the test's own names → fixed placeholders) and calls `checkTranscript`: a block
 * that differs fails the test, naming the page and the block. With RR_UPDATE_TRANSCRIPTS=1 the block
 * is rewritten instead (CONTRIBUTING.md, "Transcripts in the operator guide").
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');

/** The opening marker of a block; the fenced block follows on the next line. */
export const MARKER = /^<!-- transcript: ([a-z0-9-]+) -->$/;

export interface Block {
  name: string;
  /** Line index (0-based) of the opening fence and of the closing fence. */
  open: number;
  close: number;
  body: string;
}

/** The transcript blocks of a Markdown text, in order. A marker not followed by a fenced block is an error. */
export function transcriptBlocks(markdown: string, file = 'the page'): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]);
    if (!m) continue;
    const open = i + 1;
    const fence = /^(`{3,})/.exec(lines[open] ?? '')?.[1];
    if (!fence) throw new Error(`${file}:${i + 1}: "<!-- transcript: ${m[1]} -->" must be followed by a fenced block`);
    let close = open + 1;
    while (close < lines.length && lines[close] !== fence) close++;
    if (close >= lines.length)
      throw new Error(`${file}:${open + 1}: the fenced block of transcript "${m[1]}" is not closed`);
    out.push({ name: m[1], open, close, body: lines.slice(open + 1, close).join('\n') });
  }
  const seen = new Set<string>();
  for (const b of out) {
    if (seen.has(b.name)) throw new Error(`${file}: transcript "${b.name}" appears twice`);
    seen.add(b.name);
  }
  return out;
}

/** Replaces one block's body in a Markdown text. */
export function replaceBlock(markdown: string, name: string, body: string, file = 'the page'): string {
  const block = transcriptBlocks(markdown, file).find((b) => b.name === name);
  if (!block) throw new Error(`${file} has no "<!-- transcript: ${name} -->" block`);
  const lines = markdown.split('\n');
  lines.splice(block.open + 1, block.close - block.open - 1, ...body.split('\n'));
  return lines.join('\n');
}

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i])
      return `line ${i + 1} of the block:\n  page: ${x[i] ?? '(no line)'}\n  test: ${y[i] ?? '(no line)'}`;
  }
  return '';
}

/**
 * Compares the captured (normalised) text with the page's block `name`; with RR_UPDATE_TRANSCRIPTS=1
 * writes it there instead. `page` is relative to the repository (docs/operators/…).
 */
export function checkTranscript(
  page: string,
  name: string,
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  root = REPO,
): void {
  const file = path.resolve(root, page);
  const markdown = fs.readFileSync(file, 'utf8');
  const body = text.replace(/\s+$/, '');
  const block = transcriptBlocks(markdown, page).find((b) => b.name === name);
  if (!block)
    throw new Error(
      `${page} has no "<!-- transcript: ${name} -->" block: add the marker and a fenced block under it, then run this test with RR_UPDATE_TRANSCRIPTS=1`,
    );
  if (block.body === body) return;
  if (env.RR_UPDATE_TRANSCRIPTS === '1') {
    fs.writeFileSync(file, replaceBlock(markdown, name, body, page));
    return;
  }
  throw new Error(
    `transcript "${name}" in ${page} is stale (the CLI's output changed, or the block was edited by hand): ` +
      `run this test again with RR_UPDATE_TRANSCRIPTS=1 to rewrite the block, and read the change before committing it.\n` +
      `First difference, ${firstDifference(block.body, body)}\n--- captured (normalised) ---\n${body}`,
  );
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Literal replacements (the test's own names → the names the page uses), longest first. */
export type Names = Record<string, string>;

const TIME = 'HH:MM:SSZ';

/**
 * What changes from one run to the next becomes a placeholder of a fixed form. Durations keep the width
 * of a table column (right-aligned values after two or more spaces) so the tables stay aligned.
 */
export function normalise(text: string, names: Names = {}): string {
  let t = text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), ''); // colours
  // The operator the CLI records (user@host) is the same on every page.
  const all: Names = { [`${os.userInfo().username}@${os.hostname()}`]: 'root@vm', ...names };
  // A name in a table column (after and before two or more spaces) keeps the column's width.
  for (const [from, to] of Object.entries(all).sort((a, b) => b[0].length - a[0].length)) {
    t = t.replace(
      new RegExp(`(?<= {2})${escape(from)}( {2,})`, 'g'),
      (_m, pad: string) => to + ' '.repeat(Math.max(2, from.length + pad.length - to.length)),
    );
    t = t.split(from).join(to);
  }
  t = t.split(REPO).join('<repo>');
  t = t
    // temp folders of the tests and fixtures
    .replace(/\/tmp\/rr-[A-Za-z0-9._-]+/g, '<tmp>')
    // run ids (UUIDs, v7 included)
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<run-id>')
    // ISO timestamps, then the CLI's own forms
    .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, 'YYYY-MM-DDTHH:MM:SS.sssZ')
    .replace(/\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z/g, `YYYY-MM-DD ${TIME}`)
    .replace(/\b\d{2}:\d{2}:\d{2}Z/g, TIME)
    .replace(/_\d{8}-\d{6}\.dump/g, '_YYYYMMDD-HHMMSS.dump')
    .replace(/-\d{8}T\d{6}\b/g, '-YYYYMMDDTHHMMSS') // plan-<target>-<time>
    // checksums (shortened ones end with …)
    .replace(/\b[0-9a-f]{12,64}(…?)/g, '<sha256>$1')
    // sizes
    .replace(/\b\d+(\.\d+)? (bytes|KiB|MiB|GiB|B)\b/g, '<size>')
    // ports of the local stack
    .replace(/\b127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    // "last poll 42 s ago", "within 21 s", elapsed times
    .replace(/\blast poll \d+ s ago/g, 'last poll <n> s ago')
    // A backup's age: a test whose cases run side by side can cross a minute between backup and plan.
    .replace(/\b\d+ min (old|ago)\b/g, '<n> min $1');
  // Durations: 257ms, 4.5s, 11s, 2m3s. Inline (one space before) → "<dur>"; in a table column → padded to the column's
  // width.
  // Not in the commands typed (`--wait 60s` is what was typed).
  const dur = (line: string) =>
    line.startsWith('$ ')
      ? line
      : line.replace(
          /( +)(\d+(?:\.\d+)?(?:ms|s|m|h)(?:\d+(?:\.\d+)?s)?)(?=[\s,;)]|$)/g,
          (_m, space: string, d: string) => {
            const ph = '<dur>';
            if (space.length === 1) return ` ${ph}`;
            return ' '.repeat(Math.max(2, space.length + d.length - ph.length)) + ph;
          },
        );
  return steady(t.split('\n').map(dur)).join('\n');
}

/**
 * What a live view prints depends on when it polled: a step's "running" line may or may not be seen,
 * a state line may repeat, an attempt may be seen before and after its error. Those lines are left out,
 * collapsed, or kept as the last one seen.
 */
function steady(lines: string[]): string[] {
  const out: string[] = [];
  const attempt = (l: string) => /^\[HH:MM:SSZ\] restarting workers, attempt (\d+\/\d+)/.exec(l)?.[1];
  for (const l of lines) {
    if (/^\[HH:MM:SSZ\] .*: running$/.test(l)) continue;
    // `abort`'s state lines while the run ends ("[…] failed, step reset (activity … started, …)").
    if (/^\[HH:MM:SSZ\] [a-z-]+, step \w+( \(|$)/.test(l)) continue;
    const prev = out[out.length - 1];
    if (prev === l) continue;
    if (prev !== undefined && attempt(l) && attempt(l) === attempt(prev)) {
      out[out.length - 1] = l;
      continue;
    }
    out.push(l);
  }
  return out;
}

/** A shell-like record of CLI commands: `$ reset-runbook …`, their output, `$ echo $?` and the code. */
export class Transcript {
  private parts: string[] = [];

  constructor(private readonly names: Names = {}) {}

  /**
   * One command: what was typed (shown as `reset-runbook <args>`), stdout then stderr, and the exit code unless 0 is
   * not worth showing.
   */
  add(
    args: string[],
    r: { code: number | null; stdout?: string; stderr?: string; out?: string },
    o: { showCode?: boolean; trim?: (out: string) => string } = {},
  ): this {
    const shown = args.map((a) => (/^[\w./:@=,<>-]+$/.test(a) ? a : `"${a}"`)).join(' ');
    let out = r.out ?? [r.stdout ?? '', r.stderr ?? ''].filter((s) => s.trim()).join('\n');
    out = out.replace(/\s+$/, '');
    if (o.trim) out = o.trim(out);
    this.parts.push(`$ reset-runbook ${shown}`);
    if (out) this.parts.push(out);
    if (o.showCode ?? true) this.parts.push('$ echo $?', String(r.code));
    return this;
  }

  text(): string {
    return normalise(this.parts.join('\n'), this.names);
  }

  check(page: string, name: string): void {
    checkTranscript(page, name, this.text());
  }
}

/**
 * Keeps the lines of `out` from the first that matches `from` (inclusive) and drops those before,
 * marking the cut with `[… trimmed: <what>]`. For outputs whose start repeats a block shown elsewhere.
 */
export function from(re: RegExp, what: string): (out: string) => string {
  return (out) => {
    const lines = out.split('\n');
    const i = lines.findIndex((l) => re.test(l));
    if (i <= 0) return out;
    return [`[… trimmed: ${what}]`, ...lines.slice(i)].join('\n');
  };
}

/**
 * Replaces the lines between the first match of `start` and the next match of `end` (both kept) with one `[… trimmed:
 * <what>]`.
 */
export function cut(start: RegExp, end: RegExp, what: string): (out: string) => string {
  return (out) => {
    const lines = out.split('\n');
    const i = lines.findIndex((l) => start.test(l));
    if (i < 0) return out;
    const j = lines.findIndex((l, k) => k > i && end.test(l));
    if (j < 0 || j === i + 1) return out;
    return [...lines.slice(0, i + 1), `[… trimmed: ${what}]`, ...lines.slice(j)].join('\n');
  };
}

/** Keeps the lines of `out` up to the first that matches `re` (inclusive), then one `[… trimmed: <what>]`. */
export function upTo(re: RegExp, what: string): (out: string) => string {
  return (out) => {
    const lines = out.split('\n');
    const i = lines.findIndex((l) => re.test(l));
    if (i < 0 || i === lines.length - 1) return out;
    return [...lines.slice(0, i + 1), `[… trimmed: ${what}]`].join('\n');
  };
}

/** Keeps only the last line matching `re`: a live view attached late sees some of a run's repeated lines, not all. */
export function lastOf(re: RegExp): (out: string) => string {
  return (out) => {
    const lines = out.split('\n');
    const last = lines
      .map((l, i) => (re.test(l) ? i : -1))
      .filter((i) => i >= 0)
      .pop();
    return lines.filter((l, i) => !re.test(l) || i === last).join('\n');
  };
}

/**
 * Moves the first line matching `line` to just after the last line matching `anchor`, when it came before it: a live
 * view prints what each poll newly sees, and two changes a run publishes moments apart may land in one poll or two.
 */
export function placeAfter(line: RegExp, anchor: RegExp): (out: string) => string {
  return (out) => {
    const lines = out.split('\n');
    const i = lines.findIndex((l) => line.test(l));
    const last = lines.map((l, k) => (anchor.test(l) ? k : -1)).reduce((a, b) => Math.max(a, b), -1);
    if (i < 0 || last < i) return out;
    const moved = lines.splice(i, 1)[0]!;
    lines.splice(last, 0, moved);
    return lines.join('\n');
  };
}
