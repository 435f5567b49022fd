/** A manifest reader's rows of one service one by one, from its chunks (stopping early closes the reading). */
import type { BlobRow } from '../../src/activities/lib/blobs';
import type { ManifestReader } from '../../src/activities/lib/manifest-format';

export async function* rowsOf(m: ManifestReader, service: string): AsyncGenerator<BlobRow> {
  for await (const chunk of m.chunks(service)) yield* chunk;
}
