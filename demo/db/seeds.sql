-- db/seeds.rb of the phonefin demo app, as SQL. Idempotent the way `find_or_create_by!` is:
-- each row is inserted only if no row with its natural key exists, and an existing row is left as it is.
-- WHERE NOT EXISTS (rather than ON CONFLICT DO NOTHING) so a second run consumes no identity values
-- either: running this twice changes nothing at all.
--
-- No BEGIN/COMMIT here: the runbook applies this file inside its TRUNCATE transaction, and
-- demo/bin/seed wraps it in one of its own.
--
-- Expected after a clean-delivery reset (the runbook's step 6):
--   Users 6, Phone Models 10, System Settings 1, Customers 0, Loans 0, Queue Jobs 0.
-- Passwords: every user's digest below is a placeholder (bcrypt-shaped, not a real hash of anything):
-- review before delivery, as the runbook says.

-- 1. Users: 1 master, 3 admins, 1 supervisor, 1 vendedor.
INSERT INTO users (email_address, password_digest, name, role, created_at, updated_at)
SELECT v.email_address, v.password_digest, v.name, v.role, now(), now()
FROM (VALUES
  ('master@phonefin.example',     '$2a$12$Q0hN4YvYb1sVQm2yV0m3Fe8k5o3m0p2d3K3xqj6cY8Yp4B9mW1u2S', 'Master',              'master'),
  ('admin1@phonefin.example',     '$2a$12$7bJm3c1Y0e5sD9nQ2wV4Oe0rS3tU6vW8xY1zA2bC4dE6fG8hJ0kL2', 'Ana Administradora',  'admin'),
  ('admin2@phonefin.example',     '$2a$12$Lq9Pz8Xw7Vu6Ts5Rq4Po3OE2nM1lK0jI9hG8fE7dC6bA5zY4xW3vU', 'Bruno Administrador', 'admin'),
  ('admin3@phonefin.example',     '$2a$12$Mn0Bv9Cx8Zl7Kj6Hg5Fd4Se3Aw2Qq1Ee0Rr9Tt8Yy7Uu6Ii5Oo4Pp', 'Carla Administradora','admin'),
  ('supervisor@phonefin.example', '$2a$12$Zx1Cv2Bn3Mm4Ll5Kk6Jj7Hh8Gg9Ff0Dd1Ss2Aa3Qq4Ww5Ee6Rr7Tt', 'Diego Supervisor',    'supervisor'),
  ('vendedor@phonefin.example',   '$2a$12$Yu8Ii9Oo0Pp1Aa2Ss3Dd4Ff5Gg6Hh7Jj8Kk9Ll0Zz1Xx2Cc3Vv4Bb', 'Elena Vendedora',     'vendedor')
) AS v(email_address, password_digest, name, role)
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email_address = v.email_address);

-- 2. Phone model catalog: 10 models.
INSERT INTO phone_models (brand, name, storage_gb, price, created_at, updated_at)
SELECT v.brand, v.name, v.storage_gb, v.price, now(), now()
FROM (VALUES
  ('Samsung',  'Galaxy A15',       128,  3999.00),
  ('Samsung',  'Galaxy A25',       128,  5499.00),
  ('Samsung',  'Galaxy A35',       256,  7299.00),
  ('Samsung',  'Galaxy A55',       256,  8999.00),
  ('Motorola', 'Moto G24',         128,  2999.00),
  ('Motorola', 'Moto G54',         256,  4499.00),
  ('Xiaomi',   'Redmi 13C',        128,  2799.00),
  ('Xiaomi',   'Redmi Note 13',    256,  4999.00),
  ('Apple',    'iPhone 13',        128, 12999.00),
  ('Apple',    'iPhone 15',        128, 17999.00)
) AS v(brand, name, storage_gb, price)
WHERE NOT EXISTS (
  SELECT 1 FROM phone_models p WHERE p.brand = v.brand AND p.name = v.name AND p.storage_gb = v.storage_gb
);

-- 3. System settings: the support phone shown on locked devices.
INSERT INTO system_settings (key, value, description, created_at, updated_at)
SELECT 'support_phone', '+1 555 0100', 'Shown on the lock screen of devices under MDM', now(), now()
WHERE NOT EXISTS (SELECT 1 FROM system_settings s WHERE s.key = 'support_phone');
