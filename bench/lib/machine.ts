/**
 * What the machine was doing while the bench ran: its size, and the 1-minute load average sampled
 * every 5 s from start to end. Ratios within one run hold under load (ours and the peer alternate),
 * absolute seconds do not; a regression check compares runs only when their load is alike.
 */
import * as os from 'node:os';

export interface MachineFigures {
  cpus: number;
  memGiB: number;
  node: string;
  /** 1-minute load average: lowest, median and highest sample, and how many samples. */
  load1: { min: number; median: number; max: number; samples: number };
}

export function sampleMachine(everyMs = 5000): { stop(): MachineFigures } {
  const samples = [os.loadavg()[0]];
  const timer = setInterval(() => samples.push(os.loadavg()[0]), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(os.loadavg()[0]);
      const s = [...samples].sort((a, b) => a - b);
      const r = (n: number) => Math.round(n * 100) / 100;
      return {
        cpus: os.cpus().length,
        memGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        load1: { min: r(s[0]), median: r(s[Math.floor(s.length / 2)]), max: r(s[s.length - 1]), samples: s.length },
      };
    },
  };
}

export function describeMachine(m: MachineFigures): string {
  return `${m.cpus} CPUs, ${m.memGiB} GiB RAM, node ${m.node}, load (1 min) ${m.load1.min}/${m.load1.median}/${m.load1.max} min/median/max`;
}
