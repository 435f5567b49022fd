/**
 * A local backup on the real stack (pg_dump, a real folder): a write that fails (a full disk: a
 * 16 KiB tmpfs) stops pg_dump with its process group and leaves no partial file, and the partial
 * files the next backup clears are exactly this target's, not those of a target whose name starts
 * with it. Calls the backup activity in an activity context.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities } from '../../src/activities/backup';
import { loadTargetsFile } from '../../src/config/load';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
let mounted: string | undefined;
jest.setTimeout(120_000);
afterEach(async () => {
  if (mounted) execFileSync('/usr/bin/umount', [mounted]);
  mounted = undefined;
  await f?.cleanup();
});

const backup = () =>
  new MockActivityEnvironment().run(
    createBackupActivities({ targets: loadTargetsFile(f.targetsFile, f.workerEnv), env: f.workerEnv }).backupDatabase,
    { target: f.target },
  );

/** pg_dump processes this test process started (its descendants), zombies aside. */
function ourPgDumps(): number[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (state === 'Z') continue;
      parent.set(Number(d), Number(ppid));
      comm.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      /* gone meanwhile */
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  return [...comm].filter(([pid, c]) => c === 'pg_dump' && descends(pid)).map(([pid]) => pid);
}

test('a write that fails stops pg_dump and leaves no partial file', async () => {
  f = await fixture();
  const dir = path.join(f.dir, 'small-disk');
  fs.mkdirSync(dir);
  try {
    execFileSync('/usr/bin/mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(
      `this test needs to mount a small tmpfs (run as root, or with CAP_SYS_ADMIN): ${(e as Error).message}`,
      { cause: e },
    );
  }
  mounted = dir;
  f.writeTargets({ backupDir: dir });
  expect(ourPgDumps()).toEqual([]);

  await expect(backup()).rejects.toThrow(
    /writing the backup of database "primary" to .*\.dump\.partial failed: ENOSPC.*pg_dump stopped and the partial file was removed/,
  );
  // Right when the activity fails: pg_dump is gone, not left blocked on a pipe no one reads.
  expect(ourPgDumps()).toEqual([]);
  expect(fs.readdirSync(dir)).toEqual([]);
  // Its server session ends with it (the server notices the closed socket).
  const deadline = Date.now() + 30_000;
  let sessions = -1;
  while (sessions !== 0 && Date.now() < deadline) {
    sessions = Number(
      (
        await f.sql<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump'`,
          [f.dbName],
        )
      )[0].n,
    );
    if (sessions) await new Promise((r) => setTimeout(r, 200));
  }
  expect(sessions).toBe(0);
});

test("the partial files cleared before a backup are this target's only", async () => {
  f = await fixture();
  fs.mkdirSync(f.backupDir, { recursive: true });
  const ours = [
    `backup_pre_reset_${f.target}_20260101-000000.dump.partial`,
    `backup_pre_reset_${f.target}_20260101-000000.queue.dump.partial`,
  ];
  // Target "<ours>_2" is another target, whose run may be writing this file right now.
  const theirs = [
    `backup_pre_reset_${f.target}_2_20260101-000000.dump.partial`,
    `backup_pre_reset_${f.target}_2_20260101-000000.queue.dump.partial`,
  ];
  for (const n of [...ours, ...theirs]) fs.writeFileSync(path.join(f.backupDir, n), 'partial');

  await backup();
  const left = fs.readdirSync(f.backupDir);
  for (const n of ours) expect(left).not.toContain(n);
  for (const n of theirs) expect(left).toContain(n);
  expect(left.filter((n) => n.endsWith('.dump'))).toEqual([
    expect.stringMatching(new RegExp(`^backup_pre_reset_${f.target}_\\d{8}-\\d{6}\\.dump$`)),
  ]);
});
