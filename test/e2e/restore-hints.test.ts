/**
 * Every undo the tool prints is run exactly as printed, on the failure path that prints it, on the
 * real stack: seeds that fail after the TRUNCATE committed and an abort; an abort in the middle of a
 * slow seed command; a worker SIGKILLed right after the COMMIT; a run terminated (Web UI style) after
 * the COMMIT. Each time `reset-runbook restore …` (the CLI binary, approved by typing the database's
 * name on stdin) must bring back every table (md5 of full rows, sequences) and every purged object.
 * Each of those paths runs twice: a local backup with S3 files, and an S3 backup destination with
 * Disk files (quarantined under the root).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tableChecksums } from '../../demo/generate';
import { abortSignal, type ResetResult } from '../../src/contract';
import { writeDiskFiles } from '../support/disk-layout';
import { approveWhenAsked, waitFor } from '../support/drive';
import { ResetFixture } from '../support/fixture';
import { REPO_ROOT } from '../support/temporal';
import { cut, from, Transcript, upTo } from '../support/transcripts';

// Each test's clock starts at its turn in the report, not when it started (test.concurrent: see the tests below).
jest.setTimeout(420_000);

const CLI = path.join(REPO_ROOT, 'bin', 'reset-runbook');

/**
 * An abort's live state lines depend on when the CLI polled: the transcript shows where they go, not how many there
 * were.
 */
function live(out: string): string {
  const lines = out.split('\n');
  const kept = lines.filter((l) => !/^\[\d\d:\d\d:\d\dZ\] (running, step|restarting workers)/.test(l));
  const at = kept.findIndex((l) => l.startsWith('abort accepted'));
  kept.splice(at + 1, 0, "[… trimmed: the run's state as it ends: the step cancelled, the workers started again]");
  return kept.join('\n');
}

/**
 * Where the backup and the files live: a local backup folder with the S3 service (quarantine bucket),
 * or an S3 backup destination with a Disk service (quarantine folder under its root).
 */
type Variant = 'local backup, S3 files' | 'S3 backup, Disk files';

/** One test's fixture and where its files live (the tests run at once: nothing of a test is module state). */
interface Case {
  f: ResetFixture;
  variant: Variant;
  diskRoot?: string;
}

/** Runs a command line the tool printed, `reset-runbook …`, with the database's name typed on stdin. */
function runPrinted({ f }: Case, line: string, typed: string): Promise<{ code: number | null; out: string }> {
  const [bin, ...args] = line.trim().split(/\s+/);
  expect(bin).toBe('reset-runbook');
  return new Promise((resolve, reject) => {
    const child = spawn(CLI, args, {
      cwd: REPO_ROOT,
      env: { ...f.workerEnv, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${line} did not end in 240 s:\n${out}`));
    }, 240_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(`${typed}\n`);
  });
}

async function cli(c: Case, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return runPrinted(c, ['reset-runbook', ...args].join(' '), '');
}

/** Every table's full rows and every sequence, but the queue's own rows (the stand-in rewrites them every second). */
async function state({ f }: Case): Promise<{ tables: Record<string, string>; sequences: string }> {
  const tables = await tableChecksums(f.dbUrl);
  for (const t of Object.keys(tables)) if (t.startsWith('solid_queue_')) delete tables[t];
  const seqs = await f.sql<{ s: string }>(
    `SELECT string_agg(format('%I.%I=%s', schemaname, sequencename, coalesce(last_value, 0)), ',' ORDER BY schemaname, sequencename) AS s FROM pg_sequences WHERE sequencename NOT LIKE 'solid_queue%'`,
  );
  return { tables, sequences: seqs[0].s };
}

/** Every file of the Disk service, by path under its root, with its contents (the quarantine folder left out). */
function diskFiles(diskRoot: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.reset-quarantine') walk(p);
      } else out.set(path.relative(diskRoot, p), fs.readFileSync(p, 'utf8'));
    }
  };
  walk(diskRoot);
  return out;
}

/** The files the reset may purge, wherever they live. */
async function files({ f, variant, diskRoot }: Case): Promise<Map<string, unknown>> {
  return variant === 'S3 backup, Disk files' ? diskFiles(diskRoot!) : f.objects();
}

/**
 * Runs `body` on a fresh fixture of the variant, cleaned up when it ends, whichever way. The tests run at once
 * (jest's maxConcurrency at a time): each has its own database, key prefix, backup folder or prefix, quarantine,
 * task queue, target and worker, so their runs cannot see each other, and most of each is waiting (polls, the
 * seed command's sleep, the CLI's boot).
 */
async function withCase(v: Variant, seeds: 'command' | undefined, body: (c: Case) => Promise<void>): Promise<void> {
  // A fixed data seed: the same rows every time, so the operator guide's transcripts do not move.
  const f = new ResetFixture({ seed: 'docs', ...(seeds ? { seeds } : {}) });
  try {
    await f.setup();
    const c: Case = { f, variant: v };
    if (v === 'S3 backup, Disk files') {
      await f.sql(`UPDATE active_storage_blobs SET service_name = 'local'`);
      c.diskRoot = path.join(f.dir, 'storage');
      const keys = (await f.sql<{ key: string }>('SELECT key FROM active_storage_blobs')).map((r) => r.key);
      writeDiskFiles(c.diskRoot, keys, (key) => `file of ${key}`);
    }
    await body(c);
  } finally {
    await f.cleanup();
  }
}

/** Quarantine on; a failing step pauses at once (attempts 1) unless the test needs the retry after a crash. */
function configure({ f, variant, diskRoot }: Case, over: Record<string, unknown>, maximumAttempts = 1): void {
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
  const t = file.targets[f.target];
  if (variant === 'S3 backup, Disk files') {
    t.storage = { services: { local: { kind: 'disk', root: diskRoot } }, quarantine: {} };
    t.backup = {
      ...t.backup,
      dir: undefined,
      destination: {
        kind: 's3',
        bucket: f.bucket,
        prefix: `backups-${f.id}/`,
        endpoint: f.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
      },
    };
  } else t.storage.quarantine = { bucket: f.bucket, prefix: `quarantine-${f.id}/`, days: 30 };
  t.timing = { ...(t.timing ?? {}), maximumAttempts };
  Object.assign(t, over);
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
}

async function endingOf(p: Promise<unknown>): Promise<ResetResult> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { cause?: { details?: unknown[] } } | undefined;
  let c: unknown = err;
  while (c) {
    const d = (c as { details?: unknown[] }).details;
    if (d?.length) return d[0] as ResetResult;
    c = (c as { cause?: unknown }).cause;
  }
  throw new Error(`the run did not end with a result in its failure: ${String(err)}`);
}

/** The TRUNCATE committed: the demo's customers are gone (the seeds write none). */
async function truncated({ f }: Case): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await f.count('customers')) > 0) {
    if (Date.now() > deadline) throw new Error('the TRUNCATE never committed');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The target as the variant has it, its state before, and a reset started and approved. */
async function approvedReset(
  c: Case,
  over: Record<string, unknown>,
  o: { attempts?: number; workerEnv?: NodeJS.ProcessEnv } = {},
) {
  const { f } = c;
  configure(c, over, o.attempts);
  f.service('start');
  const worker = await f.startWorker(o.workerEnv);
  const before = await state(c);
  const objectsBefore = await files(c);
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  return { before, objectsBefore, h, worker };
}

async function expectUndone(
  c: Case,
  before: Awaited<ReturnType<typeof state>>,
  objectsBefore: Map<string, unknown>,
  printed: string,
) {
  const r = await runPrinted(c, printed, c.f.dbName);
  expect(r.out).toContain('Restore of');
  expect(r.code).toBe(0);
  const after = await state(c);
  expect(after.tables).toEqual(before.tables);
  expect(after.sequences).toBe(before.sequences);
  expect(await files(c)).toEqual(objectsBefore);
  return r.out;
}

const VARIANTS: Variant[] = ['local backup, S3 files', 'S3 backup, Disk files'];

test.concurrent.each(VARIANTS)(
  '%s: seeds fail after the TRUNCATE committed, the operator aborts: the printed restore command brings everything back',
  async (v) => {
    await withCase(v, 'command', async (c) => {
      const { f } = c;
      const { before, objectsBefore, h } = await approvedReset(c, {
        seeds: { command: ['sh', '-c', 'echo seeding failed >&2; exit 3'], timeoutSeconds: 60 },
      });
      await waitFor(h, (p) => p.phase === 'waiting-for-operator', 180_000);
      await h.signal(abortSignal, { by: 'jest', reason: 'seeds broken' });
      const ending = await endingOf(h.result());
      expect(ending.outcome).toBe('aborted');
      expect(ending.restoreCommand).toBe(`reset-runbook restore ${f.target} --run ${h.firstExecutionRunId}`);
      expect(await f.count('customers')).toBe(0);
      await expectUndone(c, before, objectsBefore, ending.restoreCommand!);
    });
  },
);

test.concurrent.each(VARIANTS)(
  '%s: an abort in the middle of a slow seed command: the printed restore command brings everything back',
  async (v) => {
    await withCase(v, 'command', async (c) => {
      const { f } = c;
      const { before, objectsBefore, h } = await approvedReset(c, {
        seeds: { command: ['sleep', '120'], timeoutSeconds: 300 },
      });
      await truncated(c);
      // The operator's abort, with the CLI: it prints the ending and the restore command.
      const aborted = await cli(c, 'abort', h.workflowId, '--reason', 'postponed');
      expect(aborted.code).toBe(0);
      const ending = await endingOf(h.result());
      expect(ending.outcome).toBe('aborted');
      expect(ending.restoreCommand).toBe(`reset-runbook restore ${f.target} --run ${h.firstExecutionRunId}`);
      expect(aborted.out).toContain(ending.restoreCommand);
      const restored = await expectUndone(c, before, objectsBefore, ending.restoreCommand!);
      if (v === VARIANTS[0]) {
        const names = { [f.target]: 'demo', [f.dbName]: 'rr_demo', [f.id]: '<id>', [f.taskQueue]: 'reset-runbook' };
        new Transcript(names)
          .add(['abort', h.workflowId, '--reason', 'postponed'], aborted, { trim: live })
          .check('docs/operators/failure-cases.md', 'abort-in-flight');
        new Transcript(names)
          .add(
            ending.restoreCommand!.split(' ').slice(1),
            { code: 0, out: restored },
            {
              trim: cut(
                /^ {2}database {2}table/,
                /quarantined objects to bring back/,
                'one row per table: rows in the backup, rows now',
              ),
            },
          )
          .check('docs/operators/undo.md', 'restore-as-printed');
      }
    });
  },
);

test.concurrent.each(VARIANTS)(
  '%s: a worker SIGKILLed right after the COMMIT: the run ends on another worker, and `restore <target>` (no --run) undoes it',
  async (v) => {
    await withCase(v, undefined, async (c) => {
      const { f } = c;
      const {
        before,
        objectsBefore,
        h,
        worker: doomed,
      } = await approvedReset(c, {}, { attempts: 3, workerEnv: { RR_CRASH_AT: 'reset.afterCommit' } });
      // The crash may come before this line (the exit event is then gone): poll the child's state.
      while (doomed.child.exitCode === null && doomed.child.signalCode === null)
        await new Promise((r) => setTimeout(r, 200));
      await f.startWorker();
      const r = (await h.result()) as ResetResult;
      expect(r.outcome).toBe('completed');
      await expectUndone(c, before, objectsBefore, `reset-runbook restore ${f.target}`);
      // Undone once: without --run the same reset is not restored again unasked.
      const again = await cli(c, 'restore', f.target, '--confirm', f.dbName);
      expect(again.code).not.toBe(0);
      expect(again.out).toContain('was already undone by restore run');
    });
  },
);

test.concurrent.each(VARIANTS)(
  '%s: a run terminated after the COMMIT: status says WORKERS MAY STILL BE STOPPED and prints the restore command, which brings everything back',
  async (v) => {
    await withCase(v, 'command', async (c) => {
      const { f } = c;
      const { before, objectsBefore, h } = await approvedReset(c, {
        seeds: { command: ['sleep', '120'], timeoutSeconds: 300 },
      });
      await truncated(c);
      await h.terminate('operator pressed Terminate in the Web UI');
      const status = await cli(c, 'status', `reset-${f.target}`);
      expect(status.code).toBe(7);
      expect(status.out).toContain('WORKERS MAY STILL BE STOPPED');
      const list = await cli(c, 'list', f.target);
      expect(list.out).toContain('WORKERS MAY STILL BE STOPPED');
      const printed = /undo it with: (reset-runbook restore \S+ --run \S+)/.exec(status.out)?.[1];
      expect(printed).toBe(`reset-runbook restore ${f.target} --run ${h.firstExecutionRunId}`);
      const out = await expectUndone(c, before, objectsBefore, printed!);
      expect(out).not.toContain('held by another reset');
    });
  },
);

test.concurrent(
  'rows written after the reset: the restore plan lists them and refuses; --discard-newer-rows restores and says what was discarded',
  async () => {
    await withCase('local backup, S3 files', undefined, async (c) => {
      const { f } = c;
      const { before, objectsBefore, h } = await approvedReset(c, {});
      expect(((await h.result()) as ResetResult).outcome).toBe('completed');
      // The application goes on after the hand-off: a new customer.
      await f.sql(
        `INSERT INTO customers (full_name, national_id, created_at, updated_at) VALUES ('Written After', 'AFTER-1', now(), now())`,
      );

      const refused = await cli(c, 'restore', f.target, '--confirm', f.dbName);
      expect(refused.code).not.toBe(0);
      expect(refused.out).toContain('rows written after the reset');
      expect(refused.out).toMatch(/primary\/public\.customers \(1 newer: 1 now, 0 after the reset\)/);
      expect(refused.out).toContain('--discard-newer-rows');
      expect(await f.count('customers')).toBe(1); // nothing touched

      const out = await expectUndone(
        c,
        before,
        objectsBefore,
        `reset-runbook restore ${f.target} --discard-newer-rows`,
      );
      expect(out).toContain('discarded: 1 newer row(s) of primary/public.customers');
      const names = { [f.target]: 'demo', [f.dbName]: 'rr_demo', [f.id]: '<id>', [f.taskQueue]: 'reset-runbook' };
      new Transcript(names)
        .add(
          ['restore', f.target, '--confirm', f.dbName],
          { code: refused.code, out: refused.out },
          { trim: cut(/0 Plan: done/, /run failed/, 'steps 1 to 6: skipped, not reached, for the same reason') },
        )
        .add(
          ['restore', f.target, '--discard-newer-rows'],
          { code: 0, out },
          {
            trim: from(
              /rows written after the reset \(the restore discards them\)/,
              "the plan's table of every truncated table",
            ),
          },
        )
        .check('docs/operators/undo.md', 'restore-discard-newer');
    });
  },
);

test.concurrent(
  'without storage.quarantine: the plan says before the approval that the files cannot come back, and the restore counts them in red',
  async () => {
    await withCase('local backup, S3 files', undefined, async (c) => {
      const { f } = c;
      configure(c, {});
      const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8'));
      delete file.targets[f.target].storage.quarantine;
      fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
      f.service('start');
      await f.startWorker();
      const before = await state(c);
      const plan = await cli(c, 'plan', f.target);
      expect(plan.out).toMatch(
        /undo: tables can come back \(the backup\), but files of service \S+ \(S3, bucket [^;]+; \d+ blobs\) are deleted for good: no storage.quarantine/,
      );
      const h = await f.start({ mode: 'execute' });
      await approveWhenAsked(h, f.dbName);
      const reset = (await h.result()) as ResetResult;
      expect(reset.outcome).toBe('completed');
      const purged = reset.objectsDeleted!.count;
      expect(purged).toBeGreaterThan(0);

      const r = await runPrinted(c, `reset-runbook restore ${f.target} --run ${h.firstExecutionRunId}`, f.dbName);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/purged files that cannot come back: \d+/);
      expect(r.out).toMatch(/storage: \d+ purged file\(s\) did not come back: their blob rows point at missing files/);
      expect((await state(c)).tables).toEqual(before.tables); // the rows are back, the files are not
      const names = { [f.target]: 'demo', [f.dbName]: 'rr_demo', [f.id]: '<id>', [f.taskQueue]: 'reset-runbook' };
      new Transcript(names)
        .add(
          ['plan', f.target],
          { code: plan.code, out: plan.out },
          { trim: (o) => upTo(/^undo: /, 'the workers and the warnings')(from(/^undo: /, 'the plan')(o)) },
        )
        .check('docs/operators/undo.md', 'restore-files-lost-plan');
      new Transcript(names)
        .add(
          ['restore', f.target, '--run', h.firstExecutionRunId],
          { code: r.code, out: r.out },
          { trim: from(/purged files that cannot come back/, "the restore plan's tables") },
        )
        .check('docs/operators/undo.md', 'restore-files-lost');
    });
  },
);
