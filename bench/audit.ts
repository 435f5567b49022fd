/**
 * node --require tsx/cjs bench/audit.ts [--runs 200]
 *
 * How long `reset-runbook audit` takes per run: starts N plan-mode resets (cheap: an empty database, a
 * plan changes nothing) on the local stack (scripts/stack up, with the usual RR_* knobs), then times
 * the real CLI's `audit <target> --json` over them. Prints one line: runs, seconds, ms per run.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { WORKFLOW_TYPE, type ResetInput } from '../src/contract';
import { buildWorkerCode, startWorker } from './lib/worker-process';
import { databaseUrl, REPO, stackUp } from './lib/stack';

const log = (l: string) => process.stderr.write(`${l}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' } } });
  const n = Number(values.runs);
  const stack = stackUp(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-bench-audit-'));
  const name = `benchaudit${process.pid}`;
  const admin = new PgClient({ connectionString: stack.pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = databaseUrl(stack, name);
  const targetsFile = path.join(dir, 'targets.json');
  fs.writeFileSync(
    targetsFile,
    JSON.stringify({
      targets: { [name]: { database: { urlEnv: 'BENCH_AUDIT_URL' }, backup: { dir: path.join(dir, 'backups') } } },
    }),
  );
  const queue = `rr-bench-audit-${process.pid}`;
  const env = { BENCH_AUDIT_URL: url, RR_TASK_QUEUE: queue };
  const code = await buildWorkerCode(dir);
  const worker = await startWorker({ targetsFile, code, env, log: path.join(dir, 'worker.log') });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection, namespace: stack.namespace });
  try {
    const t0 = Date.now();
    let next = 0;
    const one = async () => {
      while (next < n) {
        const i = next++;
        const input: ResetInput = { target: name, mode: 'plan' };
        const h = await client.workflow.start(WORKFLOW_TYPE, {
          workflowId: `plan-${name}-${i}`,
          taskQueue: queue,
          args: [input],
        });
        await h.result();
      }
    };
    await Promise.all(Array.from({ length: 8 }, one));
    log(`${n} plan runs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Visibility is eventually consistent: wait until the list shows every run before timing.
    for (let seen = 0; seen < n;) {
      seen = (await client.workflow.count(`WorkflowType='${WORKFLOW_TYPE}' AND ResetTarget='${name}'`)).count;
      if (seen < n) await new Promise((r) => setTimeout(r, 500));
    }
    const cli = path.join(REPO, 'bin', 'reset-runbook');
    const a0 = Date.now();
    const out = execFileSync(cli, ['audit', name, '--since', '1d', '--json'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const s = (Date.now() - a0) / 1000;
    const rows = (JSON.parse(out) as unknown[]).length;
    const empty0 = Date.now();
    execFileSync(cli, ['audit', 'nosuchtarget', '--since', '1d', '--json'], { env: process.env, encoding: 'utf8' });
    const fixed = (Date.now() - empty0) / 1000;
    process.stdout.write(
      `audit: ${rows} runs in ${s.toFixed(2)} s (CLI start and connect alone: ${fixed.toFixed(2)} s); ` +
        `${(((s - fixed) * 1000) / rows).toFixed(1)} ms per run beyond that\n`,
    );
  } finally {
    await worker.stop();
    await connection.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
