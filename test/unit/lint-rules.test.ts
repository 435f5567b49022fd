/**
 * The lint rules that keep workflow code deterministic and bundleable (eslint.config.mjs), tried on
 * text given to ESLint's CLI as if it were a file at that path: the rules must fire in src/workflows
 * and only there; and a forgotten await is an error wherever it is. And the layers: which
 * folder of src/ may import which, the contract (src/contract) importing nothing of ours.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');
const ESLINT = path.join(REPO, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface Message {
  ruleId: string | null;
  line: number;
  message: string;
}

/** Lints `text` as the file `asFile`, without the rules that need a TypeScript program (those take ~10 s). */
function lint(asFile: string, text: string): Message[] {
  const untyped = [
    '--parser-options',
    'projectService:false',
    '--rule',
    '{"@typescript-eslint/no-floating-promises":"off","@typescript-eslint/no-deprecated":"off"}',
  ];
  const args = [ESLINT, '--format', 'json', '--stdin', '--stdin-filename', asFile, ...untyped];
  const r = spawnSync(process.execPath, args, { cwd: REPO, input: text, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`eslint exited ${r.status}: ${r.stderr}`);
  const [result] = JSON.parse(r.stdout) as { messages: Message[] }[];
  return result.messages;
}

const linesOf = (messages: Message[], rule: string) => messages.filter((m) => m.ruleId === rule).map((m) => m.line);

const WORKFLOW_TEXT = [
  "import * as fs from 'node:fs';", // 1: Node built-in
  "import { createHash } from 'crypto';", // 2: Node built-in without the node: prefix
  "import { readBlobs } from '../activities/lib/blobs';", // 3: an activity-side value
  "import type { Activities } from '../activities';", // 4: a type only: allowed
  "import { sleep } from '@temporalio/workflow';", // 5: allowed
  'export async function wf(a: Activities): Promise<number> {',
  '  await sleep(1);',
  "  const env = process.env.HOME ?? '';", // 8: process
  '  const ref = new WeakRef({});', // 9: throws in the sandbox
  '  void [fs, createHash, readBlobs, a, env, ref];',
  '  return Date.now() + Math.random();', // 11: deterministic in workflows (SDK overrides): allowed
  '}',
  '',
].join('\n');

describe('workflow code (src/workflows)', () => {
  const messages = lint('src/workflows/lint-fixture.ts', WORKFLOW_TEXT);

  test('may not import Node built-ins, with or without node:, nor values from activity-side modules', () => {
    expect(linesOf(messages, 'no-restricted-imports')).toEqual([1, 2, 3]);
  });

  test('may not use globals that the sandbox lacks or that are not deterministic', () => {
    expect(linesOf(messages, 'no-restricted-globals')).toEqual([8, 9]);
  });

  test('may use Date.now() and Math.random(), which the SDK makes deterministic, and nothing else is reported', () => {
    expect(
      messages.filter((m) => m.ruleId !== 'no-restricted-imports' && m.ruleId !== 'no-restricted-globals'),
    ).toEqual([]);
  });
});

test('the same text outside src/workflows (an activity) is allowed its Node APIs', () => {
  expect(lint('src/activities/lint-fixture.ts', WORKFLOW_TEXT)).toEqual([]);
});

test('a promise neither awaited nor handled is an error everywhere, with the type information the rule needs', () => {
  // Linting a typed sample takes a whole TypeScript program (~10 s of CPU); `npm run lint` does that on the
  // real tree, so here the configuration that the lint of each kind of file gets is read instead.
  for (const file of [
    'src/workflows/runbook.ts',
    'src/activities/plan.ts',
    'src/cli/index.ts',
    'test/unit/lint-rules.test.ts',
  ]) {
    const r = spawnSync(process.execPath, [ESLINT, '--print-config', file], { cwd: REPO, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const config = JSON.parse(r.stdout) as {
      rules: Record<string, unknown[]>;
      languageOptions: { parserOptions?: { projectService?: unknown } };
    };
    expect([file, config.rules['@typescript-eslint/no-floating-promises']?.[0]]).toEqual([file, 2]);
    expect([file, Boolean(config.languageOptions.parserOptions?.projectService)]).toEqual([file, true]);
  }
});

// One text, linted as a file of each layer: which of its imports each layer's rule refuses.
const LAYER_TEXT = [
  "import { productionDataReset } from '../../workflows/runbook';", // 1: workflow code, from two levels down
  "import type { resetFleet } from '../workflows';", // 2: a workflow function's type only
  "import { formatTime } from '../cli/format';", // 3: the CLI
  "import { createActivities } from '../activities';", // 4: the activities
  "import { STEPS } from './steps';", // 5: a sibling (in src/contract: another contract file)
  "import { defineSignal, condition } from '@temporalio/workflow';", // 6: define* is the contract's; condition is not
  "import { ApplicationFailure } from '@temporalio/common';", // 7: allowed everywhere
  "import { Client } from 'pg';", // 8: a package the contract may not use (nor workflows)
  "import { TASK_QUEUE } from '../contract';", // 9: every layer reads the contract
  "import { metricsTelemetryOptions } from '../observability/metrics';", // 10: the worker's metrics endpoint
  "import { tracingFromEnv } from '../observability/tracing';", // 11: traces (the CLI's own spans too)
  'void [productionDataReset, formatTime, createActivities, STEPS, defineSignal, condition, ApplicationFailure, Client, TASK_QUEUE, metricsTelemetryOptions, tracingFromEnv];',
  'export type F = typeof resetFleet;',
  '',
].join('\n');

describe('layers: each folder of src/ imports only what its rule allows', () => {
  const refused = (file: string) => linesOf(lint(file, LAYER_TEXT), 'no-restricted-imports');

  test('src/contract imports nothing of ours, and of packages only @temporalio/common and defineSignal/defineQuery', () => {
    expect(refused('src/contract/lint-fixture.ts')).toEqual([1, 2, 3, 4, 6, 8, 9, 10, 11]);
  });
  test('src/activities imports neither workflow code (not even types) nor the CLI nor observability', () => {
    expect(refused('src/activities/lib/lint-fixture.ts')).toEqual([1, 2, 3, 10, 11]);
  });
  test('src/cli imports no workflow code (a workflow function type is allowed), not the activities, of observability only tracing', () => {
    expect(refused('src/cli/commands/lint-fixture.ts')).toEqual([1, 4, 10]);
  });
  test("src/observability (the worker's logs and metrics) imports neither workflow code (not even types) nor the CLI", () => {
    expect(refused('src/observability/lint-fixture.ts')).toEqual([1, 2, 3]);
  });
  test('src/config imports no workflow code and not observability', () => {
    expect(refused('src/config/lint-fixture.ts')).toEqual([1, 2, 10, 11]);
  });
  test('src/workflows imports nothing of the CLI or observability, not even types, and only types of the activities', () => {
    expect(refused('src/workflows/lint-fixture.ts')).toEqual([3, 4, 8, 10, 11]);
  });
});
