/**
 * Temporal helpers for tests: a workflow bundle built once per content of what it bundles (src/workflows,
 * src/contract, src/config's plain defaults and rules, src/encryption; bundling takes seconds and tests
 * start many workers), and a connection to the stack's Temporal server.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workerTracing } from '../../src/observability/worker-tracing';
import { WORKFLOW_BUNDLE_OPTIONS, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_SOURCE_MAP } from '../../src/workflow-bundle';

const ROOT = path.resolve(__dirname, '..', '..');

function sourceHash(extraDir?: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const f of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else h.update(p).update(fs.readFileSync(p));
    }
  };
  walk(path.join(ROOT, 'src', 'workflows'));
  // What workflow code imports: a change there changes the bundle too.
  walk(path.join(ROOT, 'src', 'contract'));
  walk(path.join(ROOT, 'src', 'config'));
  walk(path.join(ROOT, 'src', 'encryption'));
  if (extraDir) walk(extraDir);
  h.update(JSON.stringify(WORKFLOW_INTERCEPTOR_MODULES)).update(WORKFLOW_SOURCE_MAP);
  return h.digest('hex').slice(0, 16);
}

/**
 * `encodedFailures`: the bundle for workers with RR_CODEC_KEYS (failure messages in encoded attributes).
 * `workflowsPath`: a test's own workflows module instead of src/workflows/index.ts (its folder is hashed too).
 */
export async function workflowBundlePath(
  opts: { encodedFailures?: boolean; workflowsPath?: string } = {},
): Promise<string> {
  const own = opts.workflowsPath ? `-${path.basename(path.dirname(opts.workflowsPath))}` : '';
  const file = path.join(
    os.tmpdir(),
    `reset-runbook-bundle${own}-${sourceHash(opts.workflowsPath && path.dirname(opts.workflowsPath))}${opts.encodedFailures ? '-encoded-failures' : ''}.js`,
  );
  if (!fs.existsSync(file)) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: opts.workflowsPath ?? path.join(ROOT, 'src', 'workflows', 'index.ts'),
      ...WORKFLOW_BUNDLE_OPTIONS,
      ...(opts.encodedFailures
        ? { failureConverterPath: path.join(ROOT, 'src', 'encryption', 'failure-converter.ts') }
        : {}),
    });
    fs.writeFileSync(`${file}.tmp`, code);
    fs.renameSync(`${file}.tmp`, file);
  }
  return file;
}

/**
 * A test worker's `sinks`: the bundled workflows always make spans (src/workflow-bundle.ts), and a
 * worker without the sink logs an error for each; this one drops them, as a worker with tracing off does.
 */
export function droppedSpans() {
  return workerTracing({}).sinks;
}

export function temporalAddress(): string {
  const a = process.env.TEMPORAL_ADDRESS;
  if (!a)
    throw new Error(
      'TEMPORAL_ADDRESS is not set: run the tests with scripts/test (it starts the stack), or eval "$(scripts/stack env)"',
    );
  return a;
}

export const REPO_ROOT = ROOT;
