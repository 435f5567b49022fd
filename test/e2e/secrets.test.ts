/**
 * Secrets in command output and child processes, tried as a new user would: a stop command that
 * prints its whole environment and fails. Neither the history (payloads decoded), nor the worker's
 * log, nor the CLI's status shows the database password (as written in the URL and percent-decoded),
 * PGPASSWORD, the S3 secret key or a variable the target marks secret; and the command's environment
 * holds nothing beyond the allow-list and what the target passes explicitly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TargetsFile } from '../../src/config/types';
import { BASE_ENV } from '../../src/activities/lib/child-env';
import { abortSignal } from '../../src/contract';
import { CLI, run } from '../cli/harness';
import { approveWhenAsked, waitFor } from '../support/drive';
import { fixture, type ResetFixture } from '../support/fixture';

let f: ResetFixture;
afterEach(async () => {
  await f?.cleanup();
});

/** Every byte string inside a history event (payload data), decoded, plus the event's own JSON. */
function historyText(x: unknown, out: string[] = []): string[] {
  if (x instanceof Uint8Array) out.push(Buffer.from(x).toString('utf8'));
  else if (Array.isArray(x)) for (const v of x) historyText(v, out);
  else if (x && typeof x === 'object') for (const v of Object.values(x)) historyText(v, out);
  else if (typeof x === 'string') out.push(x);
  return out;
}

test('a failing stop command that prints its environment leaks no secret anywhere, and sees only allow-listed variables', async () => {
  f = await fixture({ target: { timing: { maximumAttempts: 1, heartbeatTimeoutSeconds: 5 } } });
  const hex = randomBytes(4).toString('hex');
  // A password that needs percent-encoding in the URL: it shows up decoded when a program prints it.
  const password = `p@ss/${hex}:x`;
  const url = new URL(f.dbUrl);
  url.password = encodeURIComponent(password);
  const pgPassword = `pgpw-${hex}`;
  const s3Secret = `s3key-${hex}`;
  const stripe = `sk_live_${hex}`;
  const control = `CONTROL-${hex}`;
  const envFile = path.join(f.dir, 'stop-env.txt');

  const file = JSON.parse(fs.readFileSync(f.targetsFile, 'utf8')) as TargetsFile;
  const t = file.targets[f.target];
  t.secretEnv = ['STRIPE_KEY'];
  // What the target passes explicitly (the service's own variables are already there: DATABASE_URL, SQ_*).
  Object.assign(t.workers!.env!, {
    PGPASSWORD: '${PGPASSWORD}',
    AWS_SECRET_ACCESS_KEY: '${AWS_SECRET_ACCESS_KEY}',
    STRIPE_KEY: '${STRIPE_KEY}',
  });
  const decode = `node -e 'console.log(decodeURIComponent(new URL(process.env.DATABASE_URL).password))'`;
  t.workers!.stop = `env | tee ${envFile}; echo "${control} bare=$(${decode})"; echo "url=$DATABASE_URL pg=$PGPASSWORD s3=$AWS_SECRET_ACCESS_KEY stripe=$STRIPE_KEY"; exit 3`;
  fs.writeFileSync(f.targetsFile, JSON.stringify(file, null, 2));
  const explicit = Object.keys(t.workers!.env!);
  const secrets = [password, encodeURIComponent(password), url.toString(), pgPassword, s3Secret, stripe];

  expect(f.service('start')).toBe(0);
  const worker = await f.startWorker({
    E2E_DATABASE_URL: url.toString(),
    PGPASSWORD: pgPassword,
    AWS_SECRET_ACCESS_KEY: s3Secret,
    STRIPE_KEY: stripe,
    RR_TEST_CANARY: 'xyz',
  });
  const h = await f.start({ mode: 'execute' });
  await approveWhenAsked(h, f.dbName);
  const p = await waitFor(h, (x) => x.phase === 'waiting-for-operator');
  expect(p.waiting?.step).toBe('stopWorkers');

  // The command ran with only the allow-list and the target's explicit variables (the shell adds PWD, SHLVL, _).
  const printed = fs.readFileSync(envFile, 'utf8');
  const names = printed
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('=')[0]);
  expect(names).toContain('PATH');
  expect(names).not.toContain('RR_TEST_CANARY');
  expect(names).not.toContain('E2E_DATABASE_URL');
  expect(names).not.toContain('RESET_RUNBOOK_TARGETS');
  const allowed = new Set([...BASE_ENV, ...explicit, 'PWD', 'SHLVL', '_', 'OLDPWD']);
  expect(names.filter((n) => !allowed.has(n) && !n.startsWith('LC_'))).toEqual([]);
  // The command did see the secrets it was given (else the search below proves nothing).
  expect(printed).toContain(`STRIPE_KEY=${stripe}`);
  expect(printed).toContain(`PGPASSWORD=${pgPassword}`);

  const st = await run(CLI, ['status', h.workflowId], { env: { RR_TASK_QUEUE: f.taskQueue }, timeoutMs: 120_000 });
  await h.signal(abortSignal, { reason: 'test over', by: 'jest' });
  await h.result().catch(() => undefined);
  const history = historyText(await h.fetchHistory()).join('\n');

  // Non-vacuous: the command's output reached each place, redacted.
  expect(p.waiting?.error).toContain(control);
  expect(p.waiting?.error).toContain('stripe=[redacted]');
  expect(history).toContain(control);
  expect(history).toContain('bare=[redacted]');
  expect(st.stdout + st.stderr).toContain(control);
  const log = worker.log();
  expect(log).toContain(control);
  for (const s of secrets) {
    expect(history).not.toContain(s);
    expect(log).not.toContain(s);
    expect(st.stdout + st.stderr).not.toContain(s);
    expect(p.waiting?.error).not.toContain(s);
  }
  expect(f.service('status')).toBe(0);
});
