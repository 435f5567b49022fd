/**
 * reset: our resetDatabase activity (the manifest of blob keys, the plan re-checked, counts, TRUNCATE +
 * seeds) vs. bare `psql`: one transaction with TRUNCATE of the same tables and the seeds. The database is
 * re-created from the template before every run.
 */
import { runActivity, timed } from '../lib/activities';
import type { BenchContext } from '../lib/context';
import { recreateDatabase } from '../lib/fixture';
import { psqlTruncateAndSeed, tablesToTruncate } from '../lib/peers';
import { figures, ratio, type Figures } from '../lib/stats';
import { Client } from 'pg';

export interface ResetFigures {
  oursSeconds: Figures;
  peerSeconds: Figures;
  ratio: number;
  rowsTruncated: number;
}

export async function resetCase(ctx: BenchContext): Promise<ResetFigures> {
  const f = ctx.run.fixture;
  const plan = await runActivity(ctx.acts.planReset, { target: ctx.run.name });
  const ours: number[] = [];
  const peer: number[] = [];
  let rows = 0;
  for (let i = 0; i < ctx.profile.dbRuns; i++) {
    await recreateDatabase(ctx.stack, f);
    const runId = `bench-reset-${Date.now()}-${i}`;
    const o = await timed(() =>
      runActivity(ctx.acts.resetDatabase, {
        target: ctx.run.name,
        runId,
        planDigest: plan.digest,
        backupCreatedAt: new Date().toISOString(),
        expectedBlobs: plan.blobs.count,
      }),
    );
    ours.push(o.seconds);
    rows = o.value.truncated?.rows ?? 0;
    await recreateDatabase(ctx.stack, f);
    const c = new Client({ connectionString: f.url });
    await c.connect();
    const tables = await tablesToTruncate(c).finally(() => c.end());
    const p = await timed(() => psqlTruncateAndSeed(ctx.stack.pgBin, f.url, tables));
    peer.push(p.seconds);
    ctx.log(`reset ${i + 1}/${ctx.profile.dbRuns}: ours ${o.seconds.toFixed(2)} s, psql ${p.seconds.toFixed(2)} s`);
  }
  await recreateDatabase(ctx.stack, f);
  const of = figures(ours);
  const pf = figures(peer);
  return { oursSeconds: of, peerSeconds: pf, ratio: ratio(of, pf), rowsTruncated: rows };
}
