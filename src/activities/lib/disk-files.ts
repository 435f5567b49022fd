/**
 * ActiveStorage's Disk service, as Rails lays it out (ActiveStorage::Service::DiskService):
 *   path_for(key) = <root>/<key[0..1]>/<key[2..3]>/<key>
 * so an untracked variant, whose key is "variants/<blob key>/<digest>", lives at
 *   <root>/va/ri/variants/<blob key>/<digest>
 * and Rails' delete_prefixed("variants/<blob key>/") removes what is inside that folder.
 * Rails creates folders on upload (mkdir -p), so a variant folder we empty may go; the shared
 * <xx>/<yy> folders stay (the running app may be writing a new file into one of them).
 * Every path is resolved and checked to be inside the root before anything is touched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { throwIfCancelled } from './keepalive';

export function diskPathFor(root: string, key: string): string {
  return diskRoot(root).pathFor(key);
}

/** The folder that holds every untracked variant's folder (one per blob key). */
export function diskVariantsDir(root: string): string {
  return insideRoot(root, path.join('va', 'ri', 'variants'));
}

/**
 * root/rel, or an error if it would leave the root (a key with "..", an absolute key, a symlinked folder pointing out).
 */
export function insideRoot(root: string, rel: string): string {
  return diskRoot(root).inside(rel);
}

export interface DiskRoot {
  /** The root, resolved (not through symlinks): what paths under it are relative to. */
  base: string;
  /** Where Rails keeps the blob `key`, checked as `inside` checks. */
  pathFor(key: string): string;
  /** root/rel, or an error if it would leave the root (a key with "..", an absolute key, a symlinked folder pointing out). */
  inside(rel: string): string;
}

/**
 * One root, for many paths under it (a purge asks for every file: a million times at a million objects):
 * the root's real path is resolved once, then each path costs one realpath of its folder, where each
 * used to cost five calls (two existence checks and a realpath for the root, two for the folder).
 */
export function diskRoot(root: string): DiskRoot {
  const base = path.resolve(root);
  let realBase: string | undefined;
  const inside = (rel: string): string => {
    const p = path.resolve(base, rel);
    const r = path.relative(base, p);
    if (r === '' || r.startsWith('..') || path.isAbsolute(r))
      throw new Error(`refusing to touch ${p}: outside the Disk service root ${base}`);
    // A folder on the way that is a symlink out of the root would be followed by unlink: check the real
    // parent, or the nearest one that exists (the native realpath: one call, where fs.realpathSync walks
    // every component in JavaScript).
    let parent = path.dirname(p);
    let realParent = realIfExists(parent);
    while (realParent === undefined && parent !== base) {
      parent = path.dirname(parent);
      realParent = realIfExists(parent);
    }
    realBase ??= realIfExists(base); // once the root exists: it is not looked up again
    const rr = path.relative(realBase ?? base, realParent ?? parent);
    if (rr.startsWith('..') || path.isAbsolute(rr))
      throw new Error(
        `refusing to touch ${p}: its folder resolves to ${realParent}, outside the Disk service root ${realBase ?? base}`,
      );
    return p;
  };
  return { base, inside, pathFor: (key) => inside(path.join(key.slice(0, 2), key.slice(2, 4), key)) };
}

/** The real path, or undefined where there is nothing to resolve (as fs.existsSync says false: any error). */
function realIfExists(p: string): string | undefined {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return undefined;
  }
}

export type UnlinkOutcome = { deleted: boolean } | { error: string };

/** Removes one file; one already gone counts as done (deleted: false). */
export async function unlinkFile(file: string): Promise<UnlinkOutcome> {
  try {
    await fs.promises.unlink(file);
    return { deleted: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'Unknown';
    if (code === 'ENOENT') return { deleted: false };
    return { error: code };
  }
}

/**
 * Everything inside one variant folder (files and nested folders; symlinks are removed, never
 * followed), then the folder itself. `onFile` hears of each file removed, with its bytes, as it goes: a
 * caller that counts them loses none to a failure later in the folder.
 */
export async function removeVariantFolder(root: string, dir: string, onFile: (bytes: number) => void): Promise<void> {
  const under = diskRoot(root);
  const walk = async (d: string): Promise<void> => {
    for (const e of await entriesOf(d)) {
      const p = under.inside(path.relative(under.base, path.join(d, e.name)));
      if (e.isDirectory()) {
        await walk(p);
        await fs.promises
          .rmdir(p)
          .catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
      } else {
        const st = await fs.promises.lstat(p).catch(() => undefined);
        const r = await unlinkFile(p);
        if ('error' in r) throw new Error(`cannot delete ${p} (${r.error})`);
        if (r.deleted) onFile(st?.isFile() ? st.size : 0);
      }
    }
  };
  await walk(dir);
  await fs.promises
    .rmdir(dir)
    .catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
}

/** Whether a blob's file is on disk (the plan's sample). */
export async function diskFileExists(root: string, key: string): Promise<boolean> {
  try {
    return (await fs.promises.lstat(diskPathFor(root, key))).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return false;
    throw err;
  }
}

export type MoveOutcome = { moved: 'now' | 'before' | 'missing'; bytes: number } | { error: string };

/**
 * Moves one file within the root (a rename: same volume, atomic, no byte copied). Idempotent: a source
 * already gone whose destination exists was moved by an earlier attempt ('before'); one in neither
 * place is 'missing'. Both paths must come from insideRoot.
 */
export async function moveFile(from: string, to: string): Promise<MoveOutcome> {
  const exists = (p: string) =>
    fs.promises.lstat(p).then(
      () => true,
      () => false,
    );
  try {
    await fs.promises.mkdir(path.dirname(to), { recursive: true });
  } catch (err) {
    return { error: `${(err as NodeJS.ErrnoException).code ?? 'Unknown'} creating ${path.dirname(to)}` };
  }
  try {
    await fs.promises.rename(from, to);
    const st = await fs.promises.lstat(to).catch(() => undefined);
    return { moved: 'now', bytes: st?.isFile() ? st.size : 0 };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'Unknown';
    // ENOENT/ENOTDIR may be about either side: only a source that is gone is an answer.
    if ((code === 'ENOENT' || code === 'ENOTDIR') && !(await exists(from)))
      return { moved: (await exists(to)) ? 'before' : 'missing', bytes: 0 };
    return { error: code === 'EXDEV' ? 'EXDEV: the quarantine folder is on another volume than the file' : code };
  }
}

/**
 * Moves every file under `dir` (a folder under `fromBase`) to the same relative path under `toBase`,
 * then removes the folders it emptied, `dir` included. Both bases are inside `root`. Returns the files
 * moved now and their bytes; a file already moved is not seen again (its source is gone). `onFile` hears
 * of each file moved, as removeVariantFolder's does. Both walk the folder in name order (entriesOf).
 */
export async function moveTree(
  root: string,
  dir: string,
  fromBase: string,
  toBase: string,
  onFile?: (bytes: number) => void,
): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const under = diskRoot(root);
  const rel = (p: string) => path.relative(under.base, p);
  const walk = async (d: string): Promise<void> => {
    const entries = await entriesOf(d);
    for (const e of entries) {
      throwIfCancelled(); // a restore's whole quarantine folder can be large: an abort stops between files
      const p = under.inside(rel(path.join(d, e.name)));
      if (e.isDirectory()) {
        await walk(p);
        await removeEmptyDir(p);
        continue;
      }
      const to = under.inside(rel(path.join(toBase, path.relative(fromBase, p))));
      const r = await moveFile(p, to);
      if ('error' in r) throw new Error(`cannot move ${p} to ${to} (${r.error})`);
      if (r.moved === 'now') {
        files++;
        bytes += r.bytes;
        onFile?.(r.bytes);
      }
    }
  };
  await walk(dir);
  await removeEmptyDir(dir);
  return { files, bytes };
}

/**
 * A folder's entries, in name order (the same walk on every file system: a retry goes the way the failed
 * attempt went); none when it does not exist (already moved or never made).
 */
async function entriesOf(d: string): Promise<fs.Dirent[]> {
  try {
    return (await fs.promises.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read the folder ${d} (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
}

/** Removes a folder if it is empty; one still holding something (a new upload) stays. */
async function removeEmptyDir(dir: string): Promise<void> {
  await fs.promises
    .rmdir(dir)
    .catch((err: NodeJS.ErrnoException) =>
      ['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(err.code ?? '') ? undefined : Promise.reject(err),
    );
}

/** The files under a folder and their bytes (0, 0 when it does not exist). */
export async function countFiles(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = await entriesOf(d);
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        files++;
        const st = await fs.promises.lstat(p).catch(() => undefined);
        bytes += st?.isFile() ? st.size : 0;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}
