/**
 * The transcripts of the operator guide (test/support/transcripts.ts): a block that differs from what
 * the test captured fails, RR_UPDATE_TRANSCRIPTS=1 rewrites it, what changes from run to run is
 * normalised; and every block of docs/operators/ is claimed by a test, so none is typed by hand. No stack.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkTranscript, normalise, transcriptBlocks, Transcript } from '../support/transcripts';

const REPO = path.resolve(__dirname, '..', '..');

function page(body: string): { root: string; file: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-transcripts-'));
  fs.writeFileSync(
    path.join(root, 'page.md'),
    `# A page\n\nText.\n\n<!-- transcript: the-case -->\n\`\`\`text\n${body}\n\`\`\`\n\nMore text.\n`,
  );
  return { root, file: path.join(root, 'page.md') };
}

test('a block that differs from the captured output fails, naming the page, the block and the first different line', () => {
  const { root, file } = page('$ reset-runbook status demo\nold line\n$ echo $?\n3');
  const captured = '$ reset-runbook status demo\nnew line\n$ echo $?\n3';
  expect(() => checkTranscript('page.md', 'the-case', captured, {}, root)).toThrow(
    /transcript "the-case" in page.md is stale[\s\S]*RR_UPDATE_TRANSCRIPTS=1[\s\S]*line 2 of the block:\n {2}page: old line\n {2}test: new line/,
  );
  expect(fs.readFileSync(file, 'utf8')).toContain('old line'); // untouched
  expect(() => checkTranscript('page.md', 'no-such-case', captured, {}, root)).toThrow(
    /page.md has no "<!-- transcript: no-such-case -->" block/,
  );
});

test('RR_UPDATE_TRANSCRIPTS=1 rewrites that block and nothing else; then it passes', () => {
  const { root, file } = page('old line');
  const before = fs.readFileSync(file, 'utf8');
  checkTranscript('page.md', 'the-case', 'new line\nsecond line\n', { RR_UPDATE_TRANSCRIPTS: '1' }, root);
  const after = fs.readFileSync(file, 'utf8');
  expect(after).toBe(before.replace('old line', 'new line\nsecond line'));
  expect(() => checkTranscript('page.md', 'the-case', 'new line\nsecond line', {}, root)).not.toThrow();
});

test('a marker must be followed by a closed fenced block, and a name appears once', () => {
  expect(() => transcriptBlocks('<!-- transcript: a -->\ntext\n', 'p.md')).toThrow(
    /p.md:1: .* must be followed by a fenced block/,
  );
  expect(() => transcriptBlocks('<!-- transcript: a -->\n```text\nx\n', 'p.md')).toThrow(/not closed/);
  expect(() =>
    transcriptBlocks('<!-- transcript: a -->\n```\n```\n<!-- transcript: a -->\n```\n```\n', 'p.md'),
  ).toThrow(/appears twice/);
});

test('normalise: times, run ids, durations (table columns keep their width), sizes, checksums, temp paths, names, live-only lines', () => {
  const raw = [
    '$ reset-runbook abort reset-e2e-1a2b3c4d --wait 60s',
    '[19:21:41Z] 0 Plan: running',
    '[19:21:41Z] restarting workers, attempt 1/2 (budget until 19:21:47Z)',
    '[19:21:42Z] restarting workers, attempt 1/2 (budget until 19:21:47Z); last error: no heartbeat',
    'reset-e2e-1a2b3c4d  019abcde-0123-7abc-8def-0123456789ab',
    '  target e2e-1a2b3c4d   mode execute   FAILED / failed   elapsed 11s',
    '  ✔  0 Plan                         done        257ms         29 tables',
    '  ✔  Approval                       done         4.4s         approved',
    '  backup (primary): /tmp/rr-e2e-1a2b3c4d-AbCdEf/backups/backup_pre_reset_e2e-1a2b3c4d_20261127-192134.dump (103 KiB, sha256 d17e5341b4460ac5…)',
    '  WORKERS ARE STILL STOPPED since 2026-11-27 19:21:39Z; stoppedSince 2026-11-27T19:21:39.116Z',
    '  durations: plan 159ms, approval 4.4s',
    '  reset-e2e-1a2b3c4d  reset  FAILED',
  ].join('\n');
  expect(normalise(raw, { 'e2e-1a2b3c4d': 'stuck', 'reset-e2e-1a2b3c4d': 'reset-stuck' }).split('\n')).toEqual([
    '$ reset-runbook abort reset-stuck --wait 60s',
    '[HH:MM:SSZ] restarting workers, attempt 1/2 (budget until HH:MM:SSZ); last error: no heartbeat',
    'reset-stuck  <run-id>',
    '  target stuck   mode execute   FAILED / failed   elapsed <dur>',
    '  ✔  0 Plan                         done        <dur>         29 tables',
    '  ✔  Approval                       done        <dur>         approved',
    '  backup (primary): <tmp>/backups/backup_pre_reset_stuck_YYYYMMDD-HHMMSS.dump (<size>, sha256 <sha256>…)',
    '  WORKERS ARE STILL STOPPED since YYYY-MM-DD HH:MM:SSZ; stoppedSince YYYY-MM-DDTHH:MM:SS.sssZ',
    '  durations: plan <dur>, approval <dur>',
    '  reset-stuck         reset  FAILED',
  ]);
});

test('Transcript: each command as typed, its output, and its exit code', () => {
  const t = new Transcript({ clie2e42: 'demo' })
    .add(['abort', 'clie2e42', '--reason', 'wrong day'], { code: 0, stdout: 'abort accepted\n', stderr: '' })
    .add(['status', 'clie2e42'], { code: 3, stdout: 'PAUSED\n' }, { showCode: true });
  expect(t.text()).toBe(
    [
      '$ reset-runbook abort demo --reason "wrong day"',
      'abort accepted',
      '$ echo $?',
      '0',
      '$ reset-runbook status demo',
      'PAUSED',
      '$ echo $?',
      '3',
    ].join('\n'),
  );
});

test('every transcript block of the operator guide is captured by a test (none is typed by hand)', () => {
  const dir = path.join(REPO, 'docs', 'operators');
  const sources: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) sources.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(REPO, 'test'));
  const all = sources.join('\n');
  const unclaimed: string[] = [];
  let count = 0;
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.md'))) {
    for (const b of transcriptBlocks(fs.readFileSync(path.join(dir, name), 'utf8'), name)) {
      count++;
      if (!all.includes(`'${b.name}')`)) unclaimed.push(`${name}: ${b.name}`);
    }
  }
  expect(unclaimed).toEqual([]);
  expect(count).toBeGreaterThanOrEqual(10);
});
