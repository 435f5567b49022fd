/** plan: our planReset activity vs. an exact count(*) of every table (read-only: nothing to re-create). */
import { runActivity, timed } from '../lib/activities';
import type { BenchContext } from '../lib/context';
import { exactCounts } from '../lib/peers';
import type { RequestCounts } from '../lib/s3-counter';
import { figures, ratio, type Figures } from '../lib/stats';

export interface PlanFigures {
  oursSeconds: Figures;
  peerSeconds: Figures;
  ratio: number;
  /** S3 requests of one plan (the last run). */
  oursRequests: RequestCounts;
  tables: number;
}

export async function planCase(ctx: BenchContext): Promise<PlanFigures> {
  const ours: number[] = [];
  const peer: number[] = [];
  let requests = { ...ctx.counter.counts };
  let tables = 0;
  for (let i = 0; i < ctx.profile.dbRuns; i++) {
    ctx.counter.reset();
    const o = await timed(() => runActivity(ctx.acts.planReset, { target: ctx.run.name }));
    requests = { ...ctx.counter.counts };
    if (o.value.errors.length) throw new Error(`our plan has errors: ${o.value.errors.join('; ')}`);
    ours.push(o.seconds);
    const p = await timed(() => exactCounts(ctx.run.fixture.url));
    peer.push(p.seconds);
    tables = Object.keys(p.value).length;
    ctx.log(
      `plan ${i + 1}/${ctx.profile.dbRuns}: ours ${o.seconds.toFixed(2)} s (${requests.total} S3 requests), count(*) of ${tables} tables ${p.seconds.toFixed(2)} s`,
    );
  }
  const of = figures(ours);
  const pf = figures(peer);
  return { oursSeconds: of, peerSeconds: pf, ratio: ratio(of, pf), oursRequests: requests, tables };
}
