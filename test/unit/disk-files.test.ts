/** The Disk service's paths (src/activities/lib/disk-files.ts): Rails' layout, and nothing outside the root. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskPathFor, diskVariantsDir, insideRoot } from '../../src/activities/lib/disk-files';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-disk-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('a key lives at <root>/<key[0,2]>/<key[2,2]>/<key>, variants under <root>/va/ri/variants/', () => {
  expect(diskPathFor(root, 'abcdef123')).toBe(path.join(root, 'ab', 'cd', 'abcdef123'));
  expect(diskVariantsDir(root)).toBe(path.join(root, 'va', 'ri', 'variants'));
});

test('a key or a symlinked folder that leads out of the root is refused', () => {
  expect(() => diskPathFor(root, '../../../etc/passwd')).toThrow(/outside the Disk service root/);
  expect(() => insideRoot(root, '/etc/passwd')).toThrow(/outside the Disk service root/);
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-disk-elsewhere-'));
  fs.mkdirSync(path.join(root, 'ab'));
  fs.symlinkSync(elsewhere, path.join(root, 'ab', 'cd'));
  expect(() => diskPathFor(root, 'abcdef123')).toThrow(/resolves to .* outside the Disk service root/);
  fs.rmSync(elsewhere, { recursive: true, force: true });
});
