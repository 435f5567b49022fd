/**
 * The names of our Prometheus metrics, shared by the workflows and activities that record them, the
 * worker that exports them (its histogram buckets) and the tests that scrape them. docs/operators/observability.md
 * lists them as scraped: the exporter adds `_total` to counters (the SDK's own metrics get `temporal_` in
 * front, ours do not).
 *
 * Labels are target, kind (reset | restore), step, outcome, end_reason, reason, result: never a URL or a secret.
 */
export const METRICS = {
  runsStarted: 'reset_runbook_runs_started', // counter {target, kind, mode}
  runsEnded: 'reset_runbook_runs_ended', // counter {target, kind, outcome, end_reason}
  stepDuration: 'reset_runbook_step_duration_seconds', // histogram {target, kind, step, status}
  runsWaiting: 'reset_runbook_runs_waiting', // gauge {target, kind, reason=approval|operator}
  workersStopped: 'reset_runbook_workers_stopped', // gauge {target}
  workersStillStopped: 'reset_runbook_workers_still_stopped', // gauge {target}
  workersDowntime: 'reset_runbook_workers_downtime_seconds', // histogram {target, kind}
  workerRestartAttempts: 'reset_runbook_worker_restart_attempts', // counter {target, kind, result=ok|failed}
  rowsTruncated: 'reset_runbook_rows_truncated', // counter {target}
  objectsPurged: 'reset_runbook_objects_purged', // counter {target}
  objectsQuarantined: 'reset_runbook_objects_quarantined', // counter {target}
  backupBytes: 'reset_runbook_backup_bytes', // histogram {target}
  backupDuration: 'reset_runbook_backup_duration_seconds', // histogram {target}
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** The HELP line of each metric on the /metrics page. */
export const METRIC_HELP: Record<MetricName, string> = {
  [METRICS.runsStarted]: 'Runs started.',
  [METRICS.runsEnded]: 'Runs ended, by outcome and end reason.',
  [METRICS.stepDuration]:
    "Each step's duration when the run ends (its last attempt), as in the result's stepDurationsMs.",
  [METRICS.runsWaiting]: 'Whether a run waits for a person: 1 while it waits for approval or for an operator, else 0.',
  [METRICS.workersStopped]: "1 while a run has the target's Solid Queue workers stopped, 0 once they run again.",
  [METRICS.workersStillStopped]: '1 once a run could not start the workers again within its restart budget.',
  [METRICS.workersDowntime]: 'Seconds from stopping the Solid Queue workers to their running again.',
  [METRICS.workerRestartAttempts]: 'Attempts to start the workers again (compensation), by result.',
  [METRICS.rowsTruncated]: "Rows the reset's TRUNCATE removed.",
  [METRICS.objectsPurged]: 'Storage objects the purge removed from their bucket or Disk root.',
  [METRICS.objectsQuarantined]: 'Of the purged objects, those kept in storage.quarantine (a restore brings them back).',
  [METRICS.backupBytes]: 'Bytes of a backup (all its files).',
  [METRICS.backupDuration]: 'Seconds a backup took (dump, checks and the restore drill, if any).',
};
