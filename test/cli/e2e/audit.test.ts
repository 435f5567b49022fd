/**
 * `reset-runbook audit` against real runs on the real stack: a reset approved by another person, a
 * reset aborted while it waited for approval, and a restore of the first; the table, --json and --csv
 * (parsed) must name the same people, outcomes and backup checksum.
 *
 *   npx jest --runInBand test/cli/e2e/audit.test.ts
 */
import {
  cli,
  dropTarget,
  Env,
  json,
  makeTarget,
  stackEnv,
  startWorker,
  Target,
  waitFor,
  WorkerProcess,
} from '../harness';
import { parseCsv } from '../../support/csv';

jest.setTimeout(300_000);

const NAME = `audit${process.pid}`;
let target: Target;
let env: Env;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  const stack = await stackEnv();
  target = await makeTarget(stack, NAME);
  env = { ...target.env, RR_TASK_QUEUE: `rr-audit-${process.pid}`, TEMPORAL_IDENTITY: 'alice@ops' };
  worker = await startWorker(env);
});

afterAll(async () => {
  await worker?.stop();
  await cli(['abort', `reset-${NAME}`, '--no-wait'], env).catch(() => undefined);
  await dropTarget(target);
});

const phase = async (run: string) => json(await cli(['status', run, '--json'], env)).phase;

test('audit lists an approved reset, an aborted one and a restore, with who, outcome and checksum', async () => {
  // 1: started by alice, approved by bob, completed.
  expect((await cli(['start', NAME, '--detach'], env)).code).toBe(0);
  await waitFor('approval', async () => (await phase(NAME)) === 'awaiting-approval', 60_000);
  const ap = await cli(['approve', NAME, '--confirm', `rr_${NAME}`, '--identity', 'bob@ops'], env);
  expect(ap.code).toBe(0);
  expect((await cli(['follow', NAME], env)).code).toBe(0);
  // 2: started by alice, aborted by carol while it waited for approval.
  expect((await cli(['start', NAME, '--detach'], env)).code).toBe(0);
  await waitFor('approval', async () => (await phase(NAME)) === 'awaiting-approval', 60_000);
  const ab = await cli(['abort', NAME, '--reason', 'not today'], { ...env, TEMPORAL_IDENTITY: 'carol@ops' });
  expect(ab.code).toBe(0);
  // 3: dave restores the first reset's backup.
  const rs = await cli(['restore', NAME, '--confirm', `rr_${NAME}`], { ...env, TEMPORAL_IDENTITY: 'dave@ops' });
  expect(rs.code).toBe(0);

  const asJson = await cli(['audit', NAME, '--since', '1h', '--json'], env);
  expect(asJson.code).toBe(0);
  const rows = json<any[]>(asJson);
  expect(rows.map((r) => r.kind)).toEqual(['restore', 'reset', 'reset']);
  const [restore, aborted, completed] = rows;
  expect(Object.keys(completed)).toEqual(Object.keys(restore));
  expect(completed).toMatchObject({
    target: NAME,
    outcome: 'completed',
    startedBy: 'alice@ops',
    approvals: [{ identity: 'bob@ops', planDigest: expect.stringMatching(/\S/) }],
    abortedBy: null,
    rejectedBy: null,
  });
  const sha: string = completed.backupSha256[0];
  expect(sha).toMatch(/^[0-9a-f]{64}$/);
  expect(completed.rowsBefore).toBeGreaterThan(completed.rowsAfter);
  expect(completed.objectsDeleted).toBeGreaterThan(0);
  // The test's target names no workers: nothing was stopped, so no downtime (with workers: test/e2e/full-reset.test.ts).
  expect(completed.workersDownSeconds).toBeNull();
  expect(aborted).toMatchObject({ outcome: 'aborted', abortedBy: { identity: 'carol@ops', reason: 'not today' } });
  expect(aborted.endReason).toEqual(expect.any(String));
  expect(restore).toMatchObject({ outcome: 'completed', approvals: [{ identity: 'dave@ops' }] });
  expect(restore.backupSha256).toContain(sha);
  expect(restore.rowsRestored).toBeGreaterThan(0);

  const table = await cli(['audit', NAME, '--since', '1h'], env);
  expect(table.code).toBe(0);
  const lines = table.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^started \(UTC\)\s+kind\s+target\s+outcome/);
  expect(lines[1]).toMatch(/restore .*completed/);
  expect(lines[2]).toMatch(/reset .*aborted.*aborted:carol@ops/);
  expect(lines[3]).toMatch(/reset .*completed.*alice@ops\s+bob@ops@/);
  expect(lines[3]).toContain(sha.slice(0, 12));

  const csv = await cli(['audit', NAME, '--since', '1h', '--csv'], env);
  expect(csv.code).toBe(0);
  const [head, ...body] = parseCsv(csv.stdout);
  expect(body).toHaveLength(3);
  const rec = body.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i]])));
  expect(rec[2]).toMatchObject({ kind: 'reset', outcome: 'completed', approvers: 'bob@ops', backupSha256: sha });
  expect(rec[1]).toMatchObject({ outcome: 'aborted', abortedBy: 'carol@ops' });
  expect(rec[0]).toMatchObject({ kind: 'restore', approvers: 'dave@ops' });

  const bad = await cli(['audit', '--since', 'yesterday'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--since: "yesterday"');
});
