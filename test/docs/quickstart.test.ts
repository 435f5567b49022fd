/**
 * The first hour works by the docs alone: the quick start of the operator guide is run as written, so
 * the pages cannot drift from the tool.
 *
 * Each page's blocks marked `<!-- quickstart … -->` (the line before a fenced block) are split into
 * commands (a line, its `\` continuations and a heredoc's body are one command) and run in order, in
 * one bash process per page from the repository's root, as a newcomer types them: `scripts/stack up`,
 * `eval "$(scripts/stack env)"`, loading the demo's data, writing the targets file, the worker,
 * `reset-runbook plan`, `start` with its confirmation, `status`, the `temporal` CLI, `restore`. Every
 * command must exit 0; the first that does not ends the page, named with its file and line and
 * followed by its output. The lines of a block marked `<!-- quickstart-output -->` must each appear in
 * the output of the run block before it (spaces compared loosely; the stack's default ports read as
 * the ones this stack uses).
 *
 * The commands run against the stack the RR_* knobs name (RR_STATE_DIR, RR_TOOLS_DIR, RR_*_PORT), as
 * the tests' other files do; everything else a newcomer's shell would not have (TEMPORAL_ADDRESS,
 * AWS_*, RR_PG_ADMIN_URL, …, which jest's globalSetup put into this process) is taken out, so the
 * page's own `eval "$(scripts/stack env)"` must supply it. Like `scripts/demo`, the pages use the
 * stack's demo: target "demo", database phonefin_production, $RR_STATE_DIR/demo and the default task
 * queue (no other test uses them). The pages end with `scripts/stack down`, which is not run here
 * (the stack is shared with the other test files): the test stops what it started instead, as down
 * does first (the demo's worker and its stand-in Solid Queue service).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '..', '..');
/** The pages, in the order a newcomer reads them. */
const PAGES = ['README.md', 'docs/operators/first-reset.md'];

export interface DocBlock {
  file: string;
  /** 1-based line of the block's first line of content. */
  line: number;
  kind: 'run' | 'output';
  lines: string[];
}

export interface DocCommand {
  file: string;
  line: number;
  text: string;
}

/**
 * The fenced blocks of a Markdown text marked by `<!-- quickstart … -->` or `<!-- quickstart-output … -->` on the line
 * before.
 */
export function quickstartBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const mark = /^\s*<!--\s*quickstart(-output)?\b.*-->\s*$/.exec(lines[i]);
    if (!mark) continue;
    const fence = /^\s{0,3}(`{3,}|~{3,})/.exec(lines[i + 1] ?? '')?.[1];
    if (!fence) throw new Error(`${file}:${i + 1}: a quickstart mark must be followed by a fenced block`);
    const start = i + 2;
    let end = start;
    while (
      end < lines.length &&
      !(lines[end].trim().startsWith(fence) && lines[end].trim().replace(/[`~]/g, '') === '')
    )
      end++;
    if (end >= lines.length) throw new Error(`${file}:${i + 2}: the fenced block is never closed`);
    blocks.push({ file, line: start + 1, kind: mark[1] ? 'output' : 'run', lines: lines.slice(start, end) });
    i = end;
  }
  return blocks;
}

/**
 * A run block's commands: each line with its `\` continuations and, after `<<EOF`, the heredoc's lines through its end
 * word.
 */
export function commandsOf(block: DocBlock): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = block.lines;
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*(#|$)/.test(lines[i])) continue;
    const first = i;
    const text = [lines[i]];
    while (/\\$/.test(lines[i]) && i + 1 < lines.length) text.push(lines[++i]);
    const heredoc = /<<(-?)\s*(['"]?)(\w+)\2/.exec(text.join('\n'));
    if (heredoc) {
      const [, dash, , word] = heredoc;
      while (i + 1 < lines.length) {
        const next = lines[++i];
        text.push(next);
        if ((dash ? next.replace(/^\t+/, '') : next) === word) break;
      }
    }
    out.push({ file: block.file, line: block.line + first, text: text.join('\n') });
  }
  return out;
}

interface Ran {
  command: DocCommand;
  output: string;
  /** Undefined when the command never finished (the page was stopped by the time limit). */
  code?: number;
  seconds?: number;
}

/**
 * Runs the commands in one bash process, each followed by a marker with its exit code; stops at the
 * first that fails. `watch`, asked every second, may stop the page early with a reason.
 */
async function runCommands(
  commands: DocCommand[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  watch: () => string | undefined = () => undefined,
): Promise<{ ran: Ran[]; stoppedBecause?: string }> {
  const tag = `@@quickstart-${randomBytes(4).toString('hex')}`;
  // One stream, so that a command's stderr lands between its own markers.
  const script = ['exec 2>&1', `cd ${JSON.stringify(ROOT)} || exit 99`];
  commands.forEach((c, i) => {
    script.push(
      `printf '\\n${tag} begin ${i}\\n'`,
      '__qs_t=$SECONDS',
      c.text,
      '__qs_rc=$?',
      `printf '\\n${tag} end ${i} %d %d\\n' "$__qs_rc" $((SECONDS - __qs_t))`,
      '[ "$__qs_rc" -eq 0 ] || exit 97',
    );
  });
  const child = spawn('bash', ['--noprofile', '--norc', '-c', script.join('\n')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let all = '';
  child.stdout.on('data', (d) => (all += d));
  child.stderr.on('data', (d) => (all += d));
  let stoppedBecause: string | undefined;
  const stop = (why: string) => {
    if (stoppedBecause) return;
    stoppedBecause = why;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const timer = setTimeout(() => stop(`the page did not finish in ${timeoutMs / 1000} s`), timeoutMs);
  const watcher = setInterval(() => {
    const why = watch();
    if (why) stop(why);
  }, 1000);
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  clearTimeout(timer);
  clearInterval(watcher);
  const ran: Ran[] = [];
  const parts = all.split(new RegExp(`\\n?${tag} `));
  for (const part of parts.slice(1)) {
    const begin = /^begin (\d+)\n/.exec(part);
    const end = /^end (\d+) (\d+) (\d+)\n?/.exec(part);
    if (begin) ran.push({ command: commands[Number(begin[1])], output: part.slice(begin[0].length) });
    else if (end && ran.length) Object.assign(ran[ran.length - 1], { code: Number(end[2]), seconds: Number(end[3]) });
  }
  return { ran, stoppedBecause };
}

const stateDir = () => process.env.RR_STATE_DIR ?? path.join(ROOT, '.stack');

/** Alive and not a zombie (a dead background job stays one until bash reaps it). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Watches the demo's worker pid file: a worker the page started that has exited (seen dead twice, a
 * second apart) stops the page at once, rather than leaving `plan` waiting for a worker until the time
 * limit. The pid in the file when the page starts (one left from before) is not the page's.
 */
function demoWorkerWatch(): () => string | undefined {
  const file = path.join(stateDir(), 'demo', 'worker.pid');
  const read = () => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const before = read();
  let suspect: string | undefined;
  return () => {
    const pid = read();
    if (!pid || pid === before || !/^\d+$/.test(pid) || alive(Number(pid))) {
      suspect = undefined;
      return undefined;
    }
    if (suspect === pid) return `the worker the page started (pid ${pid}, ${file}) has exited`;
    suspect = pid;
    return undefined;
  };
}

/** Spaces and table rules compared loosely: a column's width is not the page's business. */
const loose = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The environment a newcomer's shell has, plus the knobs that choose this stack. */
function newcomerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const knob = /^RR_(STATE_DIR|TOOLS_DIR|TEMPORAL_PORT|TEMPORAL_UI_PORT|PG_PORT|S3_PORT|S3_BUCKET|STACK_TIMEOUT)$/;
  const fromStack =
    /^(TEMPORAL_|AWS_|RR_|RESET_RUNBOOK_|SQ_|PG[A-Z]+$)|^(DATABASE_URL|QUEUE_DATABASE_URL|DEMO_DATABASE_URL|NO_COLOR)$/;
  for (const [k, v] of Object.entries(process.env)) if (knob.test(k) || !fromStack.test(k)) env[k] = v;
  return env;
}

/** The stack's default ports (the pages show them) as the ones this stack uses. */
function portsOfThisStack(line: string): string {
  const e = process.env;
  const ports: [string, string | undefined][] = [
    ['17233', e.RR_TEMPORAL_PORT],
    ['18233', e.RR_TEMPORAL_UI_PORT],
    ['15432', e.RR_PG_PORT],
    ['19000', e.RR_S3_PORT],
  ];
  return ports.reduce((l, [dflt, own]) => (own ? l.replace(new RegExp(`\\b${dflt}\\b`, 'g'), own) : l), line);
}

function stopDemo(): void {
  const env = { ...newcomerEnv() };
  spawnSync(path.join(ROOT, 'scripts', 'stack'), ['stop-demo-worker'], { env, cwd: ROOT, stdio: 'ignore' });
  const pidFile = path.join(stateDir(), 'demo', 'solid_queue.pid');
  if (fs.existsSync(pidFile))
    spawnSync(path.join(ROOT, 'scripts', 'solid-queue-service'), ['stop'], {
      env: { ...env, SQ_PID_FILE: pidFile },
      cwd: ROOT,
      stdio: 'ignore',
    });
}

function workerLogTail(): string {
  const log = path.join(stateDir(), 'demo', 'worker.log');
  if (!fs.existsSync(log)) return '';
  return `\n--- last lines of ${log}:\n${fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n')}`;
}

describe('extracting the commands', () => {
  const md = [
    'text',
    '<!-- quickstart -->',
    '```bash',
    '# a comment',
    'a one \\',
    '  two',
    'cat > f <<EOF',
    '{ "x": "$HOME" }',
    'EOF',
    '',
    'b',
    '```',
    '```bash',
    'not marked',
    '```',
    '<!-- quickstart-output -->',
    '```text',
    'line 1',
    '```',
  ].join('\n');

  test('marked blocks only; continuations and heredocs stay one command', () => {
    const blocks = quickstartBlocks('x.md', md);
    expect(blocks.map((b) => [b.kind, b.line])).toEqual([
      ['run', 4],
      ['output', 18],
    ]);
    expect(commandsOf(blocks[0]).map((c) => [c.line, c.text])).toEqual([
      [5, 'a one \\\n  two'],
      [7, 'cat > f <<EOF\n{ "x": "$HOME" }\nEOF'],
      [11, 'b'],
    ]);
  });
});

describe.each(PAGES)('the quick start of %s, as written', (page) => {
  afterAll(() => stopDemo());

  test('every command exits 0, and the output the page shows is there', async () => {
    const blocks = quickstartBlocks(page, fs.readFileSync(path.join(ROOT, page), 'utf8'));
    const commands = blocks.filter((b) => b.kind === 'run').flatMap(commandsOf);
    expect(commands.length).toBeGreaterThan(0);
    if (page.endsWith('first-reset.md')) {
      // What the quick start must keep showing: nobody makes it pass by taking a step out of the page.
      const texts = commands.map((c) => c.text);
      for (const step of [
        /^scripts\/stack up$/,
        /^eval "\$\(scripts\/stack env\)"$/,
        /^scripts\/demo-db load /,
        /^cat > "\$RR_STATE_DIR\/demo\/targets\.json" <<EOF\n/,
        /src\/worker\.ts/,
        /^bin\/reset-runbook plan demo$/,
        /^bin\/reset-runbook start demo --confirm phonefin_production\b/,
        /^bin\/reset-runbook status demo$/,
        /^bin\/reset-runbook restore demo --confirm phonefin_production$/,
      ]) {
        expect(texts.some((t) => step.test(t)) ? step.source : `no command matching ${step} in ${page}`).toBe(
          step.source,
        );
      }
    }

    const { ran, stoppedBecause } = await runCommands(commands, newcomerEnv(), 200_000, demoWorkerWatch());
    const failed = ran.find((r) => r.code !== 0);
    if (failed || ran.length < commands.length) {
      const at = failed ?? ran[ran.length - 1];
      const what = at
        ? `${at.command.file}:${at.command.line}: \`${at.command.text}\` ${at.code === undefined ? `did not finish: ${stoppedBecause ?? 'the shell ended'}` : `exited ${at.code}`}`
        : `${page}: nothing ran`;
      const took = ran.map((r) => `  ${r.seconds ?? '?'} s  ${r.command.text.split('\n')[0]}`).join('\n');
      throw new Error(
        `${what}; its output:\n${(at?.output ?? '').split('\n').slice(-40).join('\n')}${workerLogTail()}\n--- the commands run (seconds each):\n${took}`,
      );
    }

    // The output each block's commands gave, by the block's first line.
    const outputOf = new Map<number, string>();
    for (const r of ran) {
      const block = blocks.find(
        (b) => b.kind === 'run' && r.command.line >= b.line && r.command.line < b.line + b.lines.length,
      )!;
      outputOf.set(block.line, (outputOf.get(block.line) ?? '') + r.output);
    }
    const missing: string[] = [];
    blocks.forEach((b, i) => {
      if (b.kind !== 'output') return;
      const before = blocks[i - 1];
      if (before?.kind !== 'run')
        throw new Error(`${page}:${b.line}: a quickstart-output block must follow a quickstart block`);
      const got = loose(outputOf.get(before.line) ?? '');
      b.lines.forEach((l, j) => {
        const want = loose(portsOfThisStack(l));
        if (want && !got.includes(want)) missing.push(`${page}:${b.line + j}: "${want}"`);
      });
    });
    expect(missing).toEqual([]);

    if (page.endsWith('first-reset.md')) {
      // The targets file names the secret's variable, never the secret.
      const written = fs.readFileSync(path.join(stateDir(), 'demo', 'targets.json'), 'utf8');
      const targets = JSON.parse(written);
      expect(targets.targets.demo.database.urlEnv).toBe('DEMO_DATABASE_URL');
      expect(written).not.toMatch(/postgres:\/\//);
      const start = ran.find((r) => /^bin\/reset-runbook start demo/.test(r.command.text))!;
      expect(start.output).toContain('Reset of "demo": completed');
    }
  });
});
