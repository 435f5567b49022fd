/**
 * The checks a run makes before anything is touched, as pure functions: the approval signal's
 * confirmations (workflows/operator.ts), the reset's and the restore's input (input.ts, restore-input.ts).
 * Table-driven; no server.
 */
import { checkApproval, type Approvable, type ApproveArgs } from '../../src/contract';
import { checkInput, durationMs } from '../../src/workflows/input';
import { checkRestoreInput } from '../../src/workflows/restore-input';

const plan: Approvable = {
  databaseName: 'phonefin_production',
  highRisk: false,
  digest: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
};
const risky: Approvable = { ...plan, highRisk: true };

describe('approval', () => {
  test.each<[string, Approvable, unknown, RegExp | undefined]>([
    ['the database name approves', plan, { confirmation: 'phonefin_production' }, undefined],
    [
      'with the plan digest it was shown',
      plan,
      { confirmation: 'phonefin_production', planDigest: plan.digest },
      undefined,
    ],
    ['with the operator named', plan, { confirmation: 'phonefin_production', by: 'ana' }, undefined],
    ['no argument', plan, undefined, /needs \{"confirmation": "<database name>"\}/],
    ['no confirmation', plan, { by: 'ana' }, /needs \{"confirmation"/],
    ['a confirmation that is not a string', plan, { confirmation: 1 }, /needs \{"confirmation"/],
    [
      'another database',
      plan,
      { confirmation: 'phonefin_staging' },
      /"phonefin_staging" does not match the database name "phonefin_production"/,
    ],
    ['case differs', plan, { confirmation: 'PHONEFIN_PRODUCTION' }, /does not match/],
    ['trailing space', plan, { confirmation: 'phonefin_production ' }, /does not match/],
    [
      'a stale plan digest',
      plan,
      { confirmation: 'phonefin_production', planDigest: 'ffff' },
      /planDigest does not match this run's plan \(a1b2c3d4e5f6…\)/,
    ],
    [
      'high risk without the second confirmation',
      risky,
      { confirmation: 'phonefin_production' },
      /add "highRiskConfirmation": "REBUILD phonefin_production"/,
    ],
    [
      'high risk with the wrong second confirmation',
      risky,
      { confirmation: 'phonefin_production', highRiskConfirmation: 'REBUILD phonefin_staging' },
      /high risk/,
    ],
    [
      'high risk with the second confirmation alone',
      risky,
      { highRiskConfirmation: 'REBUILD phonefin_production' },
      /needs \{"confirmation"/,
    ],
    [
      'high risk, both confirmations',
      risky,
      { confirmation: 'phonefin_production', highRiskConfirmation: 'REBUILD phonefin_production' },
      undefined,
    ],
  ])('%s', (_, p, args, refusal) => {
    const got = checkApproval(p, args as ApproveArgs);
    if (refusal) expect(got).toMatch(refusal);
    else expect(got).toBeUndefined();
  });
});

describe('reset input', () => {
  test.each<[string, unknown, string, RegExp]>([
    ['not an object', 'demo', 'plan-demo', /must be one JSON object/],
    ['an array', [{ target: 'demo' }], 'plan-demo', /must be one JSON object/],
    ['null', null, 'plan-demo', /must be one JSON object/],
    ['a misspelt field', { target: 'demo', mdoe: 'execute' }, 'plan-demo', /unknown field "mdoe"/],
    ['no target', { mode: 'plan' }, 'plan-demo', /"target" must be a target name/],
    ['a target with capitals', { target: 'Demo' }, 'plan-demo', /"target" must be a target name/],
    ['a target like a URL', { target: 'postgres://u:p@h/db' }, 'plan-demo', /"target" must be a target name/],
    ['a bad mode', { target: 'demo', mode: 'run' }, 'plan-demo', /"mode" must be "plan" or "execute"/],
    [
      'requireApproval as a string',
      { target: 'demo', requireApproval: 'yes' },
      'plan-demo',
      /"requireApproval" must be true or false/,
    ],
    ['confirmation as a number', { target: 'demo', confirmation: 5 }, 'plan-demo', /"confirmation" must be a string/],
    [
      'a bad duration',
      { target: 'demo', approvalTimeout: '1 day' },
      'plan-demo',
      /"approvalTimeout" must be a duration/,
    ],
    [
      'execute under another id',
      { target: 'demo', mode: 'execute' },
      'my-reset',
      /an execute run must have workflow id "reset-demo" \(got "my-reset"\)/,
    ],
  ])('%s is refused before anything is touched', (_, raw, id, message) => {
    let err: unknown;
    try {
      checkInput(raw, id);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      type: 'BadInput',
      nonRetryable: true,
      message: expect.stringMatching(/^Bad input; nothing was touched: /),
    });
    expect((err as Error).message).toMatch(message);
  });

  test('every problem is named at once', () => {
    expect(() => checkInput({ target: 'X', mode: 'go', extra: 1 }, 'x')).toThrow(
      /unknown field "extra".*"target" must.*"mode" must/,
    );
  });

  test('good input gets its defaults', () => {
    expect(checkInput({ target: 'demo' }, 'anything')).toEqual({
      target: 'demo',
      mode: 'plan',
      requireApproval: false,
      confirmation: undefined,
      reason: undefined,
      approvalTimeout: undefined,
    });
    expect(
      checkInput(
        { target: 'demo', mode: 'execute', requireApproval: true, approvalTimeout: '24h', reason: 'r' },
        'reset-demo',
      ),
    ).toMatchObject({
      mode: 'execute',
      requireApproval: true,
      approvalTimeout: '24h',
    });
  });

  test.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
  ])('duration %s is %d ms', (d, ms) => expect(durationMs(d)).toBe(ms));
  test.each(['', '24', 'h', '1.5h', '-1h', '1w', '24 h'])('duration %j is refused', (d) =>
    expect(() => durationMs(d)).toThrow(/Bad duration/),
  );
});

describe('restore input', () => {
  test('good input', () => {
    expect(
      checkRestoreInput({ target: 'demo', resetRunId: 'r-1', confirmation: 'phonefin_production' }, 'restore-demo'),
    ).toMatchObject({ target: 'demo', resetRunId: 'r-1' });
  });
  test.each<[string, unknown, string, RegExp]>([
    ['not an object', 42, 'restore-demo', /must be one JSON object/],
    ['a misspelt field', { target: 'demo', resetRunID: 'r' }, 'restore-demo', /unknown field "resetRunID"/],
    ['a bad target', { target: '../x' }, 'restore-demo', /"target" must be a target name/],
    [
      'an empty resetRunId',
      { target: 'demo', resetRunId: '' },
      'restore-demo',
      /"resetRunId" must be a non-empty string/,
    ],
    [
      'a backupPath that is not a string',
      { target: 'demo', backupPath: 1 },
      'restore-demo',
      /"backupPath" must be a non-empty string/,
    ],
    [
      'a bad duration',
      { target: 'demo', approvalTimeout: 'soon' },
      'restore-demo',
      /"approvalTimeout" must be a duration/,
    ],
    [
      'another workflow id',
      { target: 'demo' },
      'reset-demo',
      /a restore must have workflow id "restore-demo" \(got "reset-demo"\)/,
    ],
  ])('%s is refused', (_, raw, id, message) => {
    expect(() => checkRestoreInput(raw, id)).toThrow(message);
    expect(() => checkRestoreInput(raw, id)).toThrow(/^Bad input; nothing was touched: /);
  });
});
