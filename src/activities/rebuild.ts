/**
 * The rebuild strategy's command (e.g. `bin/rails db:reset`), run so that its failure says exactly what
 * it did: the databases' fingerprint (lib/db-fingerprint.ts) is recorded in the journal before the
 * command, and compared after a failure. Nothing changed: the operator is told no restore is needed,
 * and the run's ending prints no restore hint (journal.ts databaseChanged). Something changed: which
 * database and tables.
 *
 * The command may drop and re-create the database: the reset lock holds no session on it while the
 * step runs (lib/reset-lock.ts), and makes the run's claim row again afterwards.
 */
import type { TargetConfig } from '../config/types';
import { targetCommandEnv } from './lib/child-env';
import { fingerprint, sameAsBefore } from './lib/db-fingerprint';
import { describeFailure } from './lib/shell';
import type { ResolvedTarget } from './lib/target';
import { readJournal, rebuildChanges, writeJournal } from './journal';

type Rebuild = Extract<TargetConfig['strategy'], { kind: 'rebuild' }>;

/** `changed`: this run already changed the database (journal.ts): the fingerprint from before it stands. */
export async function runRebuild(t: ResolvedTarget, runId: string, strategy: Rebuild, changed: boolean): Promise<void> {
  let j = await readJournal(t, runId);
  if (!changed || !j.rebuild) {
    j = { ...j, rebuild: { startedAt: new Date(t.now()).toISOString(), before: await fingerprint(t) } };
    await writeJournal(t, j);
  }
  const before = j.rebuild!.before;
  const cmd = strategy.command;
  const r = await t.run(cmd, {
    cwd: strategy.cwd,
    env: targetCommandEnv(t.env, strategy.env),
    timeoutMs: strategy.timeoutSeconds * 1000,
    redact: t.databases.map((d) => d.url),
  });
  if (r.code === 0) {
    await writeJournal(t, {
      ...(await readJournal(t, runId)),
      rebuild: { ...j.rebuild!, finishedAt: new Date(t.now()).toISOString() },
    });
    return;
  }
  let verdict: string;
  try {
    const diff = await rebuildChanges(t, before);
    verdict = diff.length
      ? `The database WAS changed by it: ${diff.join('; ')}. Fix the cause, then retry (the command runs again), or abort: the ending prints the command that restores the backup taken before this run.`
      : `Nothing was touched: ${sameAsBefore(before)} (compared with their fingerprint taken before the command). Fix the cause, then retry (the command runs again), or abort: nothing needs restoring.`;
  } catch (err) {
    verdict = `Whether it changed the database could not be read (${(err as Error).message}): count it as changed. Fix the cause, then retry, or abort: the ending prints the command that restores the backup taken before this run.`;
  }
  throw new Error(`${describeFailure(`Schema rebuild command ${cmd.join(' ')}`, r)} (target "${t.name}"). ${verdict}`);
}
