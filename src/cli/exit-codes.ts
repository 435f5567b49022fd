/**
 * What `reset-runbook` exit codes mean, for scripts. Every command uses these and only these.
 */
export const EXIT = {
  /** Done: the run (or the command's action) ended as asked: a plan made, a reset completed, a signal sent. */
  ok: 0,
  /** The run failed, was aborted or rejected, or the command could not do what it was asked. */
  failed: 1,
  /** Bad usage: unknown command or option, missing argument. Nothing was done. */
  usage: 2,
  /** The run waits for an operator: an approval, a retry/abort decision, or a worker to come back. */
  waiting: 3,
  /** The run is still running (status of a live run; follow detached with Ctrl-C). */
  running: 4,
  /** No such run or target. */
  notFound: 5,
  /** The Temporal server could not be reached (address, namespace, TLS or API key). */
  unreachable: 6,
  /**
   * The run ended with the Solid Queue workers STILL STOPPED: restarting them failed within its
   * budget, and a person must start them (the start command is printed). Outranks every other code.
   */
  workersStopped: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE_HELP = `Exit codes:
  0  done: plan made, reset completed, signal sent
  1  the run failed, was aborted or rejected; or the command failed
  2  bad usage (nothing was done)
  3  the run waits for an operator (approval, retry/abort, or a worker to come back)
  4  the run is still running (status; follow detached with Ctrl-C)
  5  no such run, or (plan, start) a target not in the worker's targets file
  6  the Temporal server could not be reached
  7  the run ended with the Solid Queue workers STILL STOPPED: start them by hand (the command is printed)`;
