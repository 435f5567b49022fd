/**
 * Splits the suite into shards of about equal time, not equal count (jest's own --shard hashes the
 * paths): test/durations.json holds each file's seconds from a whole run (`scripts/test` rewrites it
 * with RR_WRITE_DURATIONS=1); a file not in it counts as 5 s (most unit and small e2e files take less). Greedy: the longest file goes to the
 * shard with the least time so far. Every shard computes the same split, so none is run twice.
 */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const durations = require('../durations.json');

const ROOT = path.resolve(__dirname, '..', '..');
const seconds = (t) => durations[path.relative(ROOT, t.path)] ?? 5;

class TimedShards extends Sequencer {
  shard(tests, { shardIndex, shardCount }) {
    const sorted = [...tests].sort((a, b) => seconds(b) - seconds(a) || a.path.localeCompare(b.path));
    const load = Array(shardCount).fill(0);
    const mine = [];
    for (const t of sorted) {
      const i = load.indexOf(Math.min(...load));
      load[i] += seconds(t);
      if (i === shardIndex - 1) mine.push(t);
    }
    return mine;
  }
}

module.exports = TimedShards;
