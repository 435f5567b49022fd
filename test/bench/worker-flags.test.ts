/** The node flags a bench worker runs with, which every whole-run result records (run.workerNodeFlags). */
import { WORKER_NODE_FLAGS, workerNodeFlags } from '../../bench/lib/worker-process';

const saved = process.env.RR_BENCH_WORKER_NODE_FLAGS;
afterEach(() => {
  if (saved === undefined) delete process.env.RR_BENCH_WORKER_NODE_FLAGS;
  else process.env.RR_BENCH_WORKER_NODE_FLAGS = saved;
});

test('unset: the flags the image and the systemd unit give the worker', () => {
  delete process.env.RR_BENCH_WORKER_NODE_FLAGS;
  expect(workerNodeFlags()).toEqual([...WORKER_NODE_FLAGS]);
});

test('set: they are replaced, split on spaces; set empty: none', () => {
  process.env.RR_BENCH_WORKER_NODE_FLAGS = ' --no-lazy  --max-semi-space-size=16 ';
  expect(workerNodeFlags()).toEqual(['--no-lazy', '--max-semi-space-size=16']);
  process.env.RR_BENCH_WORKER_NODE_FLAGS = '';
  expect(workerNodeFlags()).toEqual([]);
});
