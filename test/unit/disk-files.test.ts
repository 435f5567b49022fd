/** The Disk service's paths (src/activities/lib/disk-files.ts): Rails' layout, and nothing outside the root. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskPathFor, diskRoot, diskVariantsDir, insideRoot } from '../../src/activities/lib/disk-files';

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

test('one root for many paths, as the purge uses it: a folder that becomes a symlink out later is refused then', () => {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-disk-root-'));
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-disk-elsewhere-'));
  try {
    const under = diskRoot(r);
    // Folders that do not exist yet: checked up to the root, as Rails makes them on upload.
    expect(under.pathFor('xyzw1')).toBe(path.join(r, 'xy', 'zw', 'xyzw1'));
    fs.mkdirSync(path.join(r, 'xy', 'zw'), { recursive: true });
    expect(under.pathFor('xyzw2')).toBe(path.join(r, 'xy', 'zw', 'xyzw2'));
    expect(() => under.inside('../x')).toThrow(/outside the Disk service root/);
    // The root is resolved once; each path's own folder is resolved every time.
    fs.rmSync(path.join(r, 'xy', 'zw'), { recursive: true });
    fs.symlinkSync(elsewhere, path.join(r, 'xy', 'zw'));
    expect(() => under.pathFor('xyzw3')).toThrow(/resolves to .* outside the Disk service root/);
    expect(under.pathFor('abcd1')).toBe(path.join(r, 'ab', 'cd', 'abcd1'));
  } finally {
    fs.rmSync(r, { recursive: true, force: true });
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('a root reached through a symlink: paths under it are inside', () => {
  const real = fs.mkdtempSync(path.join(os.tmpdir(), 'rr-disk-real-'));
  const link = `${real}-link`;
  fs.symlinkSync(real, link);
  try {
    fs.mkdirSync(path.join(real, 'ab', 'cd'), { recursive: true });
    const under = diskRoot(link);
    expect(under.pathFor('abcd1')).toBe(path.join(link, 'ab', 'cd', 'abcd1'));
    expect(under.pathFor('efgh1')).toBe(path.join(link, 'ef', 'gh', 'efgh1'));
  } finally {
    fs.rmSync(link, { force: true });
    fs.rmSync(real, { recursive: true, force: true });
  }
});
