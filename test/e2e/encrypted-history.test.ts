/**
 * Encrypted history on the real stack: with RR_CODEC_KEYS on the worker and the CLI, a whole reset
 * leaves no database name, e-mail or S3 key in clear in the server's history (`temporal workflow
 * show --output json`, base64 fields decoded and grepped), while the CLI still shows the decoded
 * plan. Key rotation: a run sealed with k1 stays readable by a worker and CLI with "k2,k1"; a CLI
 * holding only k2 names k1 in its error. Control: the same grep on a run without encryption finds
 * the database name (so the grep would catch a leak).
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { run } from '../cli/harness';
import { approveAndFinish, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';
import { serverHistoryText } from '../support/history-text';
import { REPO_ROOT } from '../support/temporal';

jest.setTimeout(420_000);

const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;
const CLI = path.join(REPO_ROOT, 'bin', 'reset-runbook');

let f: ResetFixture;
afterAll(async () => {
  await f?.cleanup();
});

function cli(args: string[], keys: string | undefined) {
  return run(CLI, args, {
    env: {
      ...(f.workerEnv as Record<string, string>),
      RR_CODEC_KEYS: keys ?? '',
      NO_COLOR: '1',
      RESET_RUNBOOK_POLL_MS: '300',
    },
    timeoutMs: 180_000,
  });
}

test('encrypted: no database name, e-mail or S3 key in clear in history; CLI decodes; keys rotate; control without encryption leaks the name', async () => {
  f = await fixture({ codecKeys: K1 });
  expect(f.service('start')).toBe(0);
  const objectKeys = [...(await f.objects()).keys()]
    .map((k) => k.slice(f.prefix.length).split('/').pop()!)
    .filter((k) => k.length >= 12);
  expect(objectKeys.length).toBeGreaterThan(0);
  const emails = (await f.sql<{ email_address: string }>('SELECT email_address FROM users')).map(
    (r) => r.email_address,
  );
  expect(emails.length).toBeGreaterThan(0);
  const leaks = (text: string) =>
    [f.dbName, 'phonefin.example', ...emails, ...objectKeys.slice(0, 50), f.secret].filter((v) => text.includes(v));

  let worker = await f.startWorker();
  expect(worker.log()).toMatch(/payloads encrypted \(key k1\)/);

  // The CLI, with the keys, plans and shows the decoded plan (the database's name among it).
  const planned = await cli(['plan', f.target, '--reason', 'encrypted e2e'], K1);
  expect(planned.stderr + planned.stdout).toContain(f.dbName);
  expect(planned.code).toBe(0);
  const planId = /workflow (plan-\S+),/.exec(planned.stderr)![1];

  // A whole reset, sealed with k1.
  const h = await f.start({ mode: 'execute', reason: 'e2e: encrypted' });
  const waiting = await waitFor(h, (p) => p.phase === 'awaiting-approval');
  expect(waiting.approval?.database).toBe(f.dbName); // the client decodes what the server cannot
  const r = await approveAndFinish(h, f.dbName);
  expect(r.outcome).toBe('completed');
  expect(r.accounts).toEqual({ count: 6, roles: { admin: 3, master: 1, supervisor: 1, vendedor: 1 } });
  expect(r.objectsDeleted!.count).toBeGreaterThan(0);

  for (const id of [h.workflowId, planId]) {
    const text = serverHistoryText(id);
    expect(text).toContain('binary/encrypted');
    expect(leaks(text)).toEqual([]);
  }

  // The CLI with the keys shows the finished run decoded; status of the plan shows the database.
  const status = await cli(['status', h.workflowId], K1);
  expect(status.stdout).toMatch(/Verify: OK/);
  expect(status.stdout).toContain('Accounts after the reset: 6');
  expect(status.code).toBe(0);

  // Rotation: the worker and the CLI now encrypt with k2 and still read the k1 runs.
  await worker.kill('SIGTERM');
  worker = await f.startWorker({ RR_CODEC_KEYS: `${K2},${K1}` });
  expect(worker.log()).toMatch(/payloads encrypted \(key k2\)/);
  const oldPlan = await cli(['status', planId], `${K2},${K1}`);
  expect(oldPlan.stdout).toMatch(/tables to truncate/);
  expect(oldPlan.code).toBe(0);
  const oldPlanJson = await cli(['status', planId, '--json'], `${K2},${K1}`);
  expect(JSON.stringify(JSON.parse(oldPlanJson.stdout))).toContain(f.dbName);
  const newPlan = await cli(['plan', f.target], `${K2},${K1}`);
  expect(newPlan.stderr + newPlan.stdout).toContain(f.dbName);
  const newPlanId = /workflow (plan-\S+),/.exec(newPlan.stderr)![1];
  const newText = serverHistoryText(newPlanId);
  expect(newText).toMatch(/\bk2\b/); // the key id in the payloads' metadata
  expect(leaks(newText)).toEqual([]);
  // A CLI that holds only k2 cannot read the k1 run, and says which key it lacks.
  const noK1 = await cli(['status', planId, '--json'], K2);
  expect(noK1.code).toBe(2);
  expect(noK1.stderr).toMatch(/key "k1", which is not in RR_CODEC_KEYS/);

  // Control: without encryption the same grep finds the database name in history.
  await worker.kill('SIGTERM');
  worker = await f.startWorker({ RR_CODEC_KEYS: '' });
  expect(worker.log()).toMatch(/payloads not encrypted/);
  const plain = await cli(['plan', f.target], undefined);
  expect(plain.code).toBe(0);
  const plainId = /workflow (plan-\S+),/.exec(plain.stderr)![1];
  const plainText = serverHistoryText(plainId);
  expect(plainText).not.toContain('binary/encrypted');
  expect(leaks(plainText)).toContain(f.dbName);
});
