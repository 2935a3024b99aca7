/*
 * metrics: the Prometheus metrics of SPEC §3, kept in one shared memory
 * segment that every kore process updates and any of them can render.
 *
 * Life cycle:
 *   parent, before fork:	metrics_segment_create()
 *   each worker:		metrics_attach_stripe(worker id)
 *   anywhere:			the update helpers below, metrics_render()
 *				(metrics_render.h)
 *   parent teardown:		metrics_segment_destroy()
 *
 * Counters and histograms are striped: each process adds into its own
 * stripe with one relaxed atomic add, a scrape sums the stripes.  A
 * stripe outlives the process that wrote it, so totals never go down
 * when a worker dies; a respawned worker attaches the same stripe and
 * keeps counting.  Gauges are single shared cells (last writer wins).
 *
 * Label values are claimed at run time from bounded tables; a value
 * that does not fit (table full, empty, longer than METRICS_VALUE_MAX - 1
 * bytes, not UTF-8, or the literal "other") is counted under "other".
 *
 * The update functions are safe from any thread of any process that
 * inherited the segment.  Before metrics_segment_create() (or after
 * metrics_segment_destroy()) they do nothing.  No kore dependency.
 */

#ifndef SAGA_METRICS_H
#define SAGA_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_BUCKETS_MAX	32	/* bounds per histogram, +Inf apart */
#define METRICS_STRIPES_MAX	256
#define METRICS_STEPS_MAX	4096	/* highest max_step_labels */
#define METRICS_REASONS_MAX	32	/* distinct rejection reasons */
#define METRICS_ENDPOINTS_MAX	32	/* distinct route templates */
#define METRICS_METHODS_MAX	8	/* distinct HTTP methods */
#define METRICS_CODES_MAX	24	/* distinct HTTP status codes */
#define METRICS_QUERIES_MAX	64	/* distinct query names */
#define METRICS_PARTITIONS_MAX	64	/* partitions 0..63 get own lag */
#define METRICS_TABLES_MAX	8	/* distinct retention tables */
#define METRICS_VALUE_MAX	128	/* label value, NUL included */
#define METRICS_VERSION_MAX	64	/* build version, NUL included */
#define METRICS_OTHER		"other"

/* The families of SPEC §3 and §5, rendered in this order. */
enum metrics_family {
	METRICS_SAGA_ACTIVE = 0,	/* gauge {status} */
	METRICS_SAGA_FAILED,		/* counter */
	METRICS_SAGA_COMPENSATED,	/* counter */
	METRICS_COMPENSATION_DURATION,	/* histogram */
	METRICS_EVENTS_PROCESSED,	/* counter {step,status} */
	METRICS_EVENTS_REJECTED,	/* counter {reason} */
	METRICS_LAST_FAILED,		/* gauge */
	METRICS_PENDING,		/* gauge */
	METRICS_PENDING_OLDEST,		/* gauge */
	METRICS_CONSUMER_LAG,		/* gauge, and {partition} */
	METRICS_CONSUMER_LAG_AGE,	/* gauge, age of the lag reading */
	METRICS_CONSUMER_PARTITIONS,	/* gauge */
	METRICS_GAUGES_AGE,		/* gauge, age of the db gauges */
	METRICS_DB_UP,			/* gauge, 1 or 0 */
	METRICS_API_LATENCY,		/* histogram {endpoint,method,code} */
	METRICS_DB_QUERY,		/* histogram {query} */
	METRICS_RETENTION_DELETED,	/* counter {table} */
	METRICS_EVENT_DELAY,		/* histogram */
	METRICS_BUILD_INFO,		/* gauge {version} = 1 */
	METRICS_FAMILY_COUNT
};

struct metrics_params {
	unsigned int	max_step_labels;	/* 0..METRICS_STEPS_MAX */
	unsigned int	max_stripes;		/* 1..METRICS_STRIPES_MAX */
	const char	*version;		/* build_info{version} */

	/* Histogram upper bounds, finite and strictly increasing. */
	const double	*compensation_buckets;
	size_t		compensation_bucket_count;
	const double	*api_buckets;		/* NULL: 0.001 .. 10 */
	size_t		api_bucket_count;
	const double	*db_buckets;		/* NULL: 0.001 .. 10 */
	size_t		db_bucket_count;
	const double	*delay_buckets;		/* NULL: 0.1 .. 600 */
	size_t		delay_bucket_count;

	/* SLO thresholds made bounds of their histograms (0: none). */
	double		api_slo_bound;		/* api_latency */
	double		delay_slo_bound;	/* event_freshness */
};

/*
 * A resolved series: pass it by value to the update functions.  Valid
 * until metrics_segment_destroy(); callers on a hot path may keep it.
 */
struct metrics_series {
	uint32_t	family;
	uint32_t	cell;
};

/*
 * Map the segment (MAP_SHARED | MAP_ANONYMOUS) and lay it out.  Call
 * once, in the kore parent before the workers fork.  Returns 0, or -1
 * with a message in err.  The caller keeps stripe 0 until it attaches.
 */
int		metrics_segment_create(const struct metrics_params *p,
		    char *err, size_t errlen);
void		metrics_segment_destroy(void);

/*
 * Select the stripe this process adds into: the kore worker id (1..N),
 * 0 for the parent or anything else.  All threads of the process share
 * it; updates stay atomic, so sharing a stripe is correct, only slower.
 * Returns -1 (and uses stripe 0) if stripe >= max_stripes.
 */
int		metrics_attach_stripe(unsigned int stripe);

/*
 * Generic layer.  values holds one label value per label of the family
 * (NULL for families without labels; METRICS_CONSUMER_LAG resolves to
 * the total).  Returns 0, 1 if some value was counted as "other", or -1
 * if there is no segment or the family has no such series.  Resolving
 * costs a hash lookup; the update with a kept handle is one atomic add.
 * Use a handle only with the functions of its family's type: counter_*
 * for counters, histogram_* for histograms, gauge_* for gauges.
 * metrics_gauge_raise() stores v only if it exceeds the current value.
 */
int		metrics_series_lookup(enum metrics_family family,
		    const char *const *values, struct metrics_series *s);
void		metrics_counter_add(struct metrics_series s, uint64_t n);
void		metrics_histogram_observe(struct metrics_series s, double v);
void		metrics_gauge_set(struct metrics_series s, double v);
void		metrics_gauge_raise(struct metrics_series s, double v);
uint64_t	metrics_counter_value(struct metrics_series s);
double		metrics_gauge_value(struct metrics_series s);

/* Typed helpers, one per SPEC §3 family.  Durations in seconds. */
void		metrics_event_processed(const char *step, const char *status);
void		metrics_event_rejected(const char *reason);
void		metrics_saga_failed(double failed_at_unix);
void		metrics_saga_compensated(void);
void		metrics_compensation_observe(double seconds);
void		metrics_last_failed_raise(double failed_at_unix);
int		metrics_active_set(const char *status, int64_t count);
void		metrics_pending_set(int64_t count, double oldest_seconds);
void		metrics_consumer_lag_set(int64_t total);
int		metrics_consumer_lag_partition_set(int32_t partition,
		    int64_t lag);
void		metrics_consumer_lag_partition_clear(int32_t partition);
/*
 * saga_tracker_consumer_lag has no sample before its first set (unknown
 * is not 0).  The two _age_seconds gauges are rendered as the seconds
 * since their stamp (the segment's creation until the first one):
 * lag_read when the group's lag was read from the broker, gauges_read
 * when the database-derived gauges were refreshed.
 */
void		metrics_consumer_lag_read(void);
void		metrics_consumer_partitions_set(int count);
void		metrics_gauges_read(void);
void		metrics_db_up_set(int up);
/*
 * One API answer: its route template, method and HTTP status (code is
 * its decimal text; a status outside 100..599 is counted as "other").
 */
void		metrics_api_observe(const char *endpoint, const char *method,
		    int status, double seconds);
void		metrics_db_observe(const char *query, double seconds);
void		metrics_retention_deleted(const char *table, uint64_t rows);
void		metrics_event_delay_observe(double seconds);

/* Monotonic seconds: what every _seconds histogram is timed with. */
double		metrics_now(void);

#endif
