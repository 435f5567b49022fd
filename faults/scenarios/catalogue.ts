/** Every fault scenario other than crash points and chaos; quick mode takes the ones marked quick in each file. */
import type { Job } from '../lib/harness';
import { pgDumpJobs } from './pg-dump';
import { postgresJobs } from './postgres';
import { s3Jobs } from './s3';
import { temporalJobs } from './temporal';
import { workerControlJobs } from './worker-control';

export function faultScenarios(full: boolean): Job[] {
  return [...postgresJobs(full), ...s3Jobs(full), ...pgDumpJobs(full), ...workerControlJobs(full), ...temporalJobs(full)];
}
