/** The fault suite's shared types and the demo's expected figures. */
import type { WorkflowHandle } from '@temporalio/client';
import type { productionDataReset } from '../../src/workflows';
import type { Suite } from './suite';

export type Handle = WorkflowHandle<typeof productionDataReset>;

export const EXPECTED_REPORT = [
  'Users: 6',
  'Phone Models: 10',
  'System Settings: 1',
  'Customers: 0',
  'Loans: 0',
  'Queue Jobs: 0',
].join('\n');
/** What the demo's seeds insert: more rows than this after a reset are duplicated seed rows. */
export const SEEDED: Record<string, number> = { users: 6, phone_models: 10, system_settings: 1 };
/** Tables the demo's reset keeps (Rails' own bookkeeping). */
export const KEPT_TABLES = ['ar_internal_metadata', 'schema_migrations'];

/** One scenario's figures: what the table adds up. */
export interface Outcome {
  scenario: string;
  kind: string;
  faults: number;
  expected: string;
  got: string;
  keptRowsLost: number;
  keptObjectsLost: number;
  droppedObjectsLeft: number;
  duplicateSeedRows: number;
  /** Worker death → the next activity attempt started on a live worker, per death (ms). */
  recoveryMs: number[];
  peakRssMb?: number;
  durationMs: number;
  /** Every check that did not hold (empty: the scenario passed). */
  problems: string[];
}

export interface Snapshot {
  counts: Map<string, number>;
  objects: Map<string, number>;
  blobKeys: Set<string>;
}

/** The switches a scenario flips: each wrapper reads its mode file at every call. */
export type Modes = {
  pgDump?: 'ok' | 'fail' | 'kill-once' | 'truncated-once' | `slow:${number}`;
  stop?: 'ok' | 'fail' | 'hang' | 'ignore-term';
  start?: 'ok' | 'fail' | 'fail-once' | 'no-heartbeat';
  /** slow: the SQL seeds begin with a 3 s pg_sleep (long enough to be caught). */
  seeds?: 'ok' | 'slow';
  /** slow-once: the restore's data stream stalls 4 s after its first 8 KiB, once (its session caught mid-load). */
  pgRestore?: 'ok' | 'slow-once';
};

export interface Job {
  name: string;
  run: (suite: Suite) => Promise<Outcome>;
}
