/**
 * Bundles the workflow code once, so workers start without webpack (RR_WORKFLOW_BUNDLE).
 *
 *   scripts/build-workflow-bundle.ts [out.js]    one bundle; with RR_CODEC_KEYS set, the encoding variant
 *   scripts/build-workflow-bundle.ts --dir <dir> both variants, as the worker image holds them
 *
 * The encoding variant carries the failure converter that moves failure messages into encoded
 * attributes (RR_CODEC_KEYS: encrypted history); a worker with keys refuses a bundle without it, and
 * given a folder it takes the variant that matches its keys (src/workflow-bundle.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../src/encryption/data-converter';
import { CODEC_KEYS_ENV } from '../src/encryption/keys';
import { BUNDLE_FILES, WORKFLOW_BUNDLE_OPTIONS } from '../src/workflow-bundle';

async function build(out: string, encodedFailures: boolean): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    ...WORKFLOW_BUNDLE_OPTIONS,
    logger: undefined,
    ...(encodedFailures ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
  });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  // Written whole or not at all: a worker never reads half a bundle.
  fs.writeFileSync(`${out}.tmp`, code);
  fs.renameSync(`${out}.tmp`, out);
  console.log(out);
}

async function main() {
  const [first, second] = process.argv.slice(2);
  if (first === '--dir') {
    if (!second) throw new Error('usage: scripts/build-workflow-bundle.ts --dir <dir>');
    await build(path.resolve(second, BUNDLE_FILES.plain), false);
    await build(path.resolve(second, BUNDLE_FILES.encodedFailures), true);
    return;
  }
  const out = first ?? path.resolve(__dirname, '..', '.stack', 'workflow-bundle.js');
  await build(out, !!process.env[CODEC_KEYS_ENV]?.trim());
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
