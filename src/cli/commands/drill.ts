import { WorkflowFailedError } from '@temporalio/client';
import { backupProof, DRILL_WORKFLOW_TYPE, drillWorkflowId, type BackupRecord, formatBytes } from '../../contract';
import { Command, checkTarget, taskQueueOf } from '../command';
import { EXIT } from '../exit-codes';
import { formatCount } from '../format';
import type { Style } from '../style';

/** The innermost failure's message: the activity's own words (which file, which table, what to do). */
function innermost(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && (e.cause as { message?: string } | undefined)?.message) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

function renderDrill(target: string, b: BackupRecord, style: Style): string {
  const out = [style.green(style.bold(`Restore drill of "${target}": ${backupProof(b)}`))];
  for (const f of b.files)
    out.push(`  backup (${f.database}): ${f.path} (${formatBytes(f.bytes)}, sha256 ${f.sha256.slice(0, 16)}…)`);
  for (const d of b.drill?.databases ?? []) {
    out.push(`  database "${d.database}": restored into "${d.scratch}" (dropped since) in ${d.restoreSeconds} s`);
    const w = Math.max(5, ...d.tables.map((t) => t.table.length));
    out.push(`    ${'table'.padEnd(w)}  ${'source'.padStart(12)}  ${'restored'.padStart(12)}`);
    for (const t of d.tables) {
      const line = `    ${t.table.padEnd(w)}  ${formatCount(t.source).padStart(12)}  ${formatCount(t.restored).padStart(12)}`;
      out.push(t.source === t.restored ? line : style.red(line));
    }
  }
  return out.join('\n') + '\n';
}

export const drillCommand: Command = {
  name: 'drill',
  summary: 'Prove a backup of <target> restores: back up now, restore into a scratch database, compare every table.',
  positionals: [{ name: 'target', required: true, description: "a target in the worker's targets file" }],
  options: {},
  details: `Takes a backup now (kept under backup.keep like a reset's), restores it into a scratch database on the
same server (<database>_rr_drill_<id>, dropped at the end whatever happens; the database user needs CREATEDB),
and compares every table's row count with the source's at the dump's snapshot. Changes nothing in the
target's database. Exit 0 when every table is equal, 1 otherwise (the message says what differed).`,
  async run(ctx, { args }) {
    const target = checkTarget(args.target!);
    const { client } = await ctx.connection();
    const handle = await client.workflow.start(DRILL_WORKFLOW_TYPE, {
      taskQueue: taskQueueOf(ctx.io.env),
      workflowId: drillWorkflowId(target),
      args: [{ target }],
    });
    ctx.note(
      `restore drill of "${target}" (workflow ${handle.workflowId}, run ${handle.firstExecutionRunId}): backing up, then restoring into a scratch database ...`,
    );
    let backup: BackupRecord;
    try {
      backup = (await handle.result()) as BackupRecord;
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const message = innermost(err);
      ctx.emit({
        workflowId: handle.workflowId,
        runId: handle.firstExecutionRunId,
        target,
        ok: false,
        message,
        exitCode: EXIT.failed,
      });
      ctx.note(ctx.errStyle.red(`Restore drill of "${target}" failed: ${message}`));
      return EXIT.failed;
    }
    ctx.emit({
      workflowId: handle.workflowId,
      runId: handle.firstExecutionRunId,
      target,
      ok: true,
      backup,
      exitCode: EXIT.ok,
    });
    ctx.print(renderDrill(target, backup, ctx.style));
    return EXIT.ok;
  },
};
