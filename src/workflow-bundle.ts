/**
 * Which prebuilt workflow bundle the worker runs (RR_WORKFLOW_BUNDLE), so that it starts without
 * webpack: the image builds both variants into one folder (scripts/build-workflow-bundle.ts --dir)
 * and the worker takes the one that matches RR_CODEC_KEYS. Unset: the worker bundles src/workflows
 * itself at start (development).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BundleOptions } from '@temporalio/worker';
import { CODEC_KEYS_ENV, EncryptionConfigError } from './encryption/keys';
import { ENCODED_FAILURES_MARK } from './encryption/failure-converter';

export const BUNDLE_ENV = 'RR_WORKFLOW_BUNDLE';

/** The two variants' file names in a bundle folder. */
export const BUNDLE_FILES = {
  plain: 'workflow-bundle.js',
  // With RR_CODEC_KEYS: failure messages move into encoded (sealed) attributes inside the sandbox too.
  encodedFailures: 'workflow-bundle.encoded-failures.js',
} as const;

export class WorkflowBundleError extends Error {}

/**
 * Bundled with the workflows in every variant, tracing on or off: the SDK's OpenTelemetry interceptors
 * (a span for the run and for each activity it schedules). Workflow code must not depend on a
 * worker's settings, or a run would replay differently on a worker started otherwise; so the spans are
 * always made, and the worker decides whether they leave (src/observability/worker-tracing.ts).
 */
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/**
 * Every bundle's source map maps lines, not columns ("cheap"), through the compilers' own maps
 * ("module"), inline as the SDK requires. A workflow thread parses the whole map the first time it takes
 * a stack trace, which the SDK does for every promise: with columns that was ~21 MiB and ~25 ms of a fresh
 * worker's first workflow task (86,000 segments), line by line ~12 MiB and ~13 ms (19,000). A stack
 * trace still names the TypeScript file and line (test/unit/workflow-source-map.test.ts), and the map
 * keeps the sources for a debugger. For the prebuilt bundles, the tests' and the worker's own.
 */
export const WORKFLOW_SOURCE_MAP = 'inline-cheap-module-source-map';
export const lineSourceMaps: NonNullable<BundleOptions['webpackConfigHook']> = (config) => ({
  ...config,
  devtool: WORKFLOW_SOURCE_MAP,
});

/** What every prebuilt bundle is built with, beside its workflows' path: the image's and the tests' alike. */
export const WORKFLOW_BUNDLE_OPTIONS = {
  workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
  webpackConfigHook: lineSourceMaps,
} satisfies Partial<BundleOptions>;

/** undefined: no prebuilt bundle, bundle at start. */
export function prebuiltWorkflowBundle(env: NodeJS.ProcessEnv, encrypted: boolean): string | undefined {
  const given = env[BUNDLE_ENV]?.trim();
  if (!given) return undefined;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(given);
  } catch (err) {
    throw new WorkflowBundleError(
      `${BUNDLE_ENV}=${given}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  const file = stat.isDirectory()
    ? path.join(given, encrypted ? BUNDLE_FILES.encodedFailures : BUNDLE_FILES.plain)
    : given;
  let code: string;
  try {
    code = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new WorkflowBundleError(
      `${BUNDLE_ENV}=${given}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err}); build it with scripts/build-workflow-bundle.ts --dir ${given}`,
    );
  }
  // The workflow's own failures are converted inside the bundle: a bundle built without the encoding
  // failure converter would write failure messages in clear, so refuse it rather than leak.
  if (encrypted && !code.includes(ENCODED_FAILURES_MARK)) {
    throw new EncryptionConfigError(
      `${CODEC_KEYS_ENV} is set but the workflow bundle ${file} was built without the encoding failure converter: ` +
        `rebuild it with ${CODEC_KEYS_ENV} set (scripts/build-workflow-bundle.ts), use a bundle folder (scripts/build-workflow-bundle.ts --dir), or unset ${BUNDLE_ENV}`,
    );
  }
  return file;
}
