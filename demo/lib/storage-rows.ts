/**
 * ActiveStorage rows: blobs attached to records, as the app makes them.
 *   - every customer has an `id_document` photo (image/jpeg);
 *   - every other contract has a `signed_pdf` (application/pdf);
 *   - every other customer photo has a TRACKED variant (Rails ≥ 6.1 with track_variants): an
 *     active_storage_variant_records row for (original blob, variation digest), plus the variant image's
 *     own blob attached to that record as `image`;
 *   - untracked variants (Rails' older scheme, no rows) exist only as S3 objects under
 *     `variants/<blob key>/<sha256 of variation key>`: untrackedVariantKeys lists them.
 * byte_size and checksum are those of the bytes demo/lib/objects.ts uploads (pg_temp.body).
 */
import { Client } from 'pg';

const IMAGE_META = `'{"identified":true,"width":1200,"height":800,"analyzed":true}'`;

/** SELECT of one blob per row of `from`; `keyExpr` names the key, the body's size and MD5 follow from it. */
function blobSelect(
  from: string,
  keyExpr: string,
  filenameExpr: string,
  contentType: string,
  metadata: string,
  createdAt: string,
): string {
  return `SELECT k.key, ${filenameExpr}, '${contentType}', ${metadata}, $2, octet_length(pg_temp.body(k.key)),
          encode(decode(md5(pg_temp.body(k.key)), 'hex'), 'base64'), ${createdAt}
     FROM ${from} CROSS JOIN LATERAL (SELECT ${keyExpr} AS key) k`;
}

const BLOB_COLUMNS = `(key, filename, content_type, metadata, service_name, byte_size, checksum, created_at)`;

export async function generateStorageRows(
  c: Client,
  ctx: { seed: string; serviceName: string },
): Promise<Record<string, number>> {
  const params = [ctx.seed, ctx.serviceName];
  const made: Record<string, number> = {};
  const add = (table: string, n: number | null) => (made[table] = (made[table] ?? 0) + (n ?? 0));

  // Customers' id_document photos: blob + attachment in one statement (counts are equal by construction).
  const photos = await c.query(
    `WITH c AS (SELECT id, created_at, n, pg_temp.blob_key($1 || ':cust:' || n) AS key
                FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n FROM customers) x),
     b AS (INSERT INTO active_storage_blobs ${BLOB_COLUMNS}
           ${blobSelect('c', 'c.key', `'id_document_' || c.n || '.jpg'`, 'image/jpeg', IMAGE_META, 'c.created_at')}
           ORDER BY c.n
           RETURNING id, key, created_at)
     INSERT INTO active_storage_attachments (name, record_type, record_id, blob_id, created_at)
     SELECT 'id_document', 'Customer', c.id, b.id, b.created_at
     FROM c JOIN b ON b.key = c.key ORDER BY c.n`,
    params,
  );
  add('active_storage_blobs', photos.rowCount);
  add('active_storage_attachments', photos.rowCount);

  const pdfs = await c.query(
    `WITH c AS (SELECT id, created_at, n, pg_temp.blob_key($1 || ':contract:' || n) AS key
                FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n FROM contracts) x WHERE n % 2 = 1),
     b AS (INSERT INTO active_storage_blobs ${BLOB_COLUMNS}
           ${blobSelect('c', 'c.key', `'contract_' || c.n || '.pdf'`, 'application/pdf', `'{"identified":true,"analyzed":true}'`, 'c.created_at')}
           ORDER BY c.n
           RETURNING id, key, created_at)
     INSERT INTO active_storage_attachments (name, record_type, record_id, blob_id, created_at)
     SELECT 'signed_pdf', 'Contract', c.id, b.id, b.created_at
     FROM c JOIN b ON b.key = c.key ORDER BY c.n`,
    params,
  );
  add('active_storage_blobs', pdfs.rowCount);
  add('active_storage_attachments', pdfs.rowCount);

  // Tracked variants: variant record + variant blob + attachment of the blob to the record.
  const variants = await c.query(
    `WITH o AS (SELECT a.blob_id, b.key AS orig_key, b.created_at, row_number() OVER (ORDER BY a.record_id) AS n
                FROM active_storage_attachments a JOIN active_storage_blobs b ON b.id = a.blob_id
                WHERE a.record_type = 'Customer' AND a.name = 'id_document'),
     sel AS (SELECT o.*, pg_temp.blob_key($1 || ':variant:' || n) AS vkey FROM o WHERE n % 2 = 0),
     vr AS (INSERT INTO active_storage_variant_records (blob_id, variation_digest)
            SELECT blob_id, encode(substr(sha256(convert_to('resize_to_limit:[300,300]:' || orig_key, 'UTF8')), 1, 20), 'base64')
            FROM sel ORDER BY n
            RETURNING id, blob_id),
     vb AS (INSERT INTO active_storage_blobs ${BLOB_COLUMNS}
            ${blobSelect('sel', 'sel.vkey', `'id_document_' || sel.n || '.jpg'`, 'image/jpeg', `'{"identified":true,"width":300,"height":200,"analyzed":true}'`, 'sel.created_at')}
            ORDER BY sel.n
            RETURNING id, key, created_at)
     INSERT INTO active_storage_attachments (name, record_type, record_id, blob_id, created_at)
     SELECT 'image', 'ActiveStorage::VariantRecord', vr.id, vb.id, vb.created_at
     FROM sel JOIN vr ON vr.blob_id = sel.blob_id JOIN vb ON vb.key = sel.vkey
     ORDER BY sel.n`,
    params,
  );
  add('active_storage_variant_records', variants.rowCount);
  add('active_storage_blobs', variants.rowCount);
  add('active_storage_attachments', variants.rowCount);
  return made;
}

/** Keys (without the service prefix) of the untracked variant objects of every fourth customer photo. */
export async function untrackedVariantKeys(c: Client): Promise<string[]> {
  const { rows } = await c.query(
    `SELECT 'variants/' || key || '/' || encode(sha256(convert_to('resize_to_limit:[100,100]:' || key, 'UTF8')), 'hex') AS key
     FROM (SELECT b.key, row_number() OVER (ORDER BY a.record_id) AS n
           FROM active_storage_attachments a JOIN active_storage_blobs b ON b.id = a.blob_id
           WHERE a.record_type = 'Customer' AND a.name = 'id_document') x
     WHERE n % 4 = 1 ORDER BY n`,
  );
  return rows.map((r) => r.key as string);
}

/** Every blob's key, and whether it is a tracked variant's image (attached to a VariantRecord). */
export async function blobKeys(c: Client): Promise<{ key: string; trackedVariant: boolean }[]> {
  const { rows } = await c.query(
    `SELECT b.key, EXISTS (SELECT 1 FROM active_storage_attachments a
                           WHERE a.blob_id = b.id AND a.record_type = 'ActiveStorage::VariantRecord') AS tracked_variant
     FROM active_storage_blobs b ORDER BY b.id`,
  );
  return rows.map((r) => ({ key: r.key as string, trackedVariant: r.tracked_variant as boolean }));
}
