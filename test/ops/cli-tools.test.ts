/**
 * Every `temporal workflow …` and `tctl workflow …` line of docs/operators/web-ui-and-temporal.md, run as printed
 * (names localized) against the stack's Temporal server with a real worker: plan, start, progress,
 * a failing step and retry, reset to a point, approve to completion, a second run aborted,
 * describe and list. `temporal` is the stack's binary (RR_TEMPORAL_BIN); `tctl` is built from the
 * Go module proxy by scripts/install-tctl — where it cannot be built, the tctl test FAILS and says so.
 *
 *   npx jest --runInBand test/ops/cli-tools.test.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  dropTarget,
  Env,
  makeTarget,
  REPO,
  run,
  Run,
  stackEnv,
  startWorker,
  Target,
  waitFor,
  WorkerProcess,
} from '../cli/harness';
import { docCommands, localize, Names, OPERATIONS, Tool } from './doc-commands';

jest.setTimeout(300_000);

const NAME = `ops${process.pid}`;
const TASK_QUEUE = `rr-ops-${process.pid}`;
let stack: Env;
let target: Target;
let worker: WorkerProcess | undefined;
let binDir: string;
let tctlProblem: string | undefined;
const commands = docCommands();

beforeAll(async () => {
  stack = await stackEnv();
  target = await makeTarget(stack, NAME);
  worker = await startWorker({ ...target.env, RR_TASK_QUEUE: TASK_QUEUE });
  // A PATH with exactly the two tools the doc names.
  binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-ops-bin-'));
  fs.symlinkSync(stack.RR_TEMPORAL_BIN, path.join(binDir, 'temporal'));
  const t0 = Date.now();
  const tctl = await run(path.join(REPO, 'scripts', 'install-tctl'), [], { timeoutMs: 900_000 });
  if (tctl.code === 0) {
    fs.symlinkSync(tctl.stdout.trim().split('\n').pop()!, path.join(binDir, 'tctl'));
    process.stderr.write(`tctl ready in ${Math.round((Date.now() - t0) / 1000)}s: ${tctl.stderr.trim()}\n`);
  } else {
    tctlProblem = `scripts/install-tctl could not build tctl (exit ${tctl.code}):\n${tctl.stderr}`;
  }
});

afterAll(async () => {
  await worker?.stop();
  await dropTarget(target);
  if (binDir) fs.rmSync(binDir, { recursive: true, force: true });
});

test('docs/operators/web-ui-and-temporal.md has a temporal and a tctl line for every operation', () => {
  for (const tool of ['temporal', 'tctl'] as Tool[]) {
    for (const op of OPERATIONS)
      expect([tool, op, commands[tool][op]?.startsWith(`${tool} workflow `)]).toEqual([tool, op, true]);
  }
});

function runner(tool: Tool) {
  const names: Names = { target: NAME, database: `rr_${NAME}`, taskQueue: TASK_QUEUE, planSuffix: tool };
  const env: Env = {
    PATH: `${binDir}:${process.env.PATH}`,
    TEMPORAL_ADDRESS: stack.TEMPORAL_ADDRESS,
    TEMPORAL_CLI_ADDRESS: stack.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_CLI_NAMESPACE: 'default',
    NO_COLOR: '1',
  };
  return async (op: (typeof OPERATIONS)[number]): Promise<Run> => {
    const line = localize(commands[tool][op]!, names);
    const r = await run('bash', ['-c', line], { env, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${tool} ${op} exited ${r.code}: ${line}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
}

/** The phase in the progress query's output (both tools print the JSON). */
function phaseOf(r: Run): string | undefined {
  return /"phase":\s*"([a-z-]+)"/.exec(r.stdout)?.[1];
}

async function scenario(tool: Tool): Promise<void> {
  const op = runner(tool);
  // A run left by an earlier failed scenario must not hold the workflow id.
  await run(
    stack.RR_TEMPORAL_BIN,
    ['workflow', 'terminate', '--address', stack.TEMPORAL_ADDRESS, '-w', `reset-${NAME}`, '--reason', 'test setup'],
    { timeoutMs: 30_000 },
  );
  fs.rmSync(target.failFlag, { force: true });
  // plan: runs to its result
  const plan = await op('plan');
  expect(plan.stdout).toMatch(/"outcome": ?"planned"/);

  // start with a failing backup: the run pauses; retry after the fix; reset to a point; approve
  fs.writeFileSync(target.failFlag, 'x');
  await op('start');
  await waitFor(
    `${tool}: paused at backup`,
    async () => phaseOf(await op('progress')) === 'waiting-for-operator',
    90_000,
    1000,
  );
  fs.rmSync(target.failFlag);
  await op('retry');
  await waitFor(
    `${tool}: awaiting approval`,
    async () => phaseOf(await op('progress')) === 'awaiting-approval',
    90_000,
    1000,
  );
  const reset = await op('reset');
  expect(reset.stdout + reset.stderr).toMatch(/reset|RunId/i);
  // The new run replays to the same place: waiting for approval again.
  await waitFor(
    `${tool}: awaiting approval after reset`,
    async () => phaseOf(await op('progress')) === 'awaiting-approval',
    90_000,
    1000,
  );
  const d1 = await op('describe');
  expect(d1.stdout).toContain(`reset-${NAME}`);
  expect(d1.stdout).toContain('ResetTarget');
  expect(d1.stdout).not.toMatch(/Status\s+COMPLETED|"status": "Completed"/);
  await op('approve');
  await waitFor(
    `${tool}: completed`,
    async () => /Status\s+COMPLETED|"status": "Completed"/.test((await op('describe')).stdout),
    120_000,
    1000,
  );

  // a second run, aborted while it waits for approval
  await op('start');
  await waitFor(
    `${tool}: awaiting approval (2)`,
    async () => phaseOf(await op('progress')) === 'awaiting-approval',
    90_000,
    1000,
  );
  await op('abort');
  await waitFor(
    `${tool}: aborted`,
    async () => /Status\s+FAILED|"status": "Failed"/.test((await op('describe')).stdout),
    90_000,
    1000,
  );
  const after = await op('progress');
  expect(phaseOf(after)).toBe('aborted');

  const list = await op('list');
  expect(list.stdout).toContain(`reset-${NAME}`);
  expect(list.stdout).toContain(`plan-${NAME}-${tool}`);
}

test('the temporal lines: plan, start, progress, retry, reset, approve, describe, abort, list', async () => {
  await scenario('temporal');
});

test('the tctl lines, with a real tctl: plan, start, progress, retry, reset, approve, describe, abort, list', async () => {
  if (tctlProblem) throw new Error(`${tctlProblem}\nThis test cannot pass without a real tctl.`);
  await scenario('tctl');
});
