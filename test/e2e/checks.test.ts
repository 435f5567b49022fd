/**
 * The checks that stop a reset in its tracks: a backup older than the target allows, seeds that
 * still create demo data (verify says so), and the high-risk schema rebuild with its second confirmation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TargetsFile } from '../../src/config/types';
import { abortSignal, approveSignal } from '../../src/contract';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { REPO_ROOT } from '../support/temporal';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

test('a backup that turns stale while the workers stop is refused at the TRUNCATE; nothing was truncated, workers running', async () => {
  // The run takes a fresh backup before it stops the workers when the old one would be too old
  // (test/e2e/backup-freshness.test.ts); the age check at the TRUNCATE is the last guard, for a stop
  // that takes longer than the margin allowed for it: here a stop command that takes 5 s with 3 s allowed.
  f = await fixture({ target: { backup: { maxAgeMinutes: 0.05 } } });
  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8')) as TargetsFile;
  const w = file.targets[f.target].workers!;
  w.stop = `sleep 5; ${w.stop}`;
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
  expect(f.service('start')).toBe(0);
  const customers = await f.count('customers');
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('reset');
  expect(p.waiting?.error).toMatch(
    /backup of target ".*" is \d+ seconds old, more than backup\.maxAgeMinutes \(0\.05\); nothing was truncated/,
  );
  expect(p.waiting?.workersRestarted).toBe(true);
  expect(await f.count('customers')).toBe(customers);
  expect(f.service('status')).toBe(0);
  await h.signal(abortSignal, { reason: 'stale backup' });
  expect((await h.result().catch((e) => e)).cause?.type).toBe('ResetAborted');
});

test('seeds that still create demo data: verify names the table and the likely cause, and the run waits', async () => {
  const seeds = path.join(fs.mkdtempSync('/tmp/rr-seeds-'), 'seeds.sql');
  fs.writeFileSync(
    seeds,
    fs.readFileSync(path.join(REPO_ROOT, 'demo', 'db', 'seeds.sql'), 'utf8') +
      `\n-- "section 3": a demo customer\nINSERT INTO customers (full_name, national_id, created_at, updated_at) VALUES ('Demo Customer', 'DEMO-0001', now(), now());\n`,
  );
  f = await fixture({ target: { seedSqlFile: seeds } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('verify');
  expect(p.waiting?.error).toContain('Customers: 1');
  expect(p.waiting?.error).toMatch(/Customers: expected 0, found 1\. The seeds probably still create demo data/);
  expect(f.service('status')).toBe(0);
  await h.signal(abortSignal, { reason: 'fix the seeds first' });
  await h.result().catch(() => undefined);
  fs.rmSync(path.dirname(seeds), { recursive: true, force: true });
});

test('the rebuild strategy runs its command only after the second, distinct confirmation', async () => {
  // What `bin/rails db:reset` does for the demo: drop and recreate the schema, then the seeds.
  const rebuild = [path.join(REPO_ROOT, 'scripts', 'demo-db'), 'load', '--fresh', '--schema-only'];
  f = await fixture({ target: { rebuildCommand: rebuild } });
  expect(f.service('start')).toBe(0);
  await f.startWorker();
  const plan = (await (await f.start({ mode: 'plan' })).result()).plan!;
  expect(plan.highRisk).toBe(true);
  expect(plan.warnings.join('\n')).toMatch(/HIGH RISK: strategy "rebuild" runs .*demo-db load --fresh --schema-only/);

  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const rejected = await waitFor(h, (p) => /REBUILD/.test(p.steps.find((s) => s.name === 'approval')?.error ?? ''));
  expect(rejected.phase).toBe('awaiting-approval');
  expect(await f.count('customers')).toBeGreaterThan(0);
  await h.signal(approveSignal, { confirmation: f.dbName, highRiskConfirmation: `REBUILD ${f.dbName}` });
  const r = await h.result();
  expect(r.outcome).toBe('completed');
  expect(r.verify?.report).toBe(
    ['Users: 6', 'Phone Models: 10', 'System Settings: 1', 'Customers: 0', 'Loans: 0', 'Queue Jobs: 0'].join('\n'),
  );
  expect(f.service('status')).toBe(0);
});
