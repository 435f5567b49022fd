/**
 * What a restore checks of its load, and what it says when a check fails: the backup's table of
 * contents against the tables to restore (before any change), the stream against the tables, and
 * psql's and pg_restore's exits against the COMMIT that must have been reached.
 */
import { ApplicationFailure } from '@temporalio/common';
import { redactText } from '../lib/secrets';
import type { CopyCounter } from './copy-stream';
import { COMMITTED, INCOMPLETE } from './load-script';
import type { RestoreRelation, TocSelection } from './toc';

/** A table of contents that lacks a table, or cannot be read exactly, refuses the restore before any change. */
export function tocRefusal(sel: TocSelection, where: string, srcWhere: string): ApplicationFailure | undefined {
  if (!sel.missing.length && !sel.ambiguous.length) return undefined;
  const why = [
    ...(sel.missing.length
      ? [`the backup has no data entry for ${sel.missing.join(', ')} (created after the backup was taken?)`]
      : []),
    ...(sel.ambiguous.length ? [`its table of contents cannot be read exactly: ${sel.ambiguous.join('; ')}`] : []),
  ];
  return ApplicationFailure.nonRetryable(
    `Restore of ${where} refused before any change; nothing was touched: ${why.join('; ')}. Restore these tables by hand (pg_restore --list ${srcWhere}), or abort.`,
    'RestoreRefused',
  );
}

/**
 * What the stream lacks: a table (or partition) with rows now but no COPY block, rows for a table not chosen, a
 * sequence not set.
 */
export function streamGaps(
  counter: CopyCounter,
  relations: RestoreRelation[],
  claimsKey: string | undefined,
  sequences: number,
): string[] {
  const gaps: string[] = [];
  const keys = new Set(relations.map((r) => `${r.schema}.${r.name}`));
  for (const r of relations.filter((x) => x.kind === 'r')) {
    const k = `${r.schema}.${r.name}`;
    if (!counter.rows.has(k))
      gaps.push(`no rows of ${k === r.root || k === claimsKey ? k : `${k} (partition of ${r.root})`} were loaded`);
  }
  for (const k of counter.rows.keys())
    if (!keys.has(k)) gaps.push(`rows of ${k}, which is not a table being restored, were streamed`);
  for (const u of counter.unreadable) gaps.push(`a COPY of an unreadable table name: ${u}`);
  if (counter.setvals !== sequences) gaps.push(`${counter.setvals} of ${sequences} sequences were set`);
  return gaps;
}

interface LoadEnd {
  where: string;
  srcWhere: string;
  gaps: string[];
  /** The tail of psql's stdout and stderr. */
  psqlOut: string;
  restoreErr: string;
  /** psql's exit code; null when we killed it. */
  pc: number | null;
  /** pg_restore's exit code. */
  rc: number | null;
  secrets: string[];
}

/** Why a load that was not cancelled did not commit, or undefined when psql reached COMMIT. */
export function loadFailure({
  where,
  srcWhere,
  gaps,
  psqlOut,
  restoreErr,
  pc,
  rc,
  secrets,
}: LoadEnd): Error | undefined {
  if (gaps.length || psqlOut.includes(INCOMPLETE)) {
    const found = gaps.length
      ? gaps.join('; ')
      : psqlOut
          .slice(psqlOut.indexOf(INCOMPLETE) + INCOMPLETE.length)
          .split('\n')[0]
          .replace(/[;\s]+$/, '')
          .trim();
    return ApplicationFailure.nonRetryable(
      `Restore of ${where}: the load was incomplete (${found}). Rolled back before COMMIT; nothing was changed. ` +
        `A retry would load the same entries: compare the tables named with pg_restore --list ${srcWhere}, and abort the run.`,
      'RestoreIncomplete',
    );
  }
  // psql's own error first (it stopped, then pg_restore was stopped); exit null is psql killed by us.
  if (pc !== 0 && pc !== null)
    return new Error(
      `Restoring ${where} failed (psql exit ${pc}): ${redactText(psqlOut.trim(), secrets)}. Rolled back; nothing was changed.`,
    );
  if (rc !== 0)
    return new Error(
      `pg_restore of ${where} exited with code ${rc}: ${redactText(restoreErr.trim(), secrets)}. Rolled back; nothing was changed.`,
    );
  if (pc === 0 && !psqlOut.includes(COMMITTED))
    return new Error(
      `Restoring ${where}: psql ended without reaching COMMIT (${redactText(psqlOut.trim(), secrets) || 'no output'}).`,
    );
  if (pc !== 0)
    return new Error(`Restoring ${where}: psql was stopped before COMMIT. Rolled back; nothing was changed.`);
  return undefined;
}
