/** Choosing the archive's entries by the catalog's names, not by splitting `pg_restore --list` on spaces. */
import { selectEntries, type RestoreRelation } from '../../../src/activities/restore/toc';

// As pg_restore --list printed it for a database with a partitioned table, "line items", a table named
// "line" beside it, and a schema "sales dept" (PostgreSQL 15).
const TOC = `;
; Archive created at 2026-12-03 07:40:00 UTC
;
216; 1259 16387 TABLE public events postgres
218; 1259 16393 TABLE public events_2024 a postgres
3380; 0 16393 TABLE DATA public events_2024 a postgres
3381; 0 16398 TABLE DATA public events_2024_rest postgres
3382; 0 16403 TABLE DATA public events_2025 postgres
3387; 0 16425 TABLE DATA public line postgres
3384; 0 16409 TABLE DATA public line items postgres
3386; 0 16417 TABLE DATA sales dept orders postgres
3395; 0 0 SEQUENCE SET public events_id_seq postgres
3396; 0 0 SEQUENCE SET public line items_id_seq postgres
3397; 0 0 SEQUENCE SET sales dept orders_id_seq postgres
3234; 2606 16415 CONSTRAINT public line items line items_pkey postgres`;

const rel = (schema: string, name: string, oid: number, kind: string, root: string): RestoreRelation => ({
  schema,
  name,
  oid,
  kind,
  owner: 'postgres',
  root,
});
const events = [
  rel('public', 'events', 16387, 'p', 'public.events'),
  rel('public', 'events_2024', 16390, 'p', 'public.events'),
  rel('public', 'events_2024 a', 16393, 'r', 'public.events'),
  rel('public', 'events_2024_rest', 16398, 'r', 'public.events'),
  rel('public', 'events_2025', 16403, 'r', 'public.events'),
];
const lineItems = rel('public', 'line items', 16409, 'r', 'public.line items');
const orders = rel('sales dept', 'orders', 16417, 'r', 'sales dept.orders');
const seq = (schema: string, name: string) => ({ schema, name, owner: 'postgres' });

test('every partition, names with spaces, another schema, and their sequences are chosen', () => {
  const s = selectEntries(
    TOC,
    [...events, lineItems, orders],
    [seq('public', 'events_id_seq'), seq('public', 'line items_id_seq'), seq('sales dept', 'orders_id_seq')],
  );
  expect(s.missing).toEqual([]);
  expect(s.ambiguous).toEqual([]);
  expect(s.lines.map((l) => l.split(';')[0])).toEqual(['3380', '3381', '3382', '3384', '3386', '3395', '3396', '3397']);
  expect([...s.tables.keys()].sort()).toEqual([
    'public.events_2024 a',
    'public.events_2024_rest',
    'public.events_2025',
    'public.line items',
    'sales dept.orders',
  ]);
  expect(s.sequences).toBe(3);
});

test('a truncated table "line" does not take the data of a kept table "line items"', () => {
  const line = rel('public', 'line', 16425, 'r', 'public.line');
  const s = selectEntries(TOC, [line], []);
  expect(s.lines).toEqual(['3387; 0 16425 TABLE DATA public line postgres']);
  // The same table with another owner now: its oid still says which entry is its.
  expect(selectEntries(TOC, [{ ...line, owner: 'app' }], []).lines).toEqual([
    '3387; 0 16425 TABLE DATA public line postgres',
  ]);
  // A database rebuilt since (other oids) and another owner: two entries fit "line", so none is guessed.
  const rebuilt = selectEntries(TOC, [{ ...line, oid: 1, owner: 'app' }], []);
  expect(rebuilt.lines).toEqual([]);
  expect(rebuilt.ambiguous).toEqual([
    'public.line fits archive entries "3387; 0 16425 TABLE DATA public line postgres" and "3384; 0 16409 TABLE DATA public line items postgres"',
  ]);
  // Only one entry fits: it is the table's, whatever its owner was.
  const alone = selectEntries(
    TOC.replace(/.*TABLE DATA public line items.*\n/, ''),
    [{ ...line, oid: 1, owner: 'app' }],
    [],
  );
  expect(alone.lines).toEqual(['3387; 0 16425 TABLE DATA public line postgres']);
});

test('a table or sequence with no entry in the archive is reported, naming its partitioned table', () => {
  const s = selectEntries(
    TOC,
    [
      ...events,
      rel('public', 'events_2026', 17000, 'r', 'public.events'),
      rel('public', 'audits', 17001, 'r', 'public.audits'),
    ],
    [seq('public', 'audits_id_seq')],
  );
  expect(s.missing).toEqual([
    'public.events_2026 (partition of public.events)',
    'public.audits',
    'sequence public.audits_id_seq',
  ]);
});
