-- api_load.sql: :rows sagas for bench_api.sh (psql -v rows=N -f ...).
--
-- Statuses cycle through all six (one in six is FAILED), four sagas share
-- each second of updated_at (ties on the keyset), every row has the
-- optional columns a real failed saga has, and metadata is a small object.
INSERT INTO saga_instance (saga_id, saga_type, order_id, status,
    current_step, started_at, updated_at, failed_at, compensated_at,
    completed_at, trace_id, failure_reason, metadata)
SELECT 'bench-' || lpad(g::text, 7, '0'),
    (ARRAY['ORDER_CHECKOUT', 'REFUND', 'SUBSCRIPTION'])[1 + g % 3],
    'order-' || (g / 2),
    s.status,
    (ARRAY['STOCK_RESERVE', 'PAYMENT_INIT', 'SHIPPING'])[1 + g % 3],
    t.at - interval '30 seconds',
    t.at,
    CASE WHEN s.status IN ('FAILED', 'COMPENSATING', 'COMPENSATED')
        THEN t.at - interval '10 seconds' END,
    CASE WHEN s.status = 'COMPENSATED' THEN t.at END,
    CASE WHEN s.status = 'COMPLETED' THEN t.at END,
    md5(g::text),
    CASE WHEN s.status IN ('FAILED', 'COMPENSATING', 'COMPENSATED')
        THEN 'Payment declined' END,
    jsonb_build_object('attempt', g % 5, 'region', 'eu-west-1')
FROM generate_series(1, :rows) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['STARTED', 'IN_PROGRESS', 'COMPLETED',
    'FAILED', 'COMPENSATING', 'COMPENSATED'])[1 + (g * 7) % 6] AS status) s
CROSS JOIN LATERAL (SELECT timestamptz '2026-01-01 00:00:00+00' +
    (g / 4) * interval '1 second' + (g % 4) * interval '250 milliseconds'
    AS at) t;

VACUUM ANALYZE saga_instance;
