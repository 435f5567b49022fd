/**
 * The Temporal server stops and starts again on the same SQLite file while a run is in a step:
 * the run, its history and its worker carry on.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { approveSignal } from '../../src/contract';
import { waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { REPO_ROOT } from '../support/temporal';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('a Temporal server restart mid-backup does not lose or repeat the run', async () => {
  // A pg_dump that takes a few seconds before it starts: long enough to restart the server under it.
  const slow = path.join(fs.mkdtempSync('/tmp/rr-slow-'), 'pg_dump');
  fs.writeFileSync(
    slow,
    `#!/bin/sh\n[ "$1" = "--version" ] || sleep 6\nexec ${path.join(process.env.RR_PG_BIN!, 'pg_dump')} "$@"\n`,
    { mode: 0o755 },
  );
  f = await fixture({ target: { backup: { pgDump: slow } } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await waitFor(h, (p) => p.currentStep === 'backup');

  execFileSync(path.join(REPO_ROOT, 'scripts', 'stack'), ['restart-temporal'], { stdio: 'pipe', env: process.env });

  await waitFor(h, (p) => p.phase === 'awaiting-approval', 120_000);
  await h.signal(approveSignal, { confirmation: f.dbName });
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(r.verify?.ok).toBe(true);
  const progress = (await h.describe()).status.name;
  expect(progress).toBe('COMPLETED');
  // One backup attempt: the activity finished and its completion reached the restarted server.
  expect(fs.readdirSync(f.backupDir).filter((x) => x.endsWith('.dump'))).toHaveLength(1);
  fs.rmSync(path.dirname(slow), { recursive: true, force: true });
});
