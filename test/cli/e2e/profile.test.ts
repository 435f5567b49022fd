/**
 * A real Temporal TOML profile file, the standard way to say where Temporal is: the worker and our
 * CLI find the local dev server through it alone (TEMPORAL_ADDRESS unset), as the `temporal` CLI
 * does from the same file. Its default profile points at a closed port, so a run that completes
 * proves the named profile was read.
 *
 *   npx jest --runInBand test/cli/e2e/profile.test.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cli, dropTarget, Env, json, makeTarget, run, stackEnv, startWorker, Target, WorkerProcess } from '../harness';
import { workflowBundlePath } from '../../support/temporal';

jest.setTimeout(300_000);

const NAME = `profile${process.pid}`;
let stack: Env;
let target: Target;
let worker: WorkerProcess | undefined;
let toml: string;
/** The target's environment with the address and namespace taken away: only the file says where Temporal is. */
let env: Env;
const saved = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE };

beforeAll(async () => {
  stack = await stackEnv();
  // Children inherit this process's environment, where jest's setup put the stack's address.
  delete process.env.TEMPORAL_ADDRESS;
  delete process.env.TEMPORAL_NAMESPACE;
  target = await makeTarget(stack, NAME);
  toml = path.join(target.dir, 'temporal.toml');
  fs.writeFileSync(
    toml,
    [
      '# what `temporal config set --profile local --prop address --value …` writes',
      '[profile.default]',
      'address = "127.0.0.1:1"',
      '',
      '[profile.local]',
      `address = "${stack.TEMPORAL_ADDRESS}"`,
      `namespace = "${stack.TEMPORAL_NAMESPACE ?? 'default'}"`,
      '',
    ].join('\n'),
  );
  const { TEMPORAL_ADDRESS: _a, TEMPORAL_NAMESPACE: _n, ...rest } = target.env;
  env = { ...rest, TEMPORAL_CONFIG_FILE: toml, RR_TASK_QUEUE: `rr-profile-${process.pid}` };
  worker = await startWorker({ ...env, TEMPORAL_PROFILE: 'local', RR_WORKFLOW_BUNDLE: await workflowBundlePath() });
});

afterAll(async () => {
  await worker?.stop();
  await dropTarget(target);
  Object.assign(process.env, saved);
});

test('the worker connects through TEMPORAL_PROFILE and says which profile of which file', () => {
  expect(worker!.log()).toContain(
    `Temporal ${stack.TEMPORAL_ADDRESS} namespace "default" (plaintext, profile "local" of ${toml})`,
  );
});

test('the CLI plans through --profile local; TEMPORAL_PROFILE does the same; without either the default profile is used', async () => {
  const r = await cli(['plan', NAME, '--json', '--profile', 'local'], env);
  expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
  const body = json(r);
  expect(body).toMatchObject({ target: NAME, status: 'COMPLETED', outcome: 'planned', exitCode: 0 });
  expect(body.plan.databaseName).toBe(`rr_${NAME}`);

  // The `temporal` CLI reads the same file and profile and finds the same run.
  const t = await run(
    stack.RR_TEMPORAL_BIN,
    ['workflow', 'describe', '--workflow-id', body.workflowId, '--output', 'json'],
    { env: { ...env, TEMPORAL_PROFILE: 'local' } },
  );
  expect({ code: t.code, stderr: t.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(t.stdout).workflowExecutionInfo.status).toBe('WORKFLOW_EXECUTION_STATUS_COMPLETED');

  const s = await cli(['status', body.workflowId, '--json'], { ...env, TEMPORAL_PROFILE: 'local' });
  expect(s.code).toBe(0);
  expect(json(s)).toMatchObject({ workflowId: body.workflowId, status: 'COMPLETED' });

  // The default profile of the file is the closed port: exit 6, naming the profile it used. (An
  // empty variable counts as unset, as compose files and EnvironmentFiles write `X=`.)
  const d = await cli(['status', body.workflowId, '--json'], { ...env, TEMPORAL_ADDRESS: '' });
  expect(d.code).toBe(6);
  expect(json(d).error).toContain(`cannot reach Temporal at 127.0.0.1:1 (plaintext; profile "default" of ${toml})`);
});

test('a profile the file does not have is refused before connecting (exit 2), for the CLI and the worker alike', async () => {
  const r = await cli(['list', '--json', '--profile', 'staging'], env);
  expect(r.code).toBe(2);
  expect(json(r).error).toBe(`Temporal profile "staging" is not in ${toml} (its profiles: default, local)`);
  const w = await run(process.execPath, ['--require', 'tsx/cjs', 'src/worker.ts'], {
    env: { ...env, TEMPORAL_PROFILE: 'staging' },
  });
  expect({ code: w.code, stderr: w.stderr.trim() }).toEqual({
    code: 2,
    stderr: `Temporal profile "staging" is not in ${toml} (its profiles: default, local)`,
  });
});
