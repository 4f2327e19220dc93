-- Members, the product catalog, orders and payments: the columns of the contract.
CREATE TABLE IF NOT EXISTS members (
  member_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(254) NOT NULL,
  name VARCHAR(100) NOT NULL,
  role ENUM('member', 'admin') NOT NULL DEFAULT 'member',
  password_hash VARCHAR(255) NOT NULL,
  token_version INT UNSIGNED NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_members_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS products (
  product_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  price BIGINT UNSIGNED NOT NULL,
  sale_price BIGINT UNSIGNED NOT NULL,
  stock INT UNSIGNED NOT NULL,
  per_user_limit INT UNSIGNED NOT NULL DEFAULT 1,
  sale_starts_at DATETIME(6) NULL,
  sale_ends_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS orders (
  order_id CHAR(36) NOT NULL PRIMARY KEY,
  member_id BIGINT UNSIGNED NOT NULL,
  product_id BIGINT UNSIGNED NOT NULL,
  qty INT UNSIGNED NOT NULL,
  amount BIGINT UNSIGNED NOT NULL,
  status VARCHAR(16) NOT NULL,
  reason VARCHAR(32) NULL,
  status_rank TINYINT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NULL,
  KEY ix_orders_member (member_id, created_at),
  KEY ix_orders_product_status (product_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS payments (
  payment_id CHAR(36) NOT NULL PRIMARY KEY,
  order_id CHAR(36) NOT NULL,
  kind ENUM('CHARGE', 'REFUND') NOT NULL,
  status ENUM('SUCCEEDED', 'FAILED') NOT NULL,
  amount BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_payments_order_kind (order_id, kind)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
