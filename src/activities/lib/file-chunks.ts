import type { FileHandle } from 'node:fs/promises';

/**
 * An open file's bytes from its start, through one buffer of `size` bytes: each chunk is a view into it,
 * good only until the next is asked for. Nothing is allocated per chunk (a new buffer per chunk is left
 * for the collector: tens of MiB waiting at once while a large file is read), so the reader copies what
 * it keeps. Reads only when the next chunk is asked for.
 */
export async function* fileChunks(fh: FileHandle, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  for (let at = 0; ;) {
    const { bytesRead } = await fh.read(buf, 0, size, at);
    if (bytesRead === 0) return;
    at += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}
