/**
 * PostgreSQL faults: the runbook's session terminated (pg_terminate_backend) during the backup, the
 * TRUNCATE and the SQL seeds; the server stopped for a while mid-run; max_connections exhausted.
 * Each ends completed (retried), or paused with the data intact and then retried to completion.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { retrySignal } from '../../src/contract';
import { approveAndFinish } from '../../test/support/drive';
import { REPO_ROOT } from '../../test/support/temporal';
import { scenario, sleep, waitFor, type Job, type Modes, type Outcome, type Stage, type Suite } from '../lib/harness';

const KIND = 'PostgreSQL';

async function admin(): Promise<Client> {
  const c = new Client({ connectionString: process.env.RR_PG_ADMIN_URL });
  await c.connect();
  return c;
}

/** Terminates the first backend of the fixture's database that matches `where`, once; the count terminated. */
export async function terminateWhen(s: Stage, where: string, ms = 60_000): Promise<number> {
  const c = await admin();
  try {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const r = await c.query(
        `SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND ${where}`,
        [s.f.dbName],
      );
      if (r.rows.some((x) => x.t)) return r.rows.filter((x) => x.t).length;
      await sleep(50);
    }
    return 0;
  } finally {
    await c.end();
  }
}

/** A session that holds a lock the step under test must wait for, so that it is caught in the act. */
async function holdLock(s: Stage, sql: string): Promise<Client> {
  const c = new Client({ connectionString: s.f.dbUrl });
  await c.connect();
  await c.query('BEGIN');
  await c.query(sql);
  return c;
}

interface Catch {
  /** A lock that makes the step wait (taken when the run reaches `lockAt`, or before it starts). */
  lockSql?: string;
  lockAt?: 'backup';
  modes?: Modes;
}

function terminated(name: string, where: string, o: Catch): (suite: Suite) => Promise<Outcome> {
  return (suite) =>
    scenario(suite, KIND, name, 'completed', async (s) => {
      if (o.modes) suite.setModes(o.modes);
      let holder = o.lockSql && !o.lockAt ? await holdLock(s, o.lockSql) : undefined;
      const h = await s.start();
      const finished = approveAndFinish(h, s.f.dbName);
      if (o.lockSql && o.lockAt) {
        await waitFor(h, (p) => p.currentStep === o.lockAt);
        holder = await holdLock(s, o.lockSql);
      }
      s.out.faults = await terminateWhen(s, where);
      await holder?.query('COMMIT');
      await holder?.end();
      s.check(s.out.faults === 1, 'the session was never caught');
      await s.expectCompleted(await finished);
    });
}

/** The stack's own cluster stopped for `seconds` while the backup runs (scripts/stack down/up postgres). */
function serverStopped(seconds: number) {
  return (suite: Suite) =>
    scenario(
      suite,
      KIND,
      `server stopped ${seconds} s during the backup`,
      'completed (paused, then retried)',
      async (s) => {
        suite.setModes({ pgDump: 'slow:2' });
        const h = await s.start();
        await waitFor(h, (p) => p.currentStep === 'backup');
        const env = { ...process.env };
        execFileSync(path.join(REPO_ROOT, 'scripts', 'stack'), ['down', 'postgres'], { stdio: 'pipe', env });
        s.out.faults = 1;
        await sleep(seconds * 1000);
        execFileSync(path.join(REPO_ROOT, 'scripts', 'stack'), ['up', 'postgres'], { stdio: 'pipe', env });
        const p = await waitFor(
          h,
          (x) => x.phase === 'waiting-for-operator' || x.phase === 'awaiting-approval' || x.phase === 'completed',
          120_000,
        );
        if (p.phase === 'waiting-for-operator') {
          await s.expectPausedIntact(h, 'backup');
          await h.signal(retrySignal);
        }
        await s.expectCompleted(await approveAndFinish(h, s.f.dbName));
      },
    );
}

/** Another client takes every connection slot for a few seconds while the backup starts. */
function connectionsExhausted(suite: Suite) {
  return scenario(suite, KIND, 'max_connections exhausted during the backup', 'completed', async (s) => {
    suite.setModes({ pgDump: 'slow:2' });
    const h = await s.start();
    const finished = approveAndFinish(h, s.f.dbName);
    await waitFor(h, (p) => p.currentStep === 'backup');
    const hog: Client[] = [];
    for (;;) {
      const c = new Client({ connectionString: process.env.RR_PG_ADMIN_URL });
      try {
        await c.connect();
        hog.push(c);
      } catch {
        break;
      }
    }
    s.out.faults = 1;
    await sleep(3000);
    await Promise.all(hog.map((c) => c.end().catch(() => undefined)));
    s.check(hog.length > 0, 'no connection slot was taken');
    await s.expectCompleted(await finished);
  });
}

export function postgresJobs(full: boolean): Job[] {
  const jobs: (Job & { quick?: boolean })[] = [
    {
      name: 'pg_terminate_backend during the backup',
      run: terminated(
        'pg_terminate_backend during the backup',
        `application_name = 'pg_dump' AND wait_event_type = 'Lock'`,
        {
          // pg_dump starts 3 s late, so the lock is there first (1 s lost the race on a loaded machine); the plan's
          // counts are done by then.
          modes: { pgDump: 'slow:3' },
          lockAt: 'backup',
          lockSql: 'LOCK TABLE customers IN ACCESS EXCLUSIVE MODE',
        },
      ),
    },
    {
      name: 'pg_terminate_backend during the TRUNCATE',
      quick: true,
      // A reader's ACCESS SHARE lock: harmless to the plan and pg_dump, it makes the TRUNCATE wait.
      run: terminated(
        'pg_terminate_backend during the TRUNCATE',
        `application_name = 'reset-runbook:truncate' AND query ILIKE 'TRUNCATE%'`,
        { lockSql: 'SELECT 1 FROM customers LIMIT 1' },
      ),
    },
    {
      name: 'pg_terminate_backend during the SQL seeds',
      run: terminated(
        'pg_terminate_backend during the SQL seeds',
        `application_name = 'reset-runbook:truncate' AND query LIKE '%pg_sleep%'`,
        { modes: { seeds: 'slow' } },
      ),
    },
    { name: 'server stopped', run: serverStopped(full ? 30 : 5) },
    { name: 'max_connections exhausted', run: connectionsExhausted },
  ];
  return jobs.filter((j) => full || j.quick);
}
