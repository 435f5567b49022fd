/**
 * Every fault scenario other than the reset's crash points and chaos (the restore's included); quick mode takes the
 * ones marked quick in each file.
 */
import type { Job } from '../lib/harness';
import { pgDumpJobs } from './pg-dump';
import { postgresJobs } from './postgres';
import { restoreJobs } from './restore';
import { s3Jobs } from './s3';
import { temporalJobs } from './temporal';
import { workerControlJobs } from './worker-control';

export function faultScenarios(full: boolean): Job[] {
  return [
    ...postgresJobs(full),
    ...s3Jobs(full),
    ...pgDumpJobs(full),
    ...workerControlJobs(full),
    ...temporalJobs(full),
    ...restoreJobs(full),
  ];
}
