/** Counting the rows pg_restore streams per table, whatever the chunk boundaries, and redirecting one table's block. */
import { Readable } from 'node:stream';
import { CopyCounter } from '../../../src/activities/restore/copy-stream';

const SQL = [
  `SET statement_timeout = 0;`,
  `SELECT pg_catalog.set_config('search_path', '', false);`,
  `COPY public."events_2024 a" (id, at, v) FROM stdin;`,
  ...Array.from({ length: 50 }, (_, i) => `${i}\t2024-01-01\ta`),
  `\\.`,
  ``,
  `COPY "sales dept".orders (id, "Total") FROM stdin;`,
  `1\t\\\\.`,
  `2\tCOPY public.x (a) FROM stdin;`,
  `\\.`,
  `COPY public."say ""hi""" (id) FROM stdin;`,
  `\\.`,
  `COPY public.solid_queue_claimed_executions (id, job_id, process_id, created_at) FROM stdin;`,
  `7\t70\t3\t2026-12-03 07:00:00`,
  `\\.`,
  `SELECT pg_catalog.setval('public."line items_id_seq"', 7, true);`,
  `SELECT pg_catalog.setval('"sales dept".orders_id_seq', 5, true);`,
  ``,
].join('\n');

async function run(chunkSize: number): Promise<{ counter: CopyCounter; out: string }> {
  const bytes = Buffer.from(SQL);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const counter = new CopyCounter(new Map([['public.solid_queue_claimed_executions', 'pg_temp.rr_claims']]));
  let out = '';
  for await (const b of Readable.from(chunks).pipe(counter)) out += (b as Buffer).toString();
  return { counter, out };
}

test.each([1, 7, 64, 100_000])('rows per table and sequences set, in chunks of %i bytes', async (size) => {
  const { counter, out } = await run(size);
  expect(Object.fromEntries(counter.rows)).toEqual({
    'public.events_2024 a': 50,
    'sales dept.orders': 2,
    'public.say "hi"': 0,
    'public.solid_queue_claimed_executions': 1,
  });
  expect(counter.setvals).toBe(2);
  expect(counter.unreadable).toEqual([]);
  // Everything passes through unchanged but the redirected block's COPY line.
  expect(out).toBe(SQL.replace('COPY public.solid_queue_claimed_executions (', 'COPY pg_temp.rr_claims ('));
});
