/** What every case gets: the stack, the fixtures and their targets, our activities, the counting proxy. */
import type { S3Client } from '@aws-sdk/client-s3';
import type { OurActivities } from './activities';
import type { S3Counter } from './s3-counter';
import type { BenchStack } from './stack';
import type { BenchTarget } from './target';

export interface Profile {
  /** "full" is the large scale's profile name in results before `--scale` existed; it is now "large". */
  name: 'quick' | 'large' | 'xlarge' | 's3-200k';
  /** Scale of the demo the backup, reset, plan and whole-run cases use. */
  runScale: number;
  /** Scale of the demo whose blobs the purge case deletes (44 objects to delete per scale unit). */
  purgeScale: number;
  /** Interleaved runs of each side: database-only cases, and cases that must put objects back. */
  dbRuns: number;
  runs: number;
  /** Keys the one-DeleteObject-per-key peer deletes (its time is scaled to the whole set). */
  oneByOneKeys: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  // Under 5 minutes on a loaded 2-core machine: moto takes ~120 PUTs/s there, and every run of a case
  // that deletes objects must put them back first.
  quick: { name: 'quick', runScale: 30, purgeScale: 20, dbRuns: 3, runs: 2, oneByOneKeys: 300 },
  // The figures: the large demo (1.1 M rows, 65,000 objects), a purge of ~10,000 objects.
  large: { name: 'large', runScale: 1300, purgeScale: 230, dbRuns: 3, runs: 3, oneByOneKeys: 2000 },
  // Ten times large: 11 M rows, 650,000 files. On the Disk service only (moto would take an hour to
  // load it and as long to put the deleted objects back before each run); the whole run only.
  xlarge: { name: 'xlarge', runScale: 13000, purgeScale: 230, dbRuns: 3, runs: 3, oneByOneKeys: 2000 },
  // The S3 variant: 3.4 M rows, 200,000 objects (176,000 deleted by a reset), in the in-memory S3 server
  // (--s3-server memory: ~1,000 PUTs/s, where moto's 120–300 would take most of an hour to put the
  // deleted objects back before each run); the whole run only.
  's3-200k': { name: 's3-200k', runScale: 4000, purgeScale: 230, dbRuns: 3, runs: 3, oneByOneKeys: 2000 },
};

export type StorageKind = 's3' | 'disk';

export interface BenchContext {
  stack: BenchStack;
  profile: Profile;
  dir: string;
  targetsFile: string;
  /** The worker's environment: the targets' database URLs by name. */
  targetEnv: Record<string, string>;
  acts: OurActivities;
  counter: S3Counter;
  /** An S3 client through the counting proxy (the peers'). */
  s3: S3Client;
  run: BenchTarget;
  purge: BenchTarget;
  /** --warm: the whole-run case's worker serves one unmeasured run before the measured one. */
  warmWorker: boolean;
  log(line: string): void;
}
