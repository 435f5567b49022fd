/** The redaction applied at the activity boundary, and the environment of child processes. No stack needed. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { baseEnv, targetCommandEnv } from '../../src/activities/lib/child-env';
import { collectSecrets, redactError, redactor } from '../../src/activities/lib/secrets';
import type { LoadedTargets } from '../../src/config/load';
import { targetsFileSchema } from '../../src/config/schema';
import type { TargetConfig, TargetConfigInput } from '../../src/config/types';

/** A target as the loader returns it (defaults filled in). */
const target = (over: Partial<TargetConfigInput> = {}): TargetConfig =>
  targetsFileSchema().parse({ targets: { app: { database: { urlEnv: 'APP_DB' }, backup: { dir: '/b' }, ...over } } })
    .targets.app;
const targets = (t: TargetConfig): LoadedTargets => ({ file: '/t.json', targets: { app: t } });
const ENV = {
  APP_DB: 'postgres://app:p%40ss%2Fw0rd@db1:5432/app_production',
  PGPASSWORD: 'pgpassword-1',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-1',
  AWS_SESSION_TOKEN: 'aws-token-1',
  STRIPE_KEY: 'sk_live_1234',
  HARMLESS: 'not-a-secret',
  PATH: '/usr/bin',
  HOME: '/home/runbook',
  LC_ALL: 'C.UTF-8',
};

test('every secret the worker holds is redacted: URL, its password as written and decoded, PGPASSWORD, AWS keys, marked variables', () => {
  const r = redactor(collectSecrets(ENV, targets(target({ secretEnv: ['STRIPE_KEY'] }))));
  const text = `url=${ENV.APP_DB} raw=p%40ss%2Fw0rd bare=p@ss/w0rd pg=pgpassword-1 s3=aws-secret-1 tok=aws-token-1 stripe=sk_live_1234 other=not-a-secret other-url=https://u:hunter22@x.example/`;
  const out = r.text(text);
  for (const s of [
    'p%40ss%2Fw0rd',
    'p@ss/w0rd',
    'pgpassword-1',
    'aws-secret-1',
    'aws-token-1',
    'sk_live_1234',
    'hunter22',
  ])
    expect(out).not.toContain(s);
  expect(out).toContain('other=not-a-secret');
  expect(out).toBe(
    'url=[redacted] raw=[redacted] bare=[redacted] pg=[redacted] s3=[redacted] tok=[redacted] stripe=[redacted] other=not-a-secret other-url=https://[redacted]@x.example/',
  );
  // Unmarked, the variable is not a secret.
  expect(redactor(collectSecrets(ENV, targets(target()))).text('sk_live_1234')).toBe('sk_live_1234');
});

test('errors keep their class and flags, with message, stack and details scrubbed', () => {
  const r = redactor(['sk_live_1234']);
  const app = ApplicationFailure.nonRetryable('failed with sk_live_1234', 'SeedFailed', { key: 'sk_live_1234' });
  const out = redactError(app, r) as ApplicationFailure;
  expect(out).toBeInstanceOf(ApplicationFailure);
  expect(out.nonRetryable).toBe(true);
  expect(out.type).toBe('SeedFailed');
  expect(out.message).toBe('failed with [redacted]');
  expect(out.stack).not.toContain('sk_live_1234');
  expect(JSON.stringify(out.details)).not.toContain('sk_live_1234');
  const plain = redactError(new Error('x', { cause: new Error('inner sk_live_1234') }), r) as Error;
  expect(String((plain.cause as Error).message)).toBe('inner [redacted]');
  expect(redactError(new CancelledFailure('CANCELLED'), r)).toBeInstanceOf(CancelledFailure);
  expect(r.value({ a: ['sk_live_1234', 3], b: { c: 'sk_live_1234' } })).toEqual({
    a: ['[redacted]', 3],
    b: { c: '[redacted]' },
  });
});

test("a child process gets the allow-list and the target's explicit variables, nothing else", () => {
  expect(baseEnv(ENV)).toEqual({ PATH: '/usr/bin', HOME: '/home/runbook', LC_ALL: 'C.UTF-8' });
  expect(
    targetCommandEnv(ENV, { DATABASE_URL: '${APP_DB}', RAILS_ENV: 'production', PATH: '/opt/ruby/bin:${PATH}' }),
  ).toEqual({
    PATH: '/opt/ruby/bin:/usr/bin',
    HOME: '/home/runbook',
    LC_ALL: 'C.UTF-8',
    DATABASE_URL: ENV.APP_DB,
    RAILS_ENV: 'production',
  });
});
