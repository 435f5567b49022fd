/**
 * Traces on the real stack: a worker and the CLI with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local
 * OTLP/HTTP receiver. A whole reset started and approved through the CLI is one trace: the CLI's start,
 * the run's span under it, a span for each step attempt under the run (target, step and attempt on it),
 * and each activity's spans under its step. No span carries the database URL, its password or the S3 key.
 */
import * as path from 'node:path';
import { run } from '../cli/harness';
import { fixture, type ResetFixture } from '../support/fixture';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { REPO_ROOT } from '../support/temporal';
import { stepOfActivity, TRACING } from '../../src/contract';

jest.setTimeout(300_000);

const CLI = path.join(REPO_ROOT, 'bin', 'reset-runbook');
const A = TRACING.attributes;

let f: ResetFixture;
let receiver: OtlpReceiver;
afterEach(async () => {
  await f?.cleanup();
  await receiver?.close();
});

test('one trace per run: CLI start → run → a span per step attempt → its activities; no secret in any span', async () => {
  receiver = new OtlpReceiver();
  const endpoint = await receiver.listen();
  f = await fixture();
  expect(f.service('start')).toBe(0);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
  const worker = await f.startWorker(otel);
  expect(worker.log()).toContain(`traces to ${endpoint}/v1/traces`);
  const cli = (args: string[]) => run(CLI, args, { env: { ...(f.workerEnv as Record<string, string>), ...otel } });

  const started = await cli(['start', f.target, '--detach', '--json', '--identity', 'alice@ops']);
  if (started.code !== 0) throw new Error(`start exited ${started.code}: ${started.stderr}${started.stdout}`);
  const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
  const h = f.client.workflow.getHandle(workflowId);
  for (let i = 0; ; i++) {
    const approved = await cli(['approve', f.target, '--confirm', f.dbName, '--identity', 'bob@ops']);
    if (approved.code === 0) break;
    if (i > 100) throw new Error(`approve kept failing: ${approved.stderr}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  const result = await h.result();
  expect(result.outcome).toBe('completed');
  const { runId } = await h.describe();
  // A graceful stop flushes the batched spans.
  await worker.kill('SIGTERM');

  const spans = receiver.spans;
  const runSpans = spans.filter((s) => s.name === 'RunWorkflow:productionDataReset' && s.attributes.runId === runId);
  expect(runSpans).toHaveLength(1);
  const runSpan = runSpans[0]!;
  expect(runSpan).toMatchObject({ service: 'reset-runbook-worker', attributes: { [A.target]: f.target } });

  // One trace: everything the run made is in it, and it starts at the CLI's start.
  const trace = spans.filter((s) => s.traceId === runSpan.traceId);
  // A signal or query belongs to its sender's trace (an approval is the approver's CLI call); all else is the run's.
  const handled = /^Handle(Signal|Query|Update):/;
  for (const s of spans.filter((x) => x.attributes.runId === runId && !handled.test(x.name)))
    expect({ name: s.name, traceId: s.traceId }).toEqual({ name: s.name, traceId: runSpan.traceId });
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const parent = (s: ReceivedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
  const root = parent(runSpan);
  expect(root).toMatchObject({ name: 'StartWorkflow:productionDataReset', service: 'reset-runbook-cli' });
  expect(root!.parentSpanId).toBeUndefined();

  // A span per step attempt, each a child of the run, named for its step, with target, step and attempt.
  const steps = trace.filter((s) => s.name.startsWith(TRACING.stepSpanPrefix));
  for (const s of steps) {
    expect(s.parentSpanId).toBe(runSpan.spanId);
    expect(s.attributes).toMatchObject({
      [A.target]: f.target,
      [A.step]: s.name.slice(TRACING.stepSpanPrefix.length),
      [A.attempt]: 1,
    });
  }
  expect(steps.map((s) => s.attributes[A.step]).sort()).toEqual(
    ['approval', 'backup', 'plan', 'purgeStorage', 'reset', 'startWorkers', 'stopWorkers', 'verify'].sort(),
  );
  // A step's activity ran inside that step's span: RunActivity (worker) ← StartActivity (workflow) ← step:<its step>.
  // The run's bookkeeping (its lock, notifications) sits directly under the run.
  const stepOf = stepOfActivity('reset');
  const ran = trace.filter((s) => s.name.startsWith('RunActivity:'));
  const placed = ran.map((s) => {
    const type = s.name.slice('RunActivity:'.length);
    const scheduled = parent(s);
    return { type, scheduled: scheduled?.name, under: parent(scheduled!)?.name };
  });
  expect(placed.filter((p) => stepOf[p.type]).length).toBeGreaterThanOrEqual(7);
  for (const p of placed)
    expect(p).toEqual({
      type: p.type,
      scheduled: `StartActivity:${p.type}`,
      under: stepOf[p.type] ? `${TRACING.stepSpanPrefix}${stepOf[p.type]}` : 'RunWorkflow:productionDataReset',
    });

  // The approval: the run's handling of the signal, under the approver's `approve` command.
  const approval = spans.find((s) => s.name === 'HandleSignal:approve' && s.attributes.runId === runId);
  expect(parent(approval!)).toMatchObject({ name: 'SignalWorkflow:approve', service: 'reset-runbook-cli' });

  // No secret, anywhere in what the receiver was sent.
  const sent = receiver.bodies.join('\n');
  expect(sent).toContain(f.target); // control: the spans do name what they should
  for (const secret of [f.dbUrl, f.secret, `s3-${f.secret}`]) expect(sent).not.toContain(secret);
});
