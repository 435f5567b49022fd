import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import {
  FLEET_WORKFLOW_TYPE,
  RESTORE_WORKFLOW_TYPE,
  SEARCH_ATTRIBUTES,
  TARGET_KEY,
  WORKFLOW_TYPE,
} from '../../contract';
import { decodeRawPayloads } from '../../encryption/decode-raw';
import { AuditKind, AuditListed, AuditRow, auditRow, parseSince, renderAuditTable, toCsv } from '../audit';
import { Command, checkTarget } from '../command';
import { UsageError } from '../errors';
import { EXIT } from '../exit-codes';

/** Histories read at once: enough to hide the round trips, few enough not to load the server. */
const CONCURRENCY = 8;

export const auditCommand: Command = {
  name: 'audit',
  summary: 'Who started, approved, resumed, aborted, rejected and restored each run, with its outcome and backup.',
  positionals: [{ name: 'target', required: false, description: 'only this target (and fleets that reset it)' }],
  options: {
    since: {
      type: 'string',
      value: '<period|date>',
      description: 'runs started since then: 30d, 12h, 2w, or a date such as 2026-11-01 (default 30d)',
    },
    csv: { type: 'boolean', description: 'a CSV header and one row per run (approvers joined by ";")' },
  },
  details: `Reads Temporal's visibility (resets, plans, restores and fleets started since --since) and each run's
history: the close event's result and the signals the run received. --json prints an array of objects with fixed
keys. Payloads are decoded with RR_CODEC_KEYS when they are encrypted; no secret is ever shown.`,
  async run(ctx, { args, opts }) {
    const target = args.target ? checkTarget(args.target) : undefined;
    const since = parseSince((opts.since as string | undefined) ?? '30d');
    const csv = opts.csv === true;
    if (csv && ctx.json) throw new UsageError('--csv and --json: choose one');
    const { client } = await ctx.connection();
    const rows = await auditRuns(client, { target, since });
    if (csv) ctx.io.stdout.write(toCsv(rows));
    else {
      ctx.emit(rows);
      ctx.print(renderAuditTable(rows));
    }
    return EXIT.ok;
  },
};

function kindOf(info: WorkflowExecutionInfo): AuditKind {
  if (info.type === FLEET_WORKFLOW_TYPE) return 'fleet';
  if (info.type === RESTORE_WORKFLOW_TYPE) return 'restore';
  return info.workflowId.startsWith('plan-') ? 'plan' : 'reset';
}

function listed(info: WorkflowExecutionInfo): AuditListed {
  return {
    kind: kindOf(info),
    target: info.typedSearchAttributes?.get(TARGET_KEY),
    workflowId: info.workflowId,
    runId: info.runId,
    status: info.status.name,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
  };
}

async function list(client: Client, query: string): Promise<AuditListed[]> {
  const out: AuditListed[] = [];
  for await (const info of client.workflow.list({ query, pageSize: 1000 })) out.push(listed(info));
  return out;
}

/** Every run started since `since`, newest first, each made into its row from its history. */
export async function auditRuns(
  client: Client,
  { target, since }: { target?: string; since: Date },
): Promise<AuditRow[]> {
  const when = `StartTime >= '${since.toISOString()}'`;
  const runTypes = `(WorkflowType='${WORKFLOW_TYPE}' OR WorkflowType='${RESTORE_WORKFLOW_TYPE}')`;
  const runs = await list(
    client,
    `${runTypes} AND ${when}${target ? ` AND ${SEARCH_ATTRIBUTES.target}='${target}'` : ''}`,
  );
  const fleets = await list(client, `WorkflowType='${FLEET_WORKFLOW_TYPE}' AND ${when}`);
  const codecs = client.options.loadedDataConverter.payloadCodecs;
  const all = [...runs, ...fleets];
  const rows: (AuditRow | undefined)[] = new Array(all.length);
  let next = 0;
  const work = async () => {
    while (next < all.length) {
      const i = next++;
      const history = await client.workflow
        .getHandle(all[i].workflowId, all[i].runId)
        .fetchHistory()
        .then((h) => decodeRawPayloads(h, codecs));
      rows[i] = auditRow(all[i], history.events ?? []);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, all.length) }, work));
  const kept = rows.filter((r): r is AuditRow => !!r && (!target || r.kind !== 'fleet' || fleetTouches(r, target)));
  return kept.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

/** A fleet belongs to a target's trail when its result lists the target (fleets carry no ResetTarget). */
function fleetTouches(r: AuditRow, target: string): boolean {
  return r.fleetTargets?.includes(target) ?? false;
}
