/**
 * purge: our purgeStorage activity on the manifest of a reset (resetDatabase, not timed) vs. DeleteObjects
 * by key, 1,000 a call (the script's way: the blobs' keys plus one listing of `variants/`), vs. one
 * DeleteObject per key (purge_later's way; on a subset, scaled to the whole set). Then the same with the
 * bucket also holding 5× as many unrelated objects, which neither side may touch: our time must not grow.
 * The database is re-created and the deleted objects are put back before every run.
 */
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { putObjects } from '../../demo/lib/objects';
import { runActivity, timed } from '../lib/activities';
import type { BenchContext } from '../lib/context';
import { recreateDatabase, recreateObjects } from '../lib/fixture';
import { deleteByKey, deleteOneByOne } from '../lib/peers';
import type { RequestCounts } from '../lib/s3-counter';
import { figures, ratio, type Figures } from '../lib/stats';

export interface PurgeSide {
  oursSeconds: Figures;
  peerSeconds: Figures;
  ratio: number;
}

export interface PurgeFigures extends PurgeSide {
  objects: number;
  /** purge_later's way, measured on `measuredKeys` keys and scaled to `objects`. */
  oneByOneSeconds: number;
  oneByOne: { measuredKeys: number; measuredSeconds: number; scaledTo: number };
  /** S3 requests of our last purge (bucket holding only the app's objects) and of the peer's. */
  requests: {
    ours: RequestCounts;
    peer: RequestCounts;
    oursPer1000Deleted: number;
    oursPer1000WithoutVariantsListing: number;
  };
  /** The same with the bucket also holding `unrelatedObjects` objects that must stay. */
  withUnrelated: PurgeSide & { unrelatedObjects: number; oursRequests: RequestCounts; flatness: number };
}

/** Keys that look like blob keys (28 hex characters) but that no blob names: spread over the whole key space. */
function unrelatedKeys(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    createHash('sha256').update(`bench-unrelated-${i}`).digest('hex').slice(0, 28),
  );
}

export async function purgeCase(ctx: BenchContext): Promise<PurgeFigures> {
  const t = ctx.purge;
  const f = t.fixture;
  const plan = await runActivity(ctx.acts.planReset, { target: t.name });
  let fresh = true; // the objects are all there right after the load
  const prepare = async () => {
    await recreateDatabase(ctx.stack, f);
    if (!fresh) await recreateObjects(f);
    fresh = false;
  };

  const ourRun = async (label: string) => {
    await prepare();
    const runId = `bench-purge-${Date.now()}`;
    await runActivity(ctx.acts.resetDatabase, {
      target: t.name,
      runId,
      planDigest: plan.digest,
      backupCreatedAt: new Date().toISOString(),
      expectedBlobs: plan.blobs.count,
    });
    ctx.counter.reset();
    const o = await timed(() =>
      runActivity(ctx.acts.purgeStorage, { target: t.name, runId, expectedObjects: f.doomedKeys.length }),
    );
    if (o.value.deleted !== f.doomedKeys.length)
      ctx.log(`WARNING: our purge deleted ${o.value.deleted} objects, ${f.doomedKeys.length} expected`);
    ctx.log(
      `purge ${label}: ours ${o.seconds.toFixed(2)} s, ${o.value.deleted} deleted, ${ctx.counter.counts.total} S3 requests`,
    );
    return { seconds: o.seconds, deleted: o.value.deleted, requests: { ...ctx.counter.counts } };
  };
  const peerRun = async (label: string) => {
    await prepare();
    const c = new Client({ connectionString: f.url });
    await c.connect();
    const blobKeys = await c
      .query(`SELECT key FROM active_storage_blobs`)
      .then((r) => r.rows.map((x) => x.key as string))
      .finally(() => c.end());
    ctx.counter.reset();
    const p = await timed(() => deleteByKey(ctx.s3, f.bucket, blobKeys));
    ctx.log(
      `purge ${label}: DeleteObjects by key ${p.seconds.toFixed(2)} s, ${p.value} deleted, ${ctx.counter.counts.total} S3 requests`,
    );
    return { seconds: p.seconds, requests: { ...ctx.counter.counts } };
  };
  const interleave = async (label: string) => {
    const ours: number[] = [];
    const peer: number[] = [];
    let last: Awaited<ReturnType<typeof ourRun>> | undefined;
    let lastPeer: Awaited<ReturnType<typeof peerRun>> | undefined;
    for (let i = 0; i < ctx.profile.runs; i++) {
      last = await ourRun(`${label} ${i + 1}/${ctx.profile.runs}`);
      ours.push(last.seconds);
      lastPeer = await peerRun(`${label} ${i + 1}/${ctx.profile.runs}`);
      peer.push(lastPeer.seconds);
    }
    const of = figures(ours);
    const pf = figures(peer);
    return { side: { oursSeconds: of, peerSeconds: pf, ratio: ratio(of, pf) }, last: last!, lastPeer: lastPeer! };
  };

  const alone = await interleave('(bucket: the app only)');

  // purge_later's way, on a subset: ~250 DeleteObject/s on moto would make the whole set take minutes.
  await prepare();
  const subset = f.doomedKeys.slice(0, Math.min(ctx.profile.oneByOneKeys, f.doomedKeys.length));
  const one = await timed(() => deleteOneByOne(ctx.s3, f.bucket, subset));
  const oneByOneSeconds = Math.round(((one.seconds * f.doomedKeys.length) / subset.length) * 100) / 100;
  ctx.log(
    `purge one by one: ${subset.length} keys in ${one.seconds.toFixed(2)} s → ${oneByOneSeconds} s for ${f.doomedKeys.length}`,
  );

  const unrelated = unrelatedKeys(5 * f.doomedKeys.length);
  ctx.log(`purge: putting ${unrelated.length} unrelated objects in ${f.bucket} ...`);
  await putObjects(
    f.s3,
    f.bucket,
    unrelated.map((k) => ({ storedKey: k, bodyKey: k })),
    32,
  );
  const crowded = await interleave(`(bucket: + ${unrelated.length} unrelated)`);

  const variants = alone.last.requests.listVariants;
  const per1000 = (n: number) => Math.round((n / Math.max(1, alone.last.deleted)) * 1000 * 100) / 100;
  return {
    ...alone.side,
    objects: f.doomedKeys.length,
    oneByOneSeconds,
    oneByOne: {
      measuredKeys: subset.length,
      measuredSeconds: Math.round(one.seconds * 1000) / 1000,
      scaledTo: f.doomedKeys.length,
    },
    requests: {
      ours: alone.last.requests,
      peer: alone.lastPeer.requests,
      oursPer1000Deleted: per1000(alone.last.requests.total),
      oursPer1000WithoutVariantsListing: per1000(alone.last.requests.total - variants),
    },
    withUnrelated: {
      ...crowded.side,
      unrelatedObjects: unrelated.length,
      oursRequests: crowded.last.requests,
      flatness: Math.round((crowded.side.oursSeconds.median / alone.side.oursSeconds.median) * 100) / 100,
    },
  };
}
