/**
 * A start command that never brings heartbeats back: the run spends its restart budget,
 * showing each attempt live, then ends failed with endReason workersStillStopped, the ResetOutcome
 * search attribute set, every step final, and the message that tells a person what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OUTCOME_KEY, progressQuery, type ResetResult } from '../../src/contract';
import type { TargetsFile } from '../../src/config/types';
import { CLI, run } from '../cli/harness';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { freePort, scrapeUntil, valueOf } from '../support/prometheus';
import { from, Transcript, upTo, lastOf, placeAfter } from '../support/transcripts';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('workers that do not come back: failed, workersStillStopped, bounded attempts shown live, every step final', async () => {
  const dirSeed = fs.mkdtempSync('/tmp/rr-seed-');
  const seed = path.join(dirSeed, 'seed');
  fs.writeFileSync(seed, `#!/bin/sh\necho "seeds.rb:3: boom" >&2\nexit 1\n`, { mode: 0o755 });
  try {
    f = await fixture({
      seed: 'docs',
      seeds: 'command',
      target: { seedCommand: [seed], timing: { maximumAttempts: 1, heartbeatTimeoutSeconds: 5 } },
    });
    // A start command that exits 0 and starts nothing: no heartbeat ever comes back.
    const startCommand = `${path.join(f.dir, 'start-nothing')}`;
    fs.writeFileSync(startCommand, '#!/bin/sh\necho "started (not really)"\n', { mode: 0o755 });
    const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8')) as TargetsFile;
    Object.assign(file.targets[f.target].workers!, {
      start: startCommand,
      startTimeoutSeconds: 2,
      restartBudgetSeconds: 8,
    });
    fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));

    expect(f.service('start')).toBe(0);
    const metrics = `127.0.0.1:${await freePort()}`;
    await f.startWorker({ RR_METRICS_ADDRESS: metrics });
    const h = await f.start({ mode: 'execute' });
    const asked = await waitFor(h, (p) => p.phase === 'awaiting-approval');
    expect(asked.steps.find((s) => s.name === 'plan')?.detail).toMatch(/workers restarted within 8 s if the run fails/);
    // The operator's CLI, as a separate process: `follow` attached from before the failure to the end.
    const cli = (...args: string[]) => run(CLI, args, { env: { RR_TASK_QUEUE: f.taskQueue }, timeoutMs: 120_000 });
    const following = cli('follow', h.workflowId);
    await approveWhenAsked(h, f.dbName);
    // Each restart attempt is visible while it runs (what `abort` and `follow` print).
    await waitFor(h, (p) => p.phase === 'compensating' && p.workers.restart?.attempt === 1);
    // `abort` during the compensation answers at once and then shows the attempts, until the run ends.
    const aborting = cli('abort', h.workflowId, '--reason', 'postponed', '--wait', '60s');
    const live = await waitFor(h, (p) => p.phase === 'compensating' && p.workers.restart?.attempt === 2);
    expect(live.workers).toMatchObject({ status: 'restarting', startCommand, restart: { attempt: 2, maxAttempts: 2 } });

    const err = await h.result().catch((e) => e);
    expect(err.cause?.type).toBe('CompensationFailed');
    const r = err.cause?.details?.[0] as ResetResult;
    expect(r.outcome).toBe('failed');
    expect(r.endReason).toBe('workersStillStopped');
    expect(r.workers).toMatchObject({
      status: 'still-stopped',
      startCommand,
      restart: { attempt: 2, maxAttempts: 2, lastError: expect.stringMatching(/No Solid Queue heartbeat within 2s/) },
    });
    expect(Date.parse(r.workers!.stoppedSince!)).toBeGreaterThan(0);
    expect(err.cause?.message).toBe(
      `WORKERS ARE STILL STOPPED since ${r.workers!.stoppedSince} — start them by hand: ${startCommand}`,
    );
    expect(f.service('status')).not.toBe(0); // and that is the truth
    // What pages a person (the ResetRunbookWorkersStillStopped alert): the gauge, with the attempts and the ending.
    const target = f.target;
    const ended = { target, outcome: 'failed', end_reason: 'workersStillStopped' };
    const m = await scrapeUntil(metrics, (x) => valueOf(x, 'reset_runbook_runs_ended_total', ended) === 1);
    expect(valueOf(m, 'reset_runbook_runs_ended_total', ended)).toBe(1);
    expect(valueOf(m, 'reset_runbook_workers_still_stopped', { target })).toBe(1);
    expect(valueOf(m, 'reset_runbook_workers_stopped', { target })).toBe(1);
    expect(valueOf(m, 'reset_runbook_worker_restart_attempts_total', { target, result: 'failed' })).toBe(2);
    expect(valueOf(m, 'reset_runbook_step_duration_seconds_count', { target, step: 'reset', status: 'failed' })).toBe(
      1,
    );

    const p = await h.query(progressQuery);
    expect(p.phase).toBe('failed');
    expect(p.workers.status).toBe('still-stopped');
    expect(p.steps.filter((s) => ['running', 'waiting-for-operator', 'pending'].includes(s.status))).toEqual([]);
    expect(p.steps.find((s) => s.name === 'reset')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/Seed command .* exited with code 1/),
    });
    const d = await h.describe();
    expect(d.typedSearchAttributes.get(OUTCOME_KEY)).toBe('failed');
    expect(d.searchAttributes.ResetOutcome).toEqual(['failed']);

    // Every CLI view tells the same truth, with exit code 7 (workers left stopped).
    const redLine = `WORKERS ARE STILL STOPPED since`;
    const a = await aborting;
    expect(a.stdout + a.stderr).toMatch(/abort accepted/);
    expect(a.stdout + a.stderr).toMatch(/restarting workers, attempt 2\/2/);
    expect(a.stdout + a.stderr).toContain(`start them by hand: ${startCommand}`);
    expect(a.code).toBe(7);
    const fo = await following;
    expect(fo.stdout).toMatch(/restarting workers, attempt 1\/2/);
    expect(fo.stdout).toContain(redLine);
    expect(fo.code).toBe(7);
    const st = await cli('status', h.workflowId);
    expect(st.stdout).toContain(redLine);
    expect(st.stdout).toContain(`start them by hand: ${startCommand}`);
    expect(st.stdout).not.toMatch(/: planned/);
    expect(st.code).toBe(7);
    const js = await cli('status', h.workflowId, '--json');
    expect(JSON.parse(js.stdout)).toMatchObject({
      outcome: 'failed',
      endReason: 'workersStillStopped',
      workers: { status: 'still-stopped', startCommand },
    });
    expect(js.code).toBe(7);
    const ls = await cli('list', f.target);
    // `list` prints the run's row, and under it the same red line.
    const rows = ls.stdout.split('\n');
    const at = rows.findIndex((l) => l.includes(h.workflowId));
    expect(rows[at]).toMatch(/FAILED\s+failed/);
    expect(rows[at + 1]).toContain(`${redLine}`);

    // The operator guide shows these outputs (docs/operators/failure-cases.md).
    const names = {
      [f.target]: 'stuck',
      [f.dbName]: 'rr_stuck',
      [f.taskQueue]: 'reset-runbook',
      [h.workflowId]: 'reset-stuck',
    };
    const page = 'docs/operators/failure-cases.md';
    new Transcript(names)
      .add(['abort', h.workflowId, '--reason', 'postponed', '--wait', '60s'], a, {
        trim: lastOf(/restarting workers, attempt/),
      })
      .check(page, 'workers-stopped-abort');
    new Transcript(names)
      .add(['follow', h.workflowId], fo, {
        // The still-stopped line and the skipped steps are published moments apart: one poll or two, either order.
        trim: (o) =>
          placeAfter(
            /WORKERS ARE STILL STOPPED since/,
            /: skipped: /,
          )(
            upTo(
              /run failed$/,
              "the summary, as in abort's output",
            )(from(/3 Reset the database: failed/, 'steps 0 to 2 and the approval, done')(o)),
          ),
      })
      .check(page, 'workers-stopped-follow');
    new Transcript(names)
      .add(['status', h.workflowId], st)
      .add(['list', f.target], ls)
      .check(page, 'workers-stopped-status');
  } finally {
    fs.rmSync(dirSeed, { recursive: true, force: true });
  }
});
