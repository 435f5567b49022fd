import { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPE, type ResetResult } from '../../contract';
import { parsePositiveInt } from '../args';
import { Command, checkTarget } from '../command';
import { renderRunList } from '../render-ending';
import { EXIT } from '../exit-codes';
import { failureDetails, failureText } from '../snapshot';
import { kindOf, RunSummary } from '../snapshot-model';
import { endReasonOf, leftStopped, shownOutcome } from '../workers-view';
import { deriveFromHistory } from '../history';
import { decodeRawPayloads } from '../../encryption/decode-raw';
import { listFleets, renderFleetList } from '../fleet-list';

export const listCommand: Command = {
  name: 'list',
  summary: 'Past and running resets, plans and fleets (with their children), newest first, with their outcome.',
  positionals: [{ name: 'target', required: false, description: 'only this target' }],
  options: {
    limit: { type: 'string', value: '<n>', description: 'at most this many runs (default 20)' },
    running: { type: 'boolean', description: 'only runs still running' },
  },
  async run(ctx, { args, opts }) {
    const target = args.target ? checkTarget(args.target) : undefined;
    const limit = opts.limit !== undefined ? parsePositiveInt(opts.limit as string, '--limit') : 20;
    const { client } = await ctx.connection();
    const runs = await listRuns(client, { target, limit, running: opts.running === true });
    await Promise.all(runs.map((r) => addEnding(client, r)));
    const fleets = await listFleets(client, { target, limit, running: opts.running === true });
    ctx.emit({
      target: target ?? null,
      runs: runs.map((r) => ({
        ...r,
        endReason: r.endReason ?? null,
        workers: r.workers ?? null,
        stillStopped: r.stillStopped ?? null,
      })),
      fleets,
    });
    ctx.print(renderRunList(runs, ctx.style));
    if (fleets.length) ctx.print(`\n${ctx.style.bold('Fleets')}\n${renderFleetList(fleets, ctx.style)}`);
    return EXIT.ok;
  },
};

/**
 * A failed reset's search attributes may not tell its whole ending (a run from before issue 7
 * kept outcome "planned" when it left the workers stopped): read its result, which does.
 */
export async function addEnding(client: Client, r: RunSummary): Promise<void> {
  if (r.kind === 'plan') return;
  if (r.status === 'TERMINATED' || r.status === 'TIMED_OUT') {
    // No ending was written: the history says whether it stopped the workers and never started them.
    const codecs = client.options.loadedDataConverter.payloadCodecs;
    const history = await client.workflow
      .getHandle(r.workflowId, r.runId)
      .fetchHistory()
      .then((h) => decodeRawPayloads(h, codecs))
      .catch(() => undefined);
    const events = history?.events ?? [];
    const stopped = leftStopped({ status: r.status, history: deriveFromHistory(events) });
    if (stopped) r.stillStopped = stopped;
    return;
  }
  if (r.status !== 'FAILED' && r.status !== 'COMPLETED') return;
  let result: ResetResult | undefined;
  let failure: string | undefined;
  try {
    result = (await client.workflow.getHandle(r.workflowId, r.runId).result()) as ResetResult;
  } catch (err) {
    failure = failureText(err);
    const d = failureDetails(err);
    if (d && typeof d === 'object' && 'outcome' in d && 'target' in d) result = d as ResetResult;
  }
  const stopped = leftStopped({ result, failure });
  if (result) r.outcome = shownOutcome(result, stopped) ?? r.outcome;
  if (result?.workers) r.workers = result.workers;
  r.endReason = endReasonOf({ result, failure });
  if (stopped) {
    r.stillStopped = stopped;
    if (!result) r.outcome = 'failed';
  }
}

function first(sa: unknown): string | undefined {
  return Array.isArray(sa) && sa.length ? String(sa[0]) : undefined;
}

export function summarize(info: WorkflowExecutionInfo): RunSummary {
  const sa = (info.searchAttributes ?? {}) as Record<string, unknown>;
  const target =
    first(sa[SEARCH_ATTRIBUTES.target]) ?? /^(?:reset|plan)-(.+?)(?:-\d{8}T\d{6,7})?$/.exec(info.workflowId)?.[1];
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    kind: kindOf(info.workflowId),
    target,
    status: info.status.name,
    outcome: first(sa[SEARCH_ATTRIBUTES.outcome]),
    step: first(sa[SEARCH_ATTRIBUTES.step]),
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
  };
}

/**
 * Runs of the runbook, by visibility query on the search attributes. A server where the search
 * attributes are not registered refuses the ResetTarget filter; then the runs are filtered by id.
 */
export async function listRuns(
  client: Client,
  { target, limit, running }: { target?: string; limit: number; running?: boolean },
): Promise<RunSummary[]> {
  const base = `WorkflowType='${WORKFLOW_TYPE}'${running ? ` AND ExecutionStatus='Running'` : ''}`;
  const collect = async (query: string, keep: (r: RunSummary) => boolean) => {
    const out: RunSummary[] = [];
    for await (const info of client.workflow.list({ query, pageSize: Math.min(1000, Math.max(limit * 2, 100)) })) {
      const r = summarize(info);
      if (keep(r)) out.push(r);
      if (out.length >= limit * 5) break;
    }
    return out;
  };
  let runs: RunSummary[];
  if (!target) runs = await collect(base, () => true);
  else {
    try {
      runs = await collect(`${base} AND ${SEARCH_ATTRIBUTES.target}='${target}'`, () => true);
    } catch (err) {
      if (!/search attribute|not defined|invalid query|unknown/i.test((err as Error).message)) throw err;
      runs = [];
    }
    // Runs started before the search attributes were set (or without them) are found by their id.
    const byId = await collect(base, (r) => r.target === target);
    const seen = new Set(runs.map((r) => r.runId));
    for (const r of byId) if (!seen.has(r.runId)) runs.push(r);
  }
  runs.sort((a, b) => b.startTime.localeCompare(a.startTime));
  return runs.slice(0, limit);
}
