/**
 * The `temporal` and `tctl` lines of docs/operators/web-ui-and-temporal.md, as the tests run them: each fenced block
 * tagged ```sh op=<operation> tool=<temporal|tctl>, with the doc's example names (target "demo",
 * database "phonefin_production", task queue "reset-runbook") replaced by the test's own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from '../cli/harness';

export const OPERATIONS = [
  'plan',
  'start',
  'progress',
  'approve',
  'retry',
  'abort',
  'describe',
  'reset',
  'list',
] as const;
export type Operation = (typeof OPERATIONS)[number];
export type Tool = 'temporal' | 'tctl';

export function docCommands(
  file = path.join(REPO, 'docs', 'operators', 'web-ui-and-temporal.md'),
): Record<Tool, Partial<Record<Operation, string>>> {
  const text = fs.readFileSync(file, 'utf8');
  const out: Record<Tool, Partial<Record<Operation, string>>> = { temporal: {}, tctl: {} };
  for (const m of text.matchAll(/```sh op=(\w+) tool=(temporal|tctl)\n([\s\S]*?)```/g)) {
    const [, op, tool, body] = m;
    out[tool as Tool][op as Operation] = body.trim();
  }
  return out;
}

export interface Names {
  target: string;
  database: string;
  taskQueue: string;
  /** Makes the doc's plan-demo-1 id unique per tool. */
  planSuffix: string;
}

export function localize(line: string, n: Names): string {
  return line
    .replace(/plan-demo-1/g, `plan-${n.target}-${n.planSuffix}`)
    .replace(/reset-demo\b/g, `reset-${n.target}`)
    .replace(/"target":"demo"/g, `"target":"${n.target}"`)
    .replace(/ResetTarget='demo'/g, `ResetTarget='${n.target}'`)
    .replace(/phonefin_production/g, n.database)
    .replace(/--task-queue reset-runbook/g, `--task-queue ${n.taskQueue}`)
    .replace(/--taskqueue reset-runbook/g, `--taskqueue ${n.taskQueue}`);
}
