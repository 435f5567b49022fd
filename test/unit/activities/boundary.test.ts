/**
 * The activity boundary (activities/boundary.ts) as the worker builds it (createActivities): what an
 * activity returns or throws reaches Temporal redacted, whatever the dependency that leaked the secret.
 * The worker's PostgreSQL and S3 are fakes injected through ActivityDeps; no stack.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../../src/activities';
import { atBoundary } from '../../../src/activities/boundary';
import { collectSecrets, redactor } from '../../../src/activities/lib/secrets';
import type { VerifyReport } from '../../../src/activities/verify';
import type { TargetConfig } from '../../../src/config/types';
import { loadedTarget } from '../../support/target-config';
import { fakePg } from '../../support/fake-pg';

const URL = 'postgres://app:s3cr%2Ft-pw@db1:5432/app_production';
const env = { APP_DB: URL, PATH: '/usr/bin', STRIPE_KEY: 'sk_live_9876', AWS_SECRET_ACCESS_KEY: 'aws-secret-9' };
const config = loadedTarget({
  database: { urlEnv: 'APP_DB' },
  backup: { dir: '/nonexistent' },
  secretEnv: ['STRIPE_KEY'],
  verify: { expect: [{ label: 'Users', table: 'users', count: 6 }] },
});
const mock = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

test('an error that quotes the database URL, its password or a marked secret reaches Temporal redacted', async () => {
  const pg = fakePg([
    [
      /count/i,
      () => {
        throw new Error(`could not count on ${URL} (password s3cr/t-pw); key sk_live_9876 aws-secret-9`);
      },
    ],
  ]);
  const acts = createActivities({ targets: { file: '/t.json', targets: app(config) }, env, pg: pg.factory });
  const err = (await mock()
    .run(acts.verifyCounts, { target: 'app' })
    .catch((e) => e)) as Error;
  expect(err).toBeInstanceOf(Error);
  // The control string proves the error is the fake's, so the absences below mean something.
  expect(err.message).toMatch(/^could not count on \[redacted\]/);
  for (const s of ['s3cr%2Ft-pw', 's3cr/t-pw', 'sk_live_9876', 'aws-secret-9', URL]) {
    expect(err.message).not.toContain(s);
    expect(err.stack ?? '').not.toContain(s);
  }
});

test('a result that carries a secret is redacted too, and a clean result passes unchanged', async () => {
  const targets = { file: '/t.json', targets: app(config) };
  const acts = atBoundary(
    {
      leaky: async (_: { target?: string }) => ({ note: `dumped ${URL}`, key: 'sk_live_9876', rows: 6 }),
      clean: async (_: { target?: string }) => ({ report: 'Users: 6' }),
    },
    { targets, env },
    redactor(collectSecrets(env, targets)),
  );
  expect(await mock().run(acts.leaky, {})).toEqual({ note: 'dumped [redacted]', key: '[redacted]', rows: 6 });
  expect(await mock().run(acts.clean, {})).toEqual({ report: 'Users: 6' });
});

test('verifyCounts through the fakes: every connection it opened is closed again', async () => {
  const pg = fakePg([
    [/count/i, () => [{ n: '6' }]],
    [/.*/, () => [{ n: '0', count: '0', role: 'master' }]],
  ]);
  const acts = createActivities({ targets: { file: '/t.json', targets: app(config) }, env, pg: pg.factory });
  const r = (await mock().run(acts.verifyCounts, { target: 'app' })) as VerifyReport;
  expect(r.report).toBe('Users: 6');
  expect(pg.open()).toBe(0);
});

function app(c: TargetConfig) {
  return { app: c };
}
