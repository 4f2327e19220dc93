-- The simulated payment gateway's own ledger: one row per order and operation.
-- The primary key makes the gateway idempotent: the first request for an
-- (order, operation) decides its outcome, every retry or replay reads it back.
CREATE TABLE IF NOT EXISTS gateway_ledger (
  order_id CHAR(36) NOT NULL,
  operation ENUM('CHARGE', 'REFUND') NOT NULL,
  status ENUM('SUCCEEDED', 'FAILED') NOT NULL,
  amount BIGINT UNSIGNED NOT NULL,
  decided_at DATETIME(6) NOT NULL,
  PRIMARY KEY (order_id, operation)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
