// ESLint, with the rules of temporalio/samples-typescript (their .eslintrc.js: eslint:recommended,
// typescript-eslint's recommended, prettier, no floating promises, no Node built-ins in workflow code),
// in flat-config form and with type information (no-floating-promises needs it).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// As in the samples: `assert` is the one built-in the workflow bundler provides.
const ALLOWED_NODE_BUILTINS = new Set(['assert']);
const NODE_BUILTINS = builtinModules.filter((m) => !ALLOWED_NODE_BUILTINS.has(m)).flatMap((m) => [m, `node:${m}`]);

// Layers, so each can change without breaking the others. Every layer reads the contract (src/contract); besides that:
// the contract imports
// nothing of ours; activities, config and the CLI never import workflow code (the CLI may import a
// workflow function's type, erased at build, for `client.workflow.start<typeof productionDataReset>`);
// workflows import only types from activities (`Activities`) and nothing from the CLI; the CLI and
// the activities do not import each other; observability (the worker's logs and metrics) imports no workflow
// or CLI code, and only the worker imports it (the CLI its tracing, for its own spans). Relative specifiers, from any depth below src/<layer>/.
const LAYER = {
  workflows: '^(\\.\\./)+workflows(/|$)',
  observability: '^(\\.\\./)+observability(/|$)',
  observabilityButTracing: '^(\\.\\./)+observability(/(?!trac(es-url|ing)$)|$)',
  activities: '^(\\.\\./)+activities(/|$)',
  cli: '^(\\.\\./)+cli(/|$)',
  // The contract's files import one another ('./steps') and two packages, nothing else.
  notContract: '^(?!\\./[^/]+$|@temporalio/(common|workflow)$)',
};
const LAYER_MESSAGE =
  'Layers: read what layers share from src/contract; this layer may not import that one (eslint.config.mjs says which may).';
const layerRule = (...patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.stack/', 'test-results/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    languageOptions: {
      // scripts/*.ts are run by tsx and are outside tsconfig.json's program.
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/build-workflow-bundle.ts', 'scripts/render-dashboard.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Forgetting to await an activity, a signal handler's work or a client call loses it silently.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-deprecated': 'warn',
      'object-shorthand': ['error', 'always'],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox, bundled by webpack: no Node built-ins,
    // no activity-side packages (types only), no globals that differ between a run and its replay.
    // Date.now(), new Date(), Math.random() and setTimeout are allowed: the SDK replaces them with
    // workflow time, a seeded PRNG and durable timers (@temporalio/workflow lib/global-overrides.js).
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({
            name,
            message: 'Node built-ins are not available in workflow code: do this in an activity.',
          })),
          patterns: [
            {
              group: [
                '../activities',
                '../activities/*',
                '../config/*',
                '!../config/defaults',
                '!../config/rules',
                '../encryption/*',
                '@temporalio/activity',
                '@temporalio/client',
                '@temporalio/worker',
                'pg',
                '@aws-sdk/*',
              ],
              allowTypeImports: true,
              // config/defaults and config/rules are plain constants and checks with no imports, shared on purpose.
              message:
                'Workflow code may import only types from activity-side modules: their values pull Node APIs into the workflow bundle.',
            },
            // Layers: the CLI talks to workflows through the contract (src/contract), never their code, not even types.
            { regex: LAYER.cli, message: LAYER_MESSAGE },
            { regex: LAYER.observability, message: LAYER_MESSAGE },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'Buffer', 'require', '__dirname', '__filename', 'setImmediate', 'clearImmediate', 'crypto'].map(
          (name) => ({
            name,
            message: `${name} is not deterministic or not available in the workflow sandbox (use workflowInfo(), uuid4(), sleep() or an activity).`,
          }),
        ),
        ...['WeakRef', 'FinalizationRegistry'].map((name) => ({
          name,
          message: `${name} throws in workflows: garbage collection is not deterministic.`,
        })),
      ],
    },
  },
  {
    files: ['src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // defineSignal/defineQuery only: the rest of @temporalio/workflow works only inside a workflow.
          paths: [
            {
              name: '@temporalio/workflow',
              allowImportNames: ['defineSignal', 'defineQuery'],
              message: 'The contract takes only defineSignal/defineQuery from @temporalio/workflow.',
            },
          ],
          patterns: [
            {
              regex: LAYER.notContract,
              message:
                'src/contract imports nothing of ours and no package but @temporalio/common and @temporalio/workflow (define*): every layer, the workflow sandbox too, imports it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/activities/**/*.ts'],
    rules: {
      'no-restricted-imports': layerRule(
        { regex: LAYER.workflows, message: LAYER_MESSAGE },
        { regex: LAYER.cli, message: LAYER_MESSAGE },
        { regex: LAYER.observability, message: LAYER_MESSAGE },
      ),
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': layerRule(
        { regex: LAYER.workflows, allowTypeImports: true, message: LAYER_MESSAGE },
        { regex: LAYER.activities, message: LAYER_MESSAGE },
        // The CLI traces its own starts and signals: it may read tracing's settings and build a tracer, nothing else.
        { regex: LAYER.observabilityButTracing, message: LAYER_MESSAGE },
      ),
    },
  },
  {
    files: ['src/observability/**/*.ts'],
    rules: {
      'no-restricted-imports': layerRule(
        { regex: LAYER.workflows, message: LAYER_MESSAGE },
        { regex: LAYER.cli, message: LAYER_MESSAGE },
      ),
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': layerRule(
        { regex: LAYER.workflows, message: LAYER_MESSAGE },
        { regex: LAYER.observability, message: LAYER_MESSAGE },
      ),
    },
  },
);
