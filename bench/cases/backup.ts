/**
 * backup: our backupDatabase activity vs. bare `pg_dump -Fc` of the same database (read-only: nothing to re-create).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runActivity, timed } from '../lib/activities';
import type { BenchContext } from '../lib/context';
import { pgDump } from '../lib/peers';
import { figures, ratio, type Figures } from '../lib/stats';

export interface BackupFigures {
  oursSeconds: Figures;
  peerSeconds: Figures;
  ratio: number;
  dumpBytes: { ours: number; peer: number };
}

export async function backupCase(ctx: BenchContext): Promise<BackupFigures> {
  const ours: number[] = [];
  const peer: number[] = [];
  let bytes = { ours: 0, peer: 0 };
  const peerFile = path.join(ctx.dir, 'peer.dump');
  for (let i = 0; i < ctx.profile.dbRuns; i++) {
    const o = await timed(() => runActivity(ctx.acts.backupDatabase, { target: ctx.run.name }));
    ours.push(o.seconds);
    const p = await timed(() => pgDump(ctx.stack.pgBin, ctx.run.fixture.url, peerFile));
    peer.push(p.seconds);
    bytes = { ours: o.value.files[0].bytes, peer: fs.statSync(peerFile).size };
    ctx.log(`backup ${i + 1}/${ctx.profile.dbRuns}: ours ${o.seconds.toFixed(2)} s, pg_dump ${p.seconds.toFixed(2)} s`);
  }
  fs.rmSync(peerFile, { force: true });
  const of = figures(ours);
  const pf = figures(peer);
  return { oursSeconds: of, peerSeconds: pf, ratio: ratio(of, pf), dumpBytes: bytes };
}
