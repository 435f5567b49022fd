/**
 * A restore drill cancelled while pg_restore fills the scratch database (an operator's abort reaching
 * the backup step): the step reports the cancellation, pg_restore is gone and the scratch database is
 * dropped. pg_restore is a wrapper that waits before restoring into the scratch database, so the
 * cancellation lands there every time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client as PgClient } from 'pg';
import { createBackupActivities } from '../../src/activities/backup';
import { loadTargetsFile } from '../../src/config/load';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

async function scratchDatabases(): Promise<string[]> {
  const c = new PgClient({ connectionString: process.env.RR_PG_ADMIN_URL });
  await c.connect();
  try {
    return (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE '%\\_rr\\_drill\\_%'`)).rows.map(
      (r) => r.datname as string,
    );
  } finally {
    await c.end();
  }
}

test('cancelled during the drill’s pg_restore: cancellation reported, scratch database dropped', async () => {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'rr-drill-cancel-'));
  const marker = path.join(dir, 'restoring');
  const pgRestore = path.join(dir, 'pg_restore');
  // --list (the backup's own check) runs at once; the drill's restore (--dbname) announces itself and waits.
  fs.writeFileSync(
    pgRestore,
    `#!/bin/sh\ncase " $* " in *" --dbname "*) touch '${marker}'; sleep 600;; esac\nexec '${process.env.RR_PG_BIN}/pg_restore' "$@"\n`,
    { mode: 0o755 },
  );
  f = await fixture({ target: { backup: { verify: 'restore', pgRestore } } });
  const acts = createBackupActivities({ targets: loadTargetsFile(f.targetsFile, f.workerEnv), env: f.workerEnv });
  const env = new MockActivityEnvironment();
  const running = env.run(acts.backupDatabase, { target: f.target });
  running.catch(() => undefined);
  while (!fs.existsSync(marker)) await new Promise((r) => setTimeout(r, 50));
  expect(await scratchDatabases()).toHaveLength(1);
  env.cancel();
  await expect(running).rejects.toMatchObject({ name: 'CancelledFailure' });
  expect(await scratchDatabases()).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
});
