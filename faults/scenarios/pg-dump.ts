/**
 * pg_dump faults (a wrapper in the target's backup.pgDump): it exits non-zero, it is killed midway,
 * it exits 0 with half a dump, the backup folder fills (a 256 KiB tmpfs). No TRUNCATE may ever follow
 * a backup that is not whole: a run whose backup keeps failing waits at the backup with every table
 * as it was; a one-off failure is retried and the finished backup is whole.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { abortSignal } from '../../src/contract';
import { approveAndFinish } from '../../test/support/drive';
import { scenario, waitFor, type Job, type Stage, type Suite } from '../lib/harness';

const KIND = 'pg_dump';

function backupsWhole(s: Stage, dir: string): void {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  s.check(
    files.every((f) => !f.endsWith('.partial')),
    `a partial backup file was left in ${dir}`,
  );
}

/**
 * A backup that cannot succeed: the run must pause at the backup, data untouched; an abort then ends it with the
 * workers running.
 */
function neverWhole(
  name: string,
  prepare: (suite: Suite) => string | undefined,
  duringBackup?: (suite: Suite) => void,
) {
  return (suite: Suite) =>
    scenario(suite, KIND, name, 'paused at backup', async (s) => {
      const target = prepare(suite);
      if (target === undefined) {
        s.out.got = 'skipped';
        s.problem('no tmpfs could be mounted here (not root?)');
        return;
      }
      const h = await s.start({ mode: 'execute' }, target);
      if (duringBackup) {
        await waitFor(h, (p) => p.currentStep === 'backup');
        duringBackup(suite);
      }
      await s.expectPausedIntact(h, 'backup');
      s.out.faults = 1;
      await h.signal(abortSignal, { by: 'faults', reason: 'the backup cannot be taken' });
      // An aborted run ends as a failed workflow whose cause is ResetAborted.
      const err = await h.result().then(
        (r) => new Error(`ended ${r.outcome}`),
        (e) => e,
      );
      s.out.got += ', aborted';
      s.check(err.cause?.type === 'ResetAborted', `after abort: ${err.cause?.type ?? err.message}`);
      s.check(s.f.service('status') === 0, 'workers not running after the abort');
      s.countLosses(await s.snapshot(), true);
      backupsWhole(s, target === suite.f.target ? suite.f.backupDir : suite.smallDiskDir!);
      if (target !== suite.f.target) fs.rmSync(path.join(suite.smallDiskDir!, 'filler'), { force: true });
    });
}

function once(name: string, mode: 'kill-once' | 'truncated-once') {
  return (suite: Suite) =>
    scenario(suite, KIND, name, 'completed', async (s) => {
      suite.setModes({ pgDump: mode });
      const r = await approveAndFinish(await s.start(), s.f.dbName);
      s.out.faults = fs.readFileSync(path.join(suite.f.dir, 'bin', 'pg_dump.mode'), 'utf8').trim() === 'ok' ? 1 : 0;
      await s.expectCompleted(r);
      backupsWhole(s, suite.f.backupDir);
      for (const file of r.backup?.files ?? [])
        s.check(fs.statSync(file.path).size === file.bytes, `${file.path} is not the size recorded`);
    });
}

export function pgDumpJobs(full: boolean): Job[] {
  const jobs: (Job & { quick?: boolean })[] = [
    {
      name: 'pg_dump exits non-zero',
      quick: true,
      run: neverWhole('pg_dump exits non-zero (every attempt)', (suite) => {
        suite.setModes({ pgDump: 'fail' });
        return suite.f.target;
      }),
    },
    { name: 'pg_dump killed midway', run: once('pg_dump killed midway (SIGKILL after 4 KiB, once)', 'kill-once') },
    { name: 'pg_dump exits 0 with half a dump', run: once('pg_dump exits 0 after 4 KiB (once)', 'truncated-once') },
    {
      name: 'disk full',
      // The plan finds enough room (64 MiB tmpfs); then another process fills the folder, leaving 16 KiB, as pg_dump
      // starts.
      run: neverWhole(
        'backup folder fills up (tmpfs) as pg_dump starts',
        (suite) => {
          suite.setModes({ pgDump: 'slow:2' });
          return suite.smallDiskTarget;
        },
        (suite) => {
          const free = fs.statfsSync(suite.smallDiskDir!);
          fs.writeFileSync(
            path.join(suite.smallDiskDir!, 'filler'),
            Buffer.alloc(Math.max(0, free.bavail * free.bsize - 16384)),
          );
        },
      ),
    },
  ];
  return jobs.filter((j) => full || j.quick);
}
