/**
 * The summary lines measure-workers-window.ts prints after its runs: how much the workers-stopped window
 * with workers.startBeforePurge grows from the fewest files to the most, as the ratio issue 19's goal
 * names (within 10%) and as seconds per million files (a goal that does not depend on how quick the
 * target's own stop and start commands are); and, when it measured them, the same for the floor runs
 * (the bare minimum any tool holds the workers for: stop, TRUNCATE + seeds, start).
 */
export interface WindowRun {
  files: number;
  startBeforePurge: boolean;
  windowSeconds: number;
  /** A floor run: no reset of ours, the bare procedure's window (measure-workers-window.ts --floor). */
  floor?: boolean;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function growth(label: string, runs: WindowRun[]): string | undefined {
  const counts = [...new Set(runs.map((r) => r.files))].sort((a, b) => a - b);
  if (counts.length < 2) return undefined;
  const at = (n: number) => runs.filter((r) => r.files === n).map((r) => r.windowSeconds);
  const [few, many] = [counts[0], counts[counts.length - 1]];
  const [a, b] = [mean(at(few)), mean(at(many))];
  const perMillion = ((b - a) / (many - few)) * 1e6;
  const side = (n: number, s: number) =>
    `${n.toLocaleString('en-US')} files ${s.toFixed(3)} s (${at(n).length} run(s))`;
  return (
    `${label}, means: ${side(few, a)}, ${side(many, b)}: ` +
    `${(b / a).toFixed(2)}× (goal: within 1.10×), ${perMillion >= 0 ? '+' : ''}${perMillion.toFixed(3)} s per million files`
  );
}

/** undefined: fewer than two file counts were measured with the setting on (floor runs aside). */
export function windowGrowth(runs: WindowRun[]): string | undefined {
  const ours = growth(
    'workers.startBeforePurge window',
    runs.filter((r) => r.startBeforePurge && !r.floor),
  );
  const floor = growth(
    'the floor (stop, TRUNCATE + seeds in one psql transaction, start)',
    runs.filter((r) => r.floor),
  );
  return ours && floor ? `${ours}\n${floor}` : (ours ?? floor);
}
