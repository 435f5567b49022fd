/** Figures over the interleaved runs: the minimum, the median (the mean of the middle two for an even count), the maximum. */
export interface Figures {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

export function figures(xs: number[]): Figures {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const r = (n: number) => Math.round(n * 1000) / 1000;
  return { min: r(s[0]), median: r(median), max: r(s[s.length - 1]), runs: xs.map(r) };
}

/** ours / peer, of the medians. */
export function ratio(ours: Figures, peer: Figures): number {
  return Math.round((ours.median / peer.median) * 100) / 100;
}
