/**
 * The fault-injection suite's quick mode in CI (faults/run.ts, `npm run faults`): worker crashes at
 * fixed points and at random moments, PostgreSQL, S3, pg_dump, worker-control and CLI faults, and a
 * restore whose worker dies mid-transaction, against the real stack. It prints its table; it fails when a scenario ends
 * other than expected, when a row or
 * object that must be kept is lost, a seed row is duplicated, or a run takes too long to move again
 * after a worker's death. Its chaos seed is printed: `npm run faults -- --seed <n>` replays it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { REPO_ROOT } from './support/temporal';

test(
  'npm run faults (quick mode): every fault ends as expected, nothing kept is lost',
  () => {
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', path.join(REPO_ROOT, 'faults', 'run.ts')], {
      cwd: REPO_ROOT,
      env: process.env,
      encoding: 'utf8',
      timeout: 9 * 60_000,
    });
    process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
    expect(r.error).toBeUndefined();
    expect(r.stdout).toMatch(/^all +\|/m);
    expect(r.status).toBe(0);
  },
  10 * 60_000,
);
