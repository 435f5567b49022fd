/**
 * The workflow bundle's source map is line-only (src/workflow-bundle.ts says why: a worker's first
 * workflow task parses it), and still does what a map is for: the stack trace of a waiting run, as
 * `temporal workflow stack` and the Web UI's "Stack Trace" tab ask for it, names the TypeScript file and
 * line of the step it waits in. Mocked activities on the time-skipping server.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../src/activities';
import { resetWorkflowId } from '../../src/contract';
import { fakePlan } from '../support/fake-plan';
import { workflowBundlePath } from '../support/temporal';
import { dispatchByTarget, withTimeSkippingWorker } from '../support/time-skipping';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let env: TestWorkflowEnvironment;
const TASK_QUEUE = `unit-source-map-${randomUUID()}`;
const target = `srcmap-${randomUUID().slice(0, 8)}`;
let releaseBackup: () => void = () => undefined;
let backupCalled: () => void = () => undefined;
const backupStarted = new Promise<void>((r) => (backupCalled = r));

withTimeSkippingWorker({
  taskQueue: TASK_QUEUE,
  activities: () =>
    dispatchByTarget(['planReset', 'backupDatabase', 'acquireResetLock', 'releaseResetLock'], (t) =>
      t === target
        ? ({
            planReset: async () => fakePlan(t, { environment: 'development' }),
            acquireResetLock: async () => [],
            releaseResetLock: async () => ({ released: 1 }),
            // The run waits here until the test has read its stack trace.
            backupDatabase: () => {
              backupCalled();
              return new Promise((r) => (releaseBackup = () => r(undefined)));
            },
          } as unknown as Partial<Activities>)
        : undefined,
    ),
  ready: (e) => (env = e),
  beforeShutdown: () => releaseBackup(),
});

/** The bundle's inline map: its generated column of every segment, line by line. */
function generatedColumns(code: string): number[] {
  const at = code.lastIndexOf('//# sourceMappingURL=data:');
  const map = JSON.parse(Buffer.from(code.slice(code.indexOf('base64,', at) + 7).trimEnd(), 'base64').toString());
  const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const columns: number[] = [];
  for (const line of (map.mappings as string).split(';')) {
    let column = 0;
    for (const segment of line ? line.split(',') : []) {
      // The segment's first VLQ field: its generated column, relative to the previous segment's.
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const d = digits.indexOf(ch);
        value += (d & 31) << shift;
        if (!(d & 32)) break;
        shift += 5;
      }
      column += value & 1 ? -(value >> 1) : value >> 1;
      columns.push(column);
    }
  }
  return columns;
}

test('the bundle maps lines, not columns: one segment per generated line, at its start', async () => {
  const columns = generatedColumns(fs.readFileSync(await workflowBundlePath(), 'utf8'));
  expect(columns.length).toBeGreaterThan(1000);
  expect(columns.filter((c) => c !== 0)).toEqual([]);
});

test("a waiting run's stack trace names the TypeScript file and line it waits in, in both of its forms", async () => {
  const h = await env.client.workflow.start('productionDataReset', {
    taskQueue: TASK_QUEUE,
    workflowId: resetWorkflowId(target),
    args: [{ target, mode: 'execute', confirmation: 'phonefin_production' }],
  });
  try {
    await backupStarted;
    const trace = await h.query<string>('__stack_trace');
    expect(trace).toMatch(/\/src\/workflows\/runbook\.ts:\d+/);
    // The Web UI's Stack Trace tab: each frame's file and line, structured.
    const enhanced = await h.query<{ stacks: { locations: { file_path?: string; line?: number }[] }[] }>(
      '__enhanced_stack_trace',
    );
    const frames = enhanced.stacks.flatMap((s) => s.locations);
    const inRunbook = frames.filter((l) => l.file_path?.endsWith('/src/workflows/runbook.ts'));
    expect(inRunbook.length).toBeGreaterThan(0);
    for (const l of inRunbook) expect(l.line).toBeGreaterThan(0);
  } finally {
    await h.terminate('test done');
    releaseBackup();
  }
});
