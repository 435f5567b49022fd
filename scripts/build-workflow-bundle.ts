/** Bundles the workflow code once, so tests and demos start workers quickly (RR_WORKFLOW_BUNDLE). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main() {
  const out = process.argv[2] ?? path.resolve(__dirname, '..', '.stack', 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: undefined });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, code);
  console.log(out);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
