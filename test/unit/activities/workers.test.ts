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

/**
 * The start step with a status command whose answers are given in turn (exit codes), each held until
 * `release` is called when `hold` is set; `alive` is what each read of the process table sees.
 */
function startWith(statusCodes: number[], alive: number[], hold = false) {
  const events: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let statusRuns = 0;
  const run: CommandRunner = async (cmd) => {
    const name = String(cmd).includes('is-active') ? 'status' : 'start';
    events.push(`${name} started`);
    let code = 0;
    if (name === 'status') {
      code = statusCodes[Math.min(statusRuns++, statusCodes.length - 1)];
      if (hold) await released;
    }
    events.push(`${name} ended`);
    return { code, signal: null, output: code ? 'activating' : '', timedOut: false };
  };
  let polls = 0;
  const pg = fakePg([
    [/to_regclass\('solid_queue_processes'\)/, () => [{ ok: true }]],
    [/SELECT now\(\)/, () => [{ now: new Date() }]],
    [
      /WITH live AS/,
      () => {
        // The first read is before the start command (the time heartbeats are counted from).
        const after = events.includes('start ended');
        if (after) events.push('process table read');
        return [
          {
            alive: after ? String(alive[Math.min(polls++, alive.length - 1)]) : '0',
            stale: '0',
            claimed_live: '0',
            claimed_total: '0',
          },
        ];
      },
    ],
  ]);
  const withStatus = loadedTarget({
    database: { urlEnv: 'APP_DB' },
    backup: { dir: '/nonexistent' },
    workers: {
      stop: 'systemctl stop solid_queue',
      start: 'systemctl start solid_queue',
      status: 'systemctl is-active solid_queue',
    },
  });
  const acts = createWorkerActivities({
    targets: { file: '/t.json', targets: { app: withStatus } },
    env,
    run,
    pg: pg.factory,
    now: () => 0,
  });
  const mock = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const result = mock.run(acts.startWorkers, { target: 'app' });
  result.catch(() => undefined);
  return { events, release, result, pg };
}

test('the status command runs while the process table is read, not after it', async () => {
  const s = startWith([0], [1], true);
  for (let i = 0; i < 500 && !s.events.includes('process table read'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(s.events).toEqual(['start started', 'start ended', 'status started', 'process table read']);
  s.release();
  await expect(s.result).resolves.toEqual({ alive: 1 });
  expect(s.events.slice(4)).toEqual(['status ended']);
  expect(s.pg.open()).toBe(0);
});

test('a status that failed before the heartbeats were seen is asked again once they are', async () => {
  const s = startWith([3, 0], [0, 1]);
  await expect(s.result).resolves.toEqual({ alive: 1 });
  expect(s.events.filter((e) => e === 'status started')).toHaveLength(2);
});

test('a status that still fails with the heartbeats seen fails the start', async () => {
  const s = startWith([3, 3], [1]);
  await expect(s.result).rejects.toThrow(/^Status command "systemctl is-active solid_queue"/);
  expect(s.events.filter((e) => e === 'status started')).toHaveLength(2);
  expect(s.pg.open()).toBe(0);
});
