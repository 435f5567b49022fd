/**
 * What the purge's unit tests give the activity: target "app" from a targets file, its database URL in
 * the environment, and a stand-in PostgreSQL whose blob table holds the rows the seeds made (the purge
 * reads them to keep their files).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { TargetConfig } from '../../src/config/types';
import type { ActivityDeps } from '../../src/activities/lib/target';
import { createStorageActivities, type PurgeResult } from '../../src/activities/storage';
import { fakePg } from './fake-pg';

/** A row of active_storage_blobs as the purge's query reads it (byte_size arrives as a string). */
export type BlobRowNow = { key: string; service: string; bytes: string };

export function purgeDeps(
  config: TargetConfig,
  o: { blobsNow?: BlobRowNow[]; s3?: () => S3Client } = {},
): ActivityDeps {
  const pg = fakePg([
    [/to_regclass\('active_storage_blobs'\)/, () => [{ ok: true }]],
    [/FROM active_storage_blobs/, () => [...(o.blobsNow ?? [])]],
  ]);
  return {
    targets: { file: '/t.json', targets: { app: config } },
    env: { APP_DB: 'postgres://app:pw@db/app' },
    pg: pg.factory,
    ...(o.s3 ? { s3: o.s3 } : {}),
  };
}

/** One attempt of purgeStorage for target "app", its expected failures' WARN lines left out. */
export function purgeOnce(deps: ActivityDeps, runId: string): Promise<PurgeResult> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  return env.run(createStorageActivities(deps).purgeStorage, { target: 'app', runId }) as Promise<PurgeResult>;
}
