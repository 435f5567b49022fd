/**
 * The app's customer-side data, generated server-side (INSERT … SELECT … generate_series): a million
 * rows take seconds, not minutes. Values derive from the seed and each row's ordinal (pg_temp.rnd), never
 * from random() or the clock, so a seed always makes the same rows. Ordinals (row_number over id), not
 * ids, feed the derivations: after a reset that kept identities counting, the same seed still makes the
 * same values.
 *
 * Rules, per customer: 1 credit application, 2 notifications. 9 in 10 applications are approved and
 * get a loan; each loan has 12 or 24 installments (some paid: one payment each), a contract, a device with
 * an MDM blueprint and a push token, and 2 audit log entries.
 */
import { Client } from 'pg';
import { Plan } from './plan';

export interface RowStep {
  table: string;
  sql: string;
  params: (ctx: { seed: string; baseTime: string; plan: Plan }) => unknown[];
}

const USERS = `(SELECT array_agg(id ORDER BY id) AS ids FROM users)`;

export const APP_STEPS: RowStep[] = [
  {
    table: 'customers',
    params: ({ seed, baseTime, plan }) => [seed, baseTime, plan.customers],
    sql: `
      INSERT INTO customers (full_name, national_id, phone, email, address, created_by_id, created_at, updated_at)
      SELECT (ARRAY['María','José','Lucía','Juan','Sofía','Carlos','Valentina','Luis','Camila','Miguel'])[1 + pg_temp.rnd($1 || ':fn:' || g) % 10]
               || ' ' ||
             (ARRAY['García','Hernández','López','Martínez','González','Pérez','Rodríguez','Sánchez','Ramírez','Flores'])[1 + pg_temp.rnd($1 || ':ln:' || g) % 10],
             'CUST-' || $1 || '-' || lpad(g::text, 8, '0'),
             '+1 555 ' || lpad((pg_temp.rnd($1 || ':ph:' || g) % 10000000)::text, 7, '0'),
             'customer' || g || '@mail.example',
             (100 + pg_temp.rnd($1 || ':ad:' || g) % 900) || ' Calle ' || (1 + g % 97),
             u.ids[1 + pg_temp.rnd($1 || ':cb:' || g) % cardinality(u.ids)],
             t.at, t.at
      FROM generate_series(1, $3::int) g
      CROSS JOIN ${USERS} u
      CROSS JOIN LATERAL (SELECT $2::timestamp - make_interval(secs => (pg_temp.rnd($1 || ':ca:' || g) % (365 * 86400))::int) AS at) t
      ORDER BY g`,
  },
  {
    table: 'credit_applications',
    params: ({ seed }) => [seed],
    sql: `
      INSERT INTO credit_applications (customer_id, user_id, requested_amount, score, status, decided_at, created_at, updated_at)
      SELECT c.id, c.created_by_id,
             2000 + pg_temp.rnd($1 || ':ra:' || c.n) % 15000,
             300 + pg_temp.rnd($1 || ':sc:' || c.n) % 550,
             CASE WHEN c.n % 10 = 0 THEN 'rejected' ELSE 'approved' END,
             c.created_at + interval '1 hour', c.created_at, c.created_at + interval '1 hour'
      FROM (SELECT id, created_by_id, created_at, row_number() OVER (ORDER BY id) AS n FROM customers) c
      ORDER BY c.n`,
  },
  {
    table: 'loans',
    params: ({ seed }) => [seed],
    sql: `
      INSERT INTO loans (customer_id, phone_model_id, user_id, credit_application_id, contract_number, principal,
                         down_payment, interest_rate, term_months, status, disbursed_at, created_at, updated_at)
      SELECT a.customer_id, pm.ids[k.i], coalesce(a.user_id, u.ids[1]), a.id,
             'PF-' || $1 || '-' || lpad(a.n::text, 8, '0'),
             pm.prices[k.i], round(pm.prices[k.i] * 0.1, 2),
             (24 + pg_temp.rnd($1 || ':ir:' || a.n) % 36)::numeric,
             CASE WHEN a.n % 2 = 0 THEN 24 ELSE 12 END,
             CASE WHEN a.n % 17 = 0 THEN 'defaulted' WHEN a.n % 11 = 0 THEN 'paid_off' ELSE 'active' END,
             a.created_at + interval '2 hours', a.created_at + interval '2 hours', a.created_at + interval '2 hours'
      FROM (SELECT ca.*, row_number() OVER (ORDER BY id) AS n FROM credit_applications ca WHERE status = 'approved') a
      CROSS JOIN ${USERS} u
      CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids, array_agg(price ORDER BY id) AS prices FROM phone_models) pm
      CROSS JOIN LATERAL (SELECT 1 + (pg_temp.rnd($1 || ':pm:' || a.n) % cardinality(pm.ids))::int AS i) k
      ORDER BY a.n`,
  },
  {
    // Paid installments: all for a paid-off loan, else a pseudo-random number of the first ones.
    table: 'installments',
    params: ({ seed, baseTime }) => [seed, baseTime],
    sql: `
      INSERT INTO installments (loan_id, number, due_on, amount, status, paid_at, created_at, updated_at)
      SELECT l.id, k,
             (l.disbursed_at + make_interval(months => k))::date,
             round((l.principal - l.down_payment) * (1 + l.interest_rate / 100) / l.term_months, 2),
             CASE WHEN k <= l.paid THEN 'paid'
                  WHEN l.disbursed_at + make_interval(months => k) < $2::timestamp THEN 'overdue'
                  ELSE 'pending' END,
             CASE WHEN k <= l.paid THEN l.disbursed_at + make_interval(months => k) - interval '2 days' END,
             l.created_at, l.created_at
      FROM (SELECT loans.*,
                   CASE WHEN status = 'paid_off' THEN term_months
                        ELSE (pg_temp.rnd($1 || ':paid:' || row_number() OVER (ORDER BY id)) % term_months)::int END AS paid
            FROM loans) l
      CROSS JOIN LATERAL generate_series(1, l.term_months) k
      ORDER BY l.id, k`,
  },
  {
    table: 'payments',
    params: ({ seed }) => [seed],
    sql: `
      INSERT INTO payments (installment_id, user_id, amount, method, reference, paid_at, created_at, updated_at)
      SELECT i.id, u.ids[1 + pg_temp.rnd($1 || ':pu:' || i.n) % cardinality(u.ids)], i.amount,
             (ARRAY['cash','transfer','card'])[1 + pg_temp.rnd($1 || ':pmt:' || i.n) % 3],
             'REF-' || upper(substr(md5($1 || ':ref:' || i.n), 1, 10)),
             i.paid_at, i.paid_at, i.paid_at
      FROM (SELECT id, amount, paid_at, row_number() OVER (ORDER BY id) AS n FROM installments WHERE status = 'paid') i
      CROSS JOIN ${USERS} u
      ORDER BY i.n`,
  },
  {
    table: 'contracts',
    params: () => [],
    sql: `
      INSERT INTO contracts (loan_id, status, signed_at, terms_version, created_at, updated_at)
      SELECT l.id, CASE WHEN l.n % 7 = 0 THEN 'draft' ELSE 'signed' END,
             CASE WHEN l.n % 7 = 0 THEN NULL ELSE l.created_at + interval '30 minutes' END,
             '2025-01', l.created_at, l.created_at
      FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n FROM loans) l
      ORDER BY l.n`,
  },
  {
    table: 'devices',
    params: ({ seed }) => [seed],
    sql: `
      INSERT INTO devices (customer_id, loan_id, phone_model_id, imei, serial_number, mdm_status, last_seen_at, created_at, updated_at)
      SELECT l.customer_id, l.id, l.phone_model_id,
             '35' || lpad(l.n::text, 8, '0') || lpad((pg_temp.rnd($1 || ':imei:' || l.n) % 100000)::text, 5, '0'),
             upper(substr(md5($1 || ':sn:' || l.n), 1, 12)),
             CASE l.status WHEN 'defaulted' THEN 'locked' WHEN 'paid_off' THEN 'released' ELSE 'enrolled' END,
             l.created_at + interval '1 day', l.created_at, l.created_at
      FROM (SELECT loans.*, row_number() OVER (ORDER BY id) AS n FROM loans) l
      ORDER BY l.n`,
  },
  {
    table: 'mdm_blueprints',
    params: () => [],
    sql: `
      INSERT INTO mdm_blueprints (device_id, name, policy, applied_at, created_at, updated_at)
      SELECT d.id,
             CASE d.mdm_status WHEN 'locked' THEN 'locked-for-nonpayment' ELSE 'financed-device' END,
             jsonb_build_object('lock_screen_message', 'Call support', 'factory_reset_allowed', false,
                                'kiosk', d.mdm_status = 'locked'),
             d.created_at, d.created_at, d.created_at
      FROM devices d
      ORDER BY d.id`,
  },
  {
    table: 'device_tokens',
    params: ({ seed }) => [seed],
    sql: `
      INSERT INTO device_tokens (device_id, token, platform, created_at, updated_at)
      SELECT d.id, md5($1 || ':tok1:' || d.n) || md5($1 || ':tok2:' || d.n),
             CASE WHEN d.n % 5 = 0 THEN 'ios' ELSE 'android' END, d.created_at, d.created_at
      FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n FROM devices) d
      ORDER BY d.n`,
  },
  {
    table: 'notifications',
    params: () => [],
    sql: `
      INSERT INTO notifications (customer_id, kind, channel, body, sent_at, read_at, created_at, updated_at)
      SELECT c.id, (ARRAY['welcome','payment_reminder'])[k], (ARRAY['sms','push'])[k],
             CASE k WHEN 1 THEN 'Bienvenido a PhoneFin' ELSE 'Su cuota vence pronto' END,
             c.created_at + make_interval(days => k), CASE WHEN c.n % 3 = 0 THEN c.created_at + make_interval(days => k + 1) END,
             c.created_at + make_interval(days => k), c.created_at + make_interval(days => k)
      FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS n FROM customers) c
      CROSS JOIN generate_series(1, 2) k
      ORDER BY c.n, k`,
  },
  {
    table: 'audit_logs',
    params: () => [],
    sql: `
      INSERT INTO audit_logs (user_id, action, auditable_type, auditable_id, audited_changes, ip_address, created_at, updated_at)
      SELECT l.user_id, (ARRAY['loan.created','contract.signed'])[k], (ARRAY['Loan','Contract'])[k], l.id,
             jsonb_build_object('status', jsonb_build_array(NULL, l.status)),
             '10.0.' || (l.n % 250) || '.' || (1 + l.n % 200),
             l.created_at + make_interval(mins => k), l.created_at + make_interval(mins => k)
      FROM (SELECT id, user_id, status, created_at, row_number() OVER (ORDER BY id) AS n FROM loans) l
      CROSS JOIN generate_series(1, 2) k
      ORDER BY l.n, k`,
  },
  {
    table: 'sessions',
    params: ({ seed, baseTime, plan }) => [seed, baseTime, plan.sessions],
    sql: `
      INSERT INTO sessions (user_id, ip_address, user_agent, created_at, updated_at)
      SELECT u.ids[1 + g % cardinality(u.ids)], '192.168.1.' || (1 + pg_temp.rnd($1 || ':ip:' || g) % 250),
             'Mozilla/5.0 (demo)', $2::timestamp - make_interval(hours => g), $2::timestamp - make_interval(hours => g)
      FROM generate_series(1, $3::int) g CROSS JOIN ${USERS} u
      ORDER BY g`,
  },
];

/** Runs every step; returns rows inserted per table (pg's rowCount: exactly what was made). */
export async function generateAppRows(
  c: Client,
  ctx: { seed: string; baseTime: string; plan: Plan },
): Promise<Record<string, number>> {
  const made: Record<string, number> = {};
  for (const step of APP_STEPS) {
    const r = await c.query(step.sql, step.params(ctx));
    made[step.table] = (made[step.table] ?? 0) + (r.rowCount ?? 0);
  }
  return made;
}
