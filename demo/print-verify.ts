/**
 * Prints a finished reset's verify report exactly in the runbook's expected-output form
 * (`Users: 6` …), read from the run's result (used by scripts/demo).
 */
import { Client, Connection } from '@temporalio/client';
import type { ResetResult } from '../src/contract';

async function main() {
  const id = process.argv[2] ?? 'reset-demo';
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  try {
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    const r = (await client.workflow.getHandle(id).result()) as ResetResult;
    process.stdout.write(`${r.verify?.report ?? '(no verify report)'}\n`);
  } finally {
    await connection.close();
  }
}
main().catch((e) => {
  process.stderr.write(`print-verify: ${e.message}\n`);
  process.exit(1);
});
