/**
 * Recorded histories for the replay test. `npm run replay:record` (scripts/record-histories: the
 * tests that call recordHistory() with RECORD_HISTORIES=1) rewrites those of today's code (files named
 * `v<version>.<name>--…` are kept from earlier versions, so runs that were in flight when that version
 * was replaced are proved to finish; `-- --keep v<version>` keeps today's that way first);
 * do that only for a deliberate, patched change of the workflow (docs/versioning.md),
 * never to make the replay test pass: a failing replay means runs in flight would break.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.resolve(__dirname, '..', 'replay', 'histories');

/** What a recorded history says in place of the checkout's folder (its failures' stack traces name files). */
const REPO_PLACEHOLDER = '<repo>';
const REPO = path.resolve(__dirname, '..', '..');

export async function recordHistory(name: string, h: WorkflowHandle): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  // The workflow id is part of the run's identity (an execute run checks it), and not in the events.
  for (const old of fs.readdirSync(HISTORIES_DIR))
    if (old.startsWith(`${name}--`)) fs.rmSync(path.join(HISTORIES_DIR, old));
  // The repository holds no path of the machine that recorded it.
  const json = historyToJSON(await h.fetchHistory())
    .split(REPO)
    .join(REPO_PLACEHOLDER);
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}--${h.workflowId}.json`), json);
}
