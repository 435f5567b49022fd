/**
 * Every signal and query of our workflows, by name and argument type: the workflow sets handlers for
 * them and the CLI and tests send them, so both read the same definition. `defineSignal`/`defineQuery`
 * are exported by @temporalio/workflow only (not @temporalio/common); they build plain objects and are
 * safe to import outside the sandbox.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ChildReport, FleetApproveArgs, FleetProgress } from './fleet';
import type { AbortArgs, ApproveArgs, Progress, RejectArgs } from './reset';

export const approveSignal = defineSignal<[ApproveArgs]>('approve');
export const rejectSignal = defineSignal<[RejectArgs]>('reject');
export const retrySignal = defineSignal<[]>('retry');
export const abortSignal = defineSignal<[AbortArgs]>('abort');
export const progressQuery = defineQuery<Progress>('progress');

// A fleet's: the same names as a reset's approve/abort/progress, with the fleet's arguments.
export const fleetApproveSignal = defineSignal<[FleetApproveArgs]>('approve');
export const fleetAbortSignal = defineSignal<[AbortArgs]>('abort');
export const childReportSignal = defineSignal<[ChildReport]>('childReport');
export const fleetProgressQuery = defineQuery<FleetProgress>('progress');
