/** The targets file's `approval` section: the four-eyes fields, and the old true/false still meaning what it did. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadTargetsFile } from '../../src/config/load';
import { alwaysApprove, approvalsRequired } from '../../src/config/schema-approval';
import { approverProblem, describeApprovals, policyOf } from '../../src/contract';

const ROOT = path.resolve(__dirname, '..', '..');
const ENV = { DB: 'postgres://x' };

function load(approval: unknown) {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rr-approval-')), 'targets.json');
  const target = { database: { urlEnv: 'DB' }, backup: { dir: '/b' }, seeds: { sqlFile: 'a.sql' }, approval };
  fs.writeFileSync(f, JSON.stringify({ targets: { a: target } }));
  try {
    return loadTargetsFile(f, ENV).targets.a.approval;
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

test('the production example asks for two approvers and no self-approval', () => {
  const loaded = loadTargetsFile(path.join(ROOT, 'deploy', 'targets.example.json'), {
    PRODUCTION_DATABASE_URL: 'postgres://app@db/app_production',
    PRODUCTION_QUEUE_DATABASE_URL: 'postgres://app@db/app_production_queue',
  });
  expect(loaded.targets.production.approval).toMatchObject({ required: 2, allowSelfApproval: false });
});

test('required: true/false as before, a number of approvers, and mistakes named', () => {
  expect(load({ required: true })).toEqual({ required: true, allowSelfApproval: true, timeout: '24h' });
  expect(load({ required: 2, approvers: ['a@x', 'b@x'], allowSelfApproval: false })).toMatchObject({
    required: 2,
    approvers: ['a@x', 'b@x'],
  });
  expect(load({ required: 'two' })).toEqual([
    'targets.a.approval.required: expected true, false or a whole number of approvals from 0 to 10',
  ]);
  expect(String(load({ required: 3, approvers: ['a@x', 'b@x'] }))).toContain(
    'approvers lists fewer identities than required approvals',
  );
  expect([alwaysApprove(false), alwaysApprove(0), alwaysApprove(true), alwaysApprove(2)]).toEqual([
    false,
    false,
    true,
    true,
  ]);
  expect([approvalsRequired(false), approvalsRequired(true), approvalsRequired(3)]).toEqual([1, 1, 3]);
});

test('the policy: the starter, a second approval by one identity, and the approvers list', () => {
  const policy = policyOf({ approvalsRequired: 2, approvers: ['a@x', 'b@x', 'c@x'], allowSelfApproval: false }, 'a@x');
  const bob = [{ identity: 'b@x', at: '2026-12-03T10:02:11.000Z', planDigest: 'd' }];
  expect(approverProblem(policy, [], 'a@x')).toContain('a@x started this run and may not approve it');
  expect(approverProblem(policy, bob, 'b@x')).toBe('b@x has already approved this run; it counts once');
  expect(approverProblem(policy, bob, 'm@x')).toBe("m@x is not one of this target's approvers (a@x, b@x, c@x)");
  expect(approverProblem(policy, bob, undefined)).toContain('carries no identity');
  expect(approverProblem(policy, bob, 'c@x')).toBeUndefined();
  expect(describeApprovals(policy, bob)).toBe(
    '1 of 2 approvals: b@x (10:02:11Z); needs 1 more approval (from: c@x), not from a@x (started the run)',
  );
  // Plans from before four-eyes: one approval from anyone.
  expect(approverProblem(policyOf({}, undefined), [], undefined)).toBeUndefined();
});
