/**
 * Temporal faults: the server down mid-step (the run goes on when it returns, one backup taken), and
 * the CLI killed while following (the run is unaffected; a second `follow` reattaches to its end).
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approveAndFinish } from '../../test/support/drive';
import { REPO_ROOT } from '../../test/support/temporal';
import { resetWorkflowId } from '../../src/contract';
import { scenario, sleep, waitFor, type Job, type Suite } from '../lib/harness';

const KIND = 'Temporal';

function serverDown(seconds: number) {
  return (suite: Suite) =>
    scenario(suite, KIND, `server down ${seconds} s during the backup`, 'completed', async (s) => {
      suite.setModes({ pgDump: 'slow:3' });
      const h = await s.start();
      await waitFor(h, (p) => p.currentStep === 'backup');
      const stack = path.join(REPO_ROOT, 'scripts', 'stack');
      execFileSync(stack, ['down', 'temporal'], { stdio: 'pipe', env: process.env });
      s.out.faults = 1;
      await sleep(seconds * 1000);
      execFileSync(stack, ['up', 'temporal'], { stdio: 'pipe', env: process.env });
      await s.expectCompleted(await approveAndFinish(h, s.f.dbName));
      // An outage longer than the heartbeat timeout retries the backup when the server returns: each
      // backup file must be whole (none half-written), however many attempts there were.
      const files = fs.readdirSync(suite.f.backupDir);
      s.out.got += ` (${files.filter((x) => x.endsWith('.dump')).length} backup file(s))`;
      s.check(!files.some((x) => x.endsWith('.partial')), 'a partial backup file was left');
    });
}

function follow(suite: Suite) {
  const cli = (id: string) =>
    spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'reset-runbook'), 'follow', id], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  return scenario(suite, KIND, 'CLI killed while following, then follow again', 'completed', async (s) => {
    suite.setModes({ pgDump: 'slow:2' });
    const h = await s.start();
    const finished = approveAndFinish(h, s.f.dbName);
    const id = resetWorkflowId(suite.f.target);
    const first = cli(id);
    await waitFor(h, (p) => p.currentStep === 'backup');
    await sleep(500);
    first.kill('SIGKILL');
    s.out.faults = 1;
    const second = cli(id);
    let out = '';
    second.stdout.on('data', (d) => (out += d));
    second.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    const r = await finished;
    s.check(code === 0, `the second follow exited ${code}: ${out.slice(-300)}`);
    s.check(/Users: 6/.test(out), 'the second follow did not show the ending');
    await s.expectCompleted(r);
  });
}

export function temporalJobs(full: boolean): Job[] {
  // Quick mode leaves the outage out (test/e2e/server-restart.test.ts restarts the server in CI already).
  return [
    ...(full ? [{ name: 'Temporal server down', run: serverDown(60) }] : []),
    { name: 'CLI killed while following', run: follow },
  ];
}
