/**
 * Session-local SQL helpers for the generators. They live in pg_temp, so they vanish with the session
 * and never show up in the app's schema (the runbook's plan must see the app as Rails made it).
 */
import { Client } from 'pg';

export async function installSqlHelpers(c: Client): Promise<void> {
  // A deterministic pseudo-random number in [0, 2^32) for a text key: the seed and row number go in the key.
  await c.query(`CREATE OR REPLACE FUNCTION pg_temp.rnd(k text) RETURNS bigint LANGUAGE sql IMMUTABLE
    AS $$ SELECT ('x' || substr(md5(k), 1, 8))::bit(32)::bigint $$`);
  // What a demo S3 object holds; byte_size and checksum in active_storage_blobs are computed from it,
  // and demo/lib/objects.ts builds the same bytes to upload (objectBody).
  await c.query(`CREATE OR REPLACE FUNCTION pg_temp.body(k text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT 'phonefin demo object ' || k || E'\\n' $$`);
  // An ActiveStorage-looking key (Rails: 28 chars of base36; ours: 28 hex chars, a subset).
  await c.query(`CREATE OR REPLACE FUNCTION pg_temp.blob_key(k text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT substr(md5('blob:' || k), 1, 28) $$`);
}
