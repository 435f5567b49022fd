/**
 * The local backup store's small records (the journal, the purge's progress) are written off the event
 * loop, through `<name>.partial` and a rename. Writes of one record that overlap must still leave one
 * whole body, the last one asked for: two at once would share the .partial (one renaming the other's
 * half, the other's rename then failing).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '../../../src/activities/lib/backup-store';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-local-store-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('overlapping writes of one record all succeed and leave the last body whole', async () => {
  const store = new LocalStore(dir);
  // Long bodies then short ones: a short write over a long one's .partial would leave the long one's tail.
  const bodies = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat((20 - i) * 5000) }));
  await Promise.all(bodies.map((b) => store.writeText('record.json', b)));
  expect(await store.readText('record.json')).toBe(bodies[19]);
  expect(fs.readdirSync(dir)).toEqual(['record.json']);
});

test('a failed write does not stop the next one of the same record', async () => {
  const store = new LocalStore(dir);
  fs.mkdirSync(path.join(dir, 'record.json.partial')); // open(…, "w") of a folder fails: EISDIR
  const first = store.writeText('record.json', '{"a":1}');
  const second = first.catch(() => fs.rmdirSync(path.join(dir, 'record.json.partial')));
  await expect(first).rejects.toThrow(/EISDIR/);
  await second;
  await store.writeText('record.json', '{"b":2}');
  expect(await store.readText('record.json')).toBe('{"b":2}');
});

test('writes of different records go at once', async () => {
  const store = new LocalStore(dir);
  await Promise.all(['a', 'b', 'c'].map((n) => store.writeText(`${n}.json`, `"${n}"`)));
  expect(fs.readdirSync(dir).sort()).toEqual(['a.json', 'b.json', 'c.json']);
});
