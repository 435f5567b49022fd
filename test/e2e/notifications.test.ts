/**
 * Notifications (issue 7, item 7): a run that waits for an operator, completes or fails posts a JSON
 * message with a Slack-compatible `text` to the target's webhooks, from an activity with retries; a
 * receiver that stays down never fails the run; no secret is in the message, the history or the log.
 * Real Temporal, PostgreSQL, S3 (moto), worker processes, and an HTTP receiver on 127.0.0.1:0.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { abortSignal, approveSignal, retrySignal, type NotifyMessage } from '../../src/contract';
import { waitFor } from '../support/drive';
import { serverHistoryText } from '../support/history-text';
import { fixture, type ResetFixture } from '../support/fixture';

interface Received {
  hook: string;
  status: number;
  body: NotifyMessage;
  raw: string;
}

/** Three webhooks: "ok" answers 200, "flaky" 500 on its first request only, "down" always 500. */
class Receiver {
  readonly token = `tok-${randomBytes(8).toString('hex')}`;
  readonly got: Received[] = [];
  private server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const hook = (req.url ?? '').split('/')[1];
      const status = hook === 'down' || (hook === 'flaky' && !this.got.some((g) => g.hook === 'flaky')) ? 500 : 200;
      this.got.push({ hook, status, body: JSON.parse(raw), raw });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  port = 0;

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }
  url(hook: string): string {
    return `http://127.0.0.1:${this.port}/${hook}/services/T000/B000/${this.token}`;
  }
  get env(): NodeJS.ProcessEnv {
    return { E2E_HOOK_OK: this.url('ok'), E2E_HOOK_FLAKY: this.url('flaky'), E2E_HOOK_DOWN: this.url('down') };
  }
  delivered(hook: string, event: string): Received[] {
    return this.got.filter((g) => g.hook === hook && g.status === 200 && g.body.event === event);
  }
  async waitFor(hook: string, event: string, ms = 60_000): Promise<NotifyMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.delivered(hook, event)[0];
      if (hit) return hit.body;
      if (Date.now() > deadline)
        throw new Error(
          `no "${event}" on ${hook}; got ${JSON.stringify(this.got.map((g) => [g.hook, g.status, g.body.event]))}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const WEBHOOKS = {
  webhooks: [
    { urlEnv: 'E2E_HOOK_OK' },
    { urlEnv: 'E2E_HOOK_FLAKY', events: ['completed' as const, 'failed' as const] },
    { urlEnv: 'E2E_HOOK_DOWN', events: ['completed' as const] },
  ],
};

let f: ResetFixture;
let rx: Receiver;
afterEach(async () => {
  await f?.cleanup();
  await rx?.close();
});

function expectNoSecret(texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(f.secret); // the database password (and the S3 secret key, s3-<secret>)
    expect(text).not.toContain(rx.token); // the webhook URLs' secret part
    expect(text).not.toContain(`127.0.0.1:${rx.port}`);
    expect(text).not.toContain('postgres://');
  }
}

test('waiting for approval and completing each post a message; a flaky webhook gets it once, a dead one never fails the run', async () => {
  rx = await new Receiver().listen();
  f = await fixture({ target: { notify: WEBHOOKS } });
  expect(f.service('start')).toBe(0);
  const worker = await f.startWorker(rx.env);
  const h = await f.start({ mode: 'execute', reason: 'e2e: notifications' });

  const asked = await rx.waitFor('ok', 'waitingForApproval');
  expect(asked).toEqual({
    event: 'waitingForApproval',
    target: f.target,
    runId: h.firstExecutionRunId,
    workflowId: h.workflowId,
    outcome: null,
    step: 'approval',
    text: expect.stringContaining(`Reset of "${f.target}" (database ${f.dbName}) waits for approval until`),
  });
  expect(asked.text).toContain(`reset-runbook approve ${h.workflowId}`);
  // Webhooks subscribed to other events hear nothing of the wait.
  expect(rx.got.filter((g) => g.hook !== 'ok')).toEqual([]);

  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  const r = await h.result();
  expect(r.outcome).toBe('completed');

  const done = await rx.waitFor('ok', 'completed');
  expect(done).toMatchObject({
    event: 'completed',
    outcome: 'completed',
    target: f.target,
    workflowId: h.workflowId,
    step: 'verify',
  });
  expect(done.text).toMatch(
    /^:white_check_mark: Reset of ".*" \(database .*\) completed: Users: 6, Phone Models: 10, .*; \d+ objects deleted\. Workers: started again\.$/,
  );
  // Delivered before the run returned; the flaky webhook's retry did not post to "ok" a second time.
  expect(rx.delivered('ok', 'completed')).toHaveLength(1);
  expect(rx.delivered('flaky', 'completed')).toHaveLength(1);
  expect(rx.got.filter((g) => g.hook === 'flaky' && g.status === 500)).toHaveLength(1);
  // "down" was tried on every attempt and never answered 200: logged, and the run completed anyway.
  expect(rx.got.filter((g) => g.hook === 'down').length).toBeGreaterThan(1);
  expect(rx.delivered('down', 'completed')).toHaveLength(0);
  expect(worker.log()).toMatch(/Notification not delivered after its retries; the run goes on/);
  expect(worker.log()).toMatch(/webhook 3 \(E2E_HOOK_DOWN\): HTTP 500/);

  const history = serverHistoryText(h.workflowId);
  expect(history).toContain('waits for approval until'); // the decoding works: the message is there…
  expectNoSecret([...rx.got.map((g) => g.raw), history, JSON.stringify(r), worker.log()]); // …its URL and the passwords are not
});

test('a failed run posts; so does a pause for an operator and an abort', async () => {
  rx = await new Receiver().listen();
  // A seed command that fails once the tables are truncated: the step waits for an operator.
  f = await fixture({
    seeds: 'command',
    target: {
      notify: WEBHOOKS,
      seedCommand: ['sh', '-c', 'echo "seeding with $DATABASE_URL failed" >&2; exit 3'],
      timing: { maximumAttempts: 1 },
    },
  });
  expect(f.service('start')).toBe(0);
  const worker = await f.startWorker(rx.env);

  // Failed: nobody approves within the timeout.
  const timedOut = await f.start({ mode: 'execute', approvalTimeout: '2s' });
  await expect(timedOut.result()).rejects.toThrow();
  const failed = await rx.waitFor('ok', 'failed');
  expect(failed).toMatchObject({
    event: 'failed',
    outcome: 'failed',
    step: 'approval',
    workflowId: timedOut.workflowId,
    runId: timedOut.firstExecutionRunId,
  });
  expect(failed.text).toMatch(
    /^:x: Reset of ".*" \(database .*\) failed at step "Approval": No approval within 2 seconds/,
  );
  expect((await rx.waitFor('flaky', 'failed')).event).toBe('failed');

  // Waiting for an operator after the seed command failed, then aborted.
  const h = await f.start({ mode: 'execute' });
  await waitFor(h, (p) => p.phase === 'awaiting-approval');
  await h.signal(approveSignal, { confirmation: f.dbName, by: 'jest' });
  await waitFor(h, (p) => p.phase === 'waiting-for-operator', 120_000);
  const paused = await rx.waitFor('ok', 'waitingForOperator');
  expect(paused).toMatchObject({ event: 'waitingForOperator', outcome: null, step: 'reset', workflowId: h.workflowId });
  expect(paused.text).toMatch(
    /^:warning: Reset of ".*" \(database .*\): step "3 Reset the database" failed after its retries: .*seeding with \[redacted\] failed .*truncate \+ seeds run again\)\. Workers: started again\. /,
  );
  expect(paused.text).toContain(`reset-runbook resume ${h.workflowId}`);
  // A retry that fails again pauses (and posts) again.
  await h.signal(retrySignal);
  await new Promise((r) => setTimeout(r, 500));
  await waitFor(
    h,
    (p) => p.phase === 'waiting-for-operator' && p.steps.find((s) => s.name === 'reset')!.attempts >= 2,
    120_000,
  );
  const deadline = Date.now() + 30_000;
  while (rx.delivered('ok', 'waitingForOperator').length < 2 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  expect(rx.delivered('ok', 'waitingForOperator')).toHaveLength(2);

  await h.signal(abortSignal, { reason: 'e2e over', by: 'jest' });
  await expect(h.result()).rejects.toThrow();
  const aborted = await rx.waitFor('ok', 'aborted');
  expect(aborted).toMatchObject({ event: 'aborted', outcome: 'aborted', step: 'reset' });
  expect(aborted.text).toMatch(/Aborted by jest: e2e over/);
  // "flaky" subscribed to completed and failed only.
  expect(
    rx.got
      .filter((g) => g.hook === 'flaky')
      .map((g) => g.body.event)
      .sort(),
  ).toEqual(['failed', 'failed']);

  expectNoSecret([
    ...rx.got.map((g) => g.raw),
    serverHistoryText(h.workflowId),
    serverHistoryText(timedOut.workflowId),
    worker.log(),
  ]);
});
