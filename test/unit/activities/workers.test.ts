/**
 * Stopping the workers with the command runner, PostgreSQL and clock injected (lib/deps.ts): the
 * target's stop command runs with the allow-listed environment, and the stop deadline is read from the
 * injected clock, so "still alive after 120 s" is tested without waiting 120 s. No stack.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { CommandRunner } from '../../../src/activities/lib/deps';
import { createWorkerActivities } from '../../../src/activities/workers';
import { loadedTarget } from '../../support/target-config';
import { fakePg } from '../../support/fake-pg';

const config = loadedTarget({
  database: { urlEnv: 'APP_DB' },
  backup: { dir: '/nonexistent' },
  workers: {
    stop: 'systemctl stop solid_queue',
    start: 'systemctl start solid_queue',
    env: { RAILS_ENV: 'production', DATABASE_URL: '${APP_DB}' },
  },
});
const env = {
  APP_DB: 'postgres://app:pw@db/app',
  PATH: '/usr/bin',
  HOME: '/root',
  AWS_SECRET_ACCESS_KEY: 'k',
  STRIPE_KEY: 's',
};

function setup(alive: number[], clock: number[]) {
  const ran: { cmd: string | string[]; env?: NodeJS.ProcessEnv; timeoutMs: number }[] = [];
  const run: CommandRunner = async (cmd, opts) => {
    ran.push({ cmd, env: opts.env, timeoutMs: opts.timeoutMs });
    return { code: 0, signal: null, output: '', timedOut: false };
  };
  let polls = 0;
  const pg = fakePg([
    [/to_regclass\('solid_queue_processes'\)/, () => [{ ok: true }]],
    [/SELECT now\(\)/, () => [{ now: new Date() }]],
    [
      /WITH live AS/,
      () => [
        {
          alive: String(alive[Math.min(polls++, alive.length - 1)]),
          stale: '2',
          claimed_live: '0',
          claimed_total: '3',
        },
      ],
    ],
  ]);
  let ticks = 0;
  const now = () => clock[Math.min(ticks++, clock.length - 1)];
  const acts = createWorkerActivities({
    targets: { file: '/t.json', targets: { app: config } },
    env,
    run,
    pg: pg.factory,
    now,
  });
  const mock = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  return { ran, pg, stop: () => mock.run(acts.stopWorkers, { target: 'app' }) };
}

test("the stop command runs once, with the basics and what workers.env passes, nothing else of the worker's", async () => {
  const s = setup([0], [0]);
  await expect(s.stop()).resolves.toEqual({ staleProcessRows: 2, claimedByDeadProcesses: 3 });
  expect(s.ran).toEqual([
    {
      cmd: 'systemctl stop solid_queue',
      env: { PATH: '/usr/bin', HOME: '/root', RAILS_ENV: 'production', DATABASE_URL: env.APP_DB },
      timeoutMs: 120_000,
    },
  ]);
  expect(s.pg.open()).toBe(0);
});

test('workers still heartbeating when the clock passes the stop deadline: a clear error, at once', async () => {
  // Deadline taken at 0; the first poll sees a live process and the clock already at 121 s.
  const s = setup([1], [0, 121_000]);
  await expect(s.stop()).rejects.toThrow(
    /^Workers still alive 120s after "systemctl stop solid_queue": 1 process\(es\) heartbeating, 0 claimed job\(s\)/,
  );
  expect(s.pg.open()).toBe(0);
});

/** A stop command that ends when `finish` is called, and a session whose connection can be made to fail. */
function slowStop(code: number, connectError?: Error) {
  const events: string[] = [];
  let finish!: () => void;
  const ended = new Promise<void>((r) => (finish = r));
  const run: CommandRunner = async () => {
    events.push('command started');
    await ended;
    events.push('command ended');
    return { code, signal: null, output: code ? 'Failed to stop solid_queue.service' : '', timedOut: false };
  };
  const pg = fakePg([
    [/to_regclass\('solid_queue_processes'\)/, () => [{ ok: true }]],
    [/SELECT now\(\)/, () => [{ now: new Date() }]],
    [/WITH live AS/, () => [{ alive: '0', stale: '0', claimed_live: '0', claimed_total: '0' }]],
  ]);
  const factory: typeof pg.factory = (c) => {
    const client = pg.factory(c);
    const connect = client.connect.bind(client);
    const query = client.query.bind(client) as (sql: string, params?: unknown[]) => Promise<unknown>;
    return Object.assign(client, {
      connect: async () => {
        events.push('connect');
        if (connectError) throw connectError;
        return connect();
      },
      query: (sql: string, params?: unknown[]) => {
        events.push('query');
        return query(sql, params);
      },
    }) as typeof client;
  };
  const acts = createWorkerActivities({
    targets: { file: '/t.json', targets: { app: config } },
    env,
    run,
    pg: factory,
    now: () => 0,
  });
  const mock = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const result = mock.run(acts.stopWorkers, { target: 'app' });
  result.catch(() => undefined);
  /** Until the session has tried to connect (at most 5 s): the command is still running then. */
  const connecting = async () => {
    for (let i = 0; i < 500 && !events.includes('connect'); i++) await new Promise((r) => setTimeout(r, 10));
  };
  return { events, finish, result, connecting };
}

test('the session that reads the process table opens while the stop command runs, and reads only after it ended', async () => {
  const s = slowStop(0);
  await s.connecting();
  expect(s.events).toEqual(['command started', 'connect']);
  s.finish();
  await expect(s.result).resolves.toEqual({ staleProcessRows: 0, claimedByDeadProcesses: 0 });
  expect(s.events.slice(2)).toEqual(['command ended', 'query', 'query', 'query']);
});

test('a database that cannot be reached fails the stop only once the command has ended', async () => {
  const s = slowStop(0, new Error('connect ECONNREFUSED 10.0.0.5:5432'));
  let settled = false;
  s.result.then(
    () => (settled = true),
    () => (settled = true),
  );
  await s.connecting();
  await new Promise((r) => setTimeout(r, 20));
  expect(settled).toBe(false);
  s.finish();
  await expect(s.result).rejects.toThrow(/ECONNREFUSED/);
  expect(s.events).toEqual(['command started', 'connect', 'command ended']);
});

test('a failed stop command is the error reported, even when the database cannot be reached either', async () => {
  const s = slowStop(1, new Error('connect ECONNREFUSED 10.0.0.5:5432'));
  s.finish();
  await expect(s.result).rejects.toThrow(/^Stop command "systemctl stop solid_queue"/);
});
