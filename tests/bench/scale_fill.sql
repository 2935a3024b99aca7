-- scale_fill.sql: sagas :lo..:hi of a bench_scale.sh history of :n
-- sagas (psql -v n=N -v lo=L -v hi=H -v t0="'...'" -f ...), 4 events
-- each, written straight into the service's tables (the schema comes
-- from the service's own migrations).
--
-- The history spans 31 days from :t0, in saga order: saga g was last
-- updated at t0 + g * 31 days / n, so each day is a contiguous range of
-- g (bench_scale.sh refills the first day after purging it; rows that
-- are there already are left as they are).  Keys grow
-- with g (zero-padded ids), so every index is appended to, not split at
-- random, and a fill costs about what COPY would.
--
-- Final statuses: 70 % COMPLETED, 20 % COMPENSATED, 4 % FAILED,
-- 2 % COMPENSATING, 2 % STARTED, 2 % IN_PROGRESS; sagas run 40 s.
WITH s AS (
    SELECT g,
        'scale-' || lpad(g::text, 9, '0') AS saga_id,
        :t0::timestamptz + g * (interval '31 days' / :n) AS at,
        CASE WHEN g % 50 < 35 THEN 'COMPLETED'
            WHEN g % 50 < 45 THEN 'COMPENSATED'
            WHEN g % 50 < 47 THEN 'FAILED'
            WHEN g % 50 < 48 THEN 'COMPENSATING'
            WHEN g % 50 < 49 THEN 'STARTED'
            ELSE 'IN_PROGRESS' END AS status
    FROM generate_series(:lo::int8, :hi::int8) AS g
)
INSERT INTO saga_instance (saga_id, saga_type, order_id, status,
    current_step, started_at, updated_at, failed_at, compensated_at,
    completed_at, trace_id, failure_reason, metadata)
SELECT saga_id,
    (ARRAY['ORDER_CHECKOUT', 'REFUND', 'SUBSCRIPTION'])[1 + g % 3],
    'order-' || lpad(g::text, 9, '0'),
    status,
    (ARRAY['STOCK_RESERVE', 'PAYMENT_INIT', 'SHIPPING', 'NOTIFY'])[1 + g % 4],
    at - interval '40 seconds',
    at,
    CASE WHEN status IN ('FAILED', 'COMPENSATING', 'COMPENSATED')
        THEN at - interval '20 seconds' END,
    CASE WHEN status = 'COMPENSATED' THEN at END,
    CASE WHEN status = 'COMPLETED' THEN at END,
    md5(g::text),
    CASE WHEN status IN ('FAILED', 'COMPENSATING', 'COMPENSATED')
        THEN 'Payment declined' END,
    jsonb_build_object('attempt', g % 5, 'region', 'eu-west-1')
FROM s
ORDER BY g
ON CONFLICT DO NOTHING;

WITH s AS (
    SELECT g,
        'scale-' || lpad(g::text, 9, '0') AS saga_id,
        :t0::timestamptz + g * (interval '31 days' / :n) AS at,
        CASE WHEN g % 50 < 35 THEN ARRAY['STARTED', 'IN_PROGRESS',
                'IN_PROGRESS', 'COMPLETED']
            WHEN g % 50 < 45 THEN ARRAY['STARTED', 'FAILED',
                'COMPENSATING', 'COMPENSATED']
            WHEN g % 50 < 47 THEN ARRAY['STARTED', 'IN_PROGRESS',
                'IN_PROGRESS', 'FAILED']
            WHEN g % 50 < 48 THEN ARRAY['STARTED', 'IN_PROGRESS',
                'FAILED', 'COMPENSATING']
            WHEN g % 50 < 49 THEN ARRAY['STARTED', 'STARTED',
                'STARTED', 'STARTED']
            ELSE ARRAY['STARTED', 'IN_PROGRESS', 'IN_PROGRESS',
                'IN_PROGRESS'] END AS statuses
    FROM generate_series(:lo::int8, :hi::int8) AS g
)
INSERT INTO saga_event (event_id, saga_id, saga_type, order_id, step,
    status, occurred_at, received_at, source, kafka_partition,
    kafka_offset, metadata, trace_id)
SELECT saga_id || '-' || k, saga_id,
    (ARRAY['ORDER_CHECKOUT', 'REFUND', 'SUBSCRIPTION'])[1 + g % 3],
    'order-' || lpad(g::text, 9, '0'),
    (ARRAY['ORDER_CREATE', 'STOCK_RESERVE', 'PAYMENT_INIT', 'NOTIFY'])[k],
    statuses[k],
    at - (4 - k) * interval '10 seconds',
    at - (4 - k) * interval '10 seconds' + interval '50 milliseconds',
    'kafka', (g % 8)::int4, g * 4 + k,
    CASE WHEN statuses[k] = 'FAILED'
        THEN '{"failureReason": "Payment declined"}'::jsonb END,
    md5(g::text)
FROM s CROSS JOIN generate_series(1, 4) AS k
ORDER BY g, k
ON CONFLICT DO NOTHING;
