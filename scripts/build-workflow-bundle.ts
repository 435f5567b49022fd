/**
 * Bundles the workflow code once, so tests and demos start workers quickly (RR_WORKFLOW_BUNDLE).
 * With RR_CODEC_KEYS set (encrypted history), the bundle carries the failure converter that moves
 * failure messages into encoded attributes; a worker with keys refuses a bundle without it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../src/encryption/data-converter';
import { CODEC_KEYS_ENV } from '../src/encryption/keys';

async function main() {
  const out = process.argv[2] ?? path.resolve(__dirname, '..', '.stack', 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: undefined,
    ...(process.env[CODEC_KEYS_ENV]?.trim() ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
  });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, code);
  console.log(out);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
