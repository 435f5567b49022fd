/** The machine's figures every bench result carries (bench/lib/machine.ts): load sampled from start to end. */
import { describeMachine, sampleMachine } from '../../bench/lib/machine';

test('samples the load while it runs and reports its size, min ≤ median ≤ max', async () => {
  const sampler = sampleMachine(20);
  await new Promise((r) => setTimeout(r, 110));
  const m = sampler.stop();
  expect(m.cpus).toBeGreaterThan(0);
  expect(m.memGiB).toBeGreaterThan(0);
  expect(m.node).toBe(process.version);
  expect(m.load1.samples).toBeGreaterThanOrEqual(4);
  expect(m.load1.min).toBeLessThanOrEqual(m.load1.median);
  expect(m.load1.median).toBeLessThanOrEqual(m.load1.max);
  expect(describeMachine(m)).toMatch(
    /^\d+ CPUs, \d+ GiB RAM, node v[\d.]+, load \(1 min\) [\d.]+\/[\d.]+\/[\d.]+ min\/median\/max$/,
  );
});
