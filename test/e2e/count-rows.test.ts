/**
 * Counting many tables in one statement (countRowsOf, src/activities/lib/postgres.ts), on a real
 * PostgreSQL: 503 tables (more than one statement's worth), odd names among them, each count equal to
 * the table's own count(*), in the order asked.
 */
import { Client } from 'pg';
import { countRows, countRowsOf, type TableRef } from '../../src/activities/lib/postgres';

const db = `rr_counts_${process.pid}`;
const admin = () => new Client({ connectionString: process.env.RR_PG_ADMIN_URL });
let c: Client;

beforeAll(async () => {
  const a = admin();
  await a.connect();
  await a.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await a.query(`CREATE DATABASE ${db}`);
  await a.end();
  const url = new URL(process.env.RR_PG_ADMIN_URL!);
  url.pathname = `/${db}`;
  c = new Client({ connectionString: url.toString() });
  await c.connect();
});

afterAll(async () => {
  await c?.end();
  const a = admin();
  await a.connect();
  await a.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await a.end();
});

test('503 tables in their order, odd names too, each as its own count(*) says', async () => {
  await c.query(`CREATE SCHEMA "Other ""Schema"""`);
  await c.query(`
    DO $$ BEGIN
      FOR i IN 0..499 LOOP
        EXECUTE format('CREATE TABLE public.t_%s (id int)', i);
        EXECUTE format('INSERT INTO public.t_%s SELECT generate_series(1, %s)', i, (i * 7) % 13);
      END LOOP;
    END $$`);
  await c.query(`CREATE TABLE public."Mixed Case" (id int); INSERT INTO public."Mixed Case" VALUES (1), (2)`);
  await c.query(`CREATE TABLE "Other ""Schema"""."it's" (id int); INSERT INTO "Other ""Schema"""."it's" VALUES (1)`);
  await c.query(`CREATE TABLE public.empty (id int)`);
  const tables: TableRef[] = [
    { schema: 'public', table: 'Mixed Case' },
    ...Array.from({ length: 500 }, (_, i) => ({ schema: 'public', table: `t_${499 - i}` })),
    { schema: 'Other "Schema"', table: "it's" },
    { schema: 'public', table: 'empty' },
  ];
  const counts = await countRowsOf(c, tables);
  const one = [];
  for (const t of tables) one.push(await countRows(c, t));
  expect(counts).toEqual(one);
  expect(counts.slice(0, 3)).toEqual([2, (499 * 7) % 13, (498 * 7) % 13]);
  expect(counts.slice(-2)).toEqual([1, 0]);
  expect(await countRowsOf(c, [])).toEqual([]);
});
