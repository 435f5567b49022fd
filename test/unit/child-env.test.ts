/**
 * The libpq environment of pg_dump / pg_restore / psql (lib/child-env.ts libpqEnv): the URL's parts, and nothing else
 * of the worker's.
 */
import { libpqEnv } from '../../src/activities/lib/child-env';

const WORKER = {
  PATH: '/usr/bin',
  HOME: '/root',
  LC_ALL: 'C.UTF-8',
  PGPASSWORD: 'workers-own',
  PGHOST: 'elsewhere',
  DATABASE_URL: 'postgres://x:y@z/w',
  AWS_SECRET_ACCESS_KEY: 'k',
};

test.each<[string, string, Record<string, string>]>([
  [
    'every part',
    'postgres://app:pw@db1:6543/app_production',
    { PGHOST: 'db1', PGPORT: '6543', PGUSER: 'app', PGPASSWORD: 'pw', PGDATABASE: 'app_production' },
  ],
  [
    'a percent-encoded password, user and database',
    'postgresql://us%40er:p%40ss%2Fw0rd%3A@db1/my%20db',
    { PGHOST: 'db1', PGUSER: 'us@er', PGPASSWORD: 'p@ss/w0rd:', PGDATABASE: 'my db' },
  ],
  [
    'sslmode',
    'postgres://app@db1/app?sslmode=verify-full',
    { PGHOST: 'db1', PGUSER: 'app', PGDATABASE: 'app', PGSSLMODE: 'verify-full' },
  ],
  ['a unix socket', 'postgres:///app?host=/run/postgresql', { PGHOST: '/run/postgresql', PGDATABASE: 'app' }],
  [
    'no password: none from the worker either',
    'postgres://app@db1/app',
    { PGHOST: 'db1', PGUSER: 'app', PGDATABASE: 'app' },
  ],
])('%s', (_, url, libpq) => {
  expect(libpqEnv(url, WORKER)).toEqual({ PATH: '/usr/bin', HOME: '/root', LC_ALL: 'C.UTF-8', ...libpq });
});

test('the URL itself is never in the environment (it would show in /proc/<pid>/environ of a child that prints it)', () => {
  const env = libpqEnv('postgres://app:pw@db1/app', WORKER);
  expect(Object.values(env).join(' ')).not.toContain('postgres://');
});
