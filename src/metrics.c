/*
 * metrics: owns the shared metrics segment, the label value tables in
 * it and the update paths.  The layout definitions it shares with the
 * text exposition (metrics_render.c) are in metrics_segment.h.
 *
 * Segment.  One MAP_SHARED | MAP_ANONYMOUS mapping made by the kore
 * parent before fork, so every worker (and a respawned one) sees it at
 * the same address.  Its size is fixed at creation.  It starts with a
 * header (magic, layout version, offsets of every region, histogram
 * bounds) that is written once and then only read, followed by:
 *
 *	label tables	one per label dimension (step, status, reason,
 *			endpoint, method, code, query, table): an open
 *			addressing hash table of claimed values plus
 *			ordinal -> entry map
 *	used flags	one byte per labelled series, set when the series
 *			is first resolved; only used series are rendered
 *	gauges		one 64-bit cell per gauge series (double bits)
 *	stripes		max_stripes copies of every counter and histogram
 *			cell, each copy 128-byte aligned
 *
 * Why stripes.  A counter increment is one relaxed atomic add into the
 * caller's own stripe: no lock, no branch on contention, and no cache
 * line shared with another worker, because stripe n is written only by
 * worker n (and its threads).  A scrape sums the cell over all stripes,
 * which is cheap: max_stripes is workers + a few, and scrapes are rare
 * next to increments.  The add stays atomic (not a plain load/store)
 * because threads of one process share its stripe, stripe 0 is shared
 * by the parent and anyone unattached, and a respawned worker reuses
 * its predecessor's stripe.  Stripes are never reset, so a counter
 * keeps what a dead worker added: it never goes down while the parent
 * lives.  Gauges have set semantics, so they are single cells.
 *
 * Histograms keep per-bucket (not cumulative) counts plus one +Inf
 * bucket and a sum; _count is the sum of all buckets at render time, so
 * +Inf always equals _count.  An observation is one atomic add and one
 * compare-and-swap on the sum (uncontended: own stripe).
 *
 * Label values.  A series index is the product of label ordinals; every
 * cell is preallocated, so resolving a series only maps strings to
 * ordinals.  A value is claimed by CAS on a hash table entry (FREE ->
 * BUSY with the hash tag), then takes the next ordinal of its dimension
 * and turns READY; past the dimension's bound it becomes DEAD and the
 * value maps to "other", the extra ordinal each dimension reserves.
 * Nothing is ever deleted, so probing stops at a FREE entry.  A reader
 * that meets a BUSY entry with its own tag waits for it.  The entry names
 * the claiming process; only when that process is gone (or after
 * SEG_GIVEUP_NSEC, should its pid have been reused) does the reader mark
 * the entry DEAD so the value is claimed afresh.  A claimer that is only
 * descheduled, as on a loaded machine, is always waited for: giving up
 * on it would split one value over two series.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fnv.h"
#include "metrics.h"
#include "metrics_segment.h"
#include "utf8.h"

#define SEG_MAGIC		0x3152544d41474153ULL	/* "SAGAMTR1" */
#define SEG_LAYOUT		3
#define SEG_TABLE_MIN		16
#define SEG_WAIT_NSEC		1000000LL	/* spin, then nap and check */
#define SEG_NAP_NSEC		100000L
#define SEG_GIVEUP_NSEC		5000000000LL

#define ENT_FREE		0
#define ENT_BUSY		1
#define ENT_READY		2
#define ENT_DEAD		3
#define ENT_STATE(w)		((w) & 3)
#define ENT_TAG(w)		((w) >> 2)

const struct family_def	metrics_families[METRICS_FAMILY_COUNT] = {
	[METRICS_SAGA_ACTIVE] = { "saga_active_total",
	    "Sagas per current status, refreshed from the database.",
	    TYPE_GAUGE, -1, 1, { DIM_STATUS }, { "status" } },
	[METRICS_SAGA_FAILED] = { "saga_failed_total",
	    "Sagas that entered the failure path.",
	    TYPE_COUNTER, -1, 0, { 0 }, { NULL } },
	[METRICS_SAGA_COMPENSATED] = { "saga_compensated_total",
	    "Sagas that reached COMPENSATED.",
	    TYPE_COUNTER, -1, 0, { 0 }, { NULL } },
	[METRICS_COMPENSATION_DURATION] = {
	    "saga_compensation_duration_seconds",
	    "Time from failedAt to compensatedAt of compensated sagas.",
	    TYPE_HISTOGRAM, HIST_COMPENSATION, 0, { 0 }, { NULL } },
	[METRICS_EVENTS_PROCESSED] = { "saga_events_processed_total",
	    "Saga events applied, by step and status.",
	    TYPE_COUNTER, -1, 2, { DIM_STEP, DIM_STATUS },
	    { "step", "status" } },
	[METRICS_EVENTS_REJECTED] = { "saga_events_rejected_total",
	    "Saga events rejected or in conflict, by reason.",
	    TYPE_COUNTER, -1, 1, { DIM_REASON }, { "reason" } },
	[METRICS_LAST_FAILED] = { "saga_last_failed_timestamp",
	    "Unix time in seconds of the newest saga failure.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_PENDING] = { "saga_compensation_pending",
	    "Failed-path sagas not yet COMPENSATED.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_PENDING_OLDEST] = {
	    "saga_compensation_pending_oldest_seconds",
	    "Age in seconds of the oldest pending compensation, 0 if none.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_CONSUMER_LAG] = { "saga_tracker_consumer_lag",
	    "Consumer group lag of the topic in messages, from the broker.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_CONSUMER_LAG_AGE] = {
	    "saga_tracker_consumer_lag_age_seconds",
	    "Seconds since the consumer lag was last read from the broker.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_CONSUMER_PARTITIONS] = { "saga_tracker_consumer_partitions",
	    "Partitions assigned to this replica's consumer now.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_GAUGES_AGE] = { "saga_tracker_gauges_age_seconds",
	    "Seconds since the database-derived gauges were refreshed.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_DB_UP] = { "saga_tracker_db_up",
	    "1 when the last database check succeeded, else 0.",
	    TYPE_GAUGE, -1, 0, { 0 }, { NULL } },
	[METRICS_API_LATENCY] = { "saga_tracker_api_latency_seconds",
	    "HTTP request latency by route template, method and status code.",
	    TYPE_HISTOGRAM, HIST_API, 3, { DIM_ENDPOINT, DIM_METHOD, DIM_CODE },
	    { "endpoint", "method", "code" } },
	[METRICS_DB_QUERY] = { "saga_tracker_db_query_seconds",
	    "Database statement latency by query name.",
	    TYPE_HISTOGRAM, HIST_DB, 1, { DIM_QUERY }, { "query" } },
	[METRICS_RETENTION_DELETED] = {
	    "saga_tracker_retention_deleted_total",
	    "Rows removed by retention, by table.",
	    TYPE_COUNTER, -1, 1, { DIM_TABLE }, { "table" } },
	[METRICS_EVENT_DELAY] = { "saga_tracker_event_delay_seconds",
	    "From the Kafka message timestamp (else occurredAt) to the "
	    "commit that applied the event.",
	    TYPE_HISTOGRAM, HIST_DELAY, 0, { 0 }, { NULL } },
	[METRICS_BUILD_INFO] = { "saga_tracker_build_info",
	    "Build information; the value is always 1.",
	    TYPE_GAUGE, -1, 1, { 0 }, { "version" } },
};

static const char	*statuses[STATUS_COUNT] = {
	"STARTED", "IN_PROGRESS", "COMPLETED",
	"FAILED", "COMPENSATING", "COMPENSATED"
};

static const double	default_delay_buckets[] = {
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600
};

static const double	default_latency_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

static void		 bounds_insert(struct seg_hdr *, int, double);
static int		 params_check(const struct metrics_params *,
			    char *, size_t);
static int		 bounds_check(const char *, const double *, size_t,
			    char *, size_t);
static void		 layout(struct seg_hdr *,
			    const struct metrics_params *);
static uint64_t		 layout_dims(struct seg_hdr *,
			    const struct metrics_params *, uint64_t);
static void		 layout_families(struct seg_hdr *);
static void		 layout_bounds(struct seg_hdr *,
			    const struct metrics_params *);
static void		 seg_init(void);
static uint64_t		 align_up(uint64_t, uint64_t);
static uint64_t		 dbits(double);
static int64_t		 now_nsec(void);
static int		 value_ok(const char *, size_t *);
static int		 dim_lookup(enum dim_id, const char *, uint32_t *);
static int		 dim_claim(enum dim_id, uint32_t, const char *,
			    size_t, uint64_t, uint64_t *, uint32_t *);
static uint64_t		 entry_wait(struct seg_entry *, uint64_t);
static int		 owner_gone(int32_t);
static void		 mark_used(enum metrics_family, uint32_t);
static void		 counter_add_cell(uint32_t, uint64_t);
static void		 observe_cell(int, uint32_t, double);
static void		 gauge_store(uint32_t, double);
static void		 gauge_max(uint32_t, double);
static struct metrics_series	 series_fixed(enum metrics_family);

/* Process-local view of the segment, inherited across fork. */
static struct {
	_Atomic uint64_t	*cells;		/* this process's stripe */
} m;

struct seg_hdr		*metrics_seg;

int
metrics_segment_create(const struct metrics_params *p, char *err,
    size_t errlen)
{
	struct seg_hdr		hdr;
	void			*addr;

	if (metrics_seg != NULL) {
		snprintf(err, errlen, "metrics segment already exists");
		return (-1);
	}
	if (params_check(p, err, errlen) == -1)
		return (-1);

	memset(&hdr, 0, sizeof(hdr));
	layout(&hdr, p);

	addr = mmap(NULL, hdr.size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED) {
		snprintf(err, errlen, "metrics segment: mmap %llu bytes: %s",
		    (unsigned long long)hdr.size, strerror(errno));
		return (-1);
	}

	memcpy(addr, &hdr, sizeof(hdr));
	metrics_seg = addr;
	seg_init();
	m.cells = stripe_cells(0);

	return (0);
}

void
metrics_segment_destroy(void)
{
	if (metrics_seg == NULL)
		return;

	munmap(metrics_seg, metrics_seg->size);
	metrics_seg = NULL;
	memset(&m, 0, sizeof(m));
}

int
metrics_attach_stripe(unsigned int stripe)
{
	if (metrics_seg == NULL || metrics_seg->magic != SEG_MAGIC ||
	    metrics_seg->layout != SEG_LAYOUT)
		return (-1);

	if (stripe >= metrics_seg->nstripes) {
		m.cells = stripe_cells(0);
		return (-1);
	}

	m.cells = stripe_cells(stripe);
	return (0);
}

static int
params_check(const struct metrics_params *p, char *err, size_t errlen)
{
	size_t		len;

	if (p->max_step_labels > METRICS_STEPS_MAX) {
		snprintf(err, errlen, "metrics: max_step_labels %u > %u",
		    p->max_step_labels, METRICS_STEPS_MAX);
		return (-1);
	}
	if (p->max_stripes < 1 || p->max_stripes > METRICS_STRIPES_MAX) {
		snprintf(err, errlen, "metrics: max_stripes %u not in 1..%u",
		    p->max_stripes, METRICS_STRIPES_MAX);
		return (-1);
	}
	if (p->version == NULL || !value_ok(p->version, &len) ||
	    len >= METRICS_VERSION_MAX) {
		snprintf(err, errlen, "metrics: bad build version");
		return (-1);
	}
	if (bounds_check("compensation", p->compensation_buckets,
	    p->compensation_bucket_count, err, errlen) == -1 ||
	    bounds_check("api", p->api_buckets, p->api_bucket_count,
	    err, errlen) == -1 ||
	    bounds_check("db", p->db_buckets, p->db_bucket_count,
	    err, errlen) == -1 ||
	    bounds_check("delay", p->delay_buckets, p->delay_bucket_count,
	    err, errlen) == -1)
		return (-1);

	return (0);
}

static int
bounds_check(const char *what, const double *b, size_t n, char *err,
    size_t errlen)
{
	size_t		i;

	if (n > METRICS_BUCKETS_MAX || (n > 0 && b == NULL)) {
		snprintf(err, errlen, "metrics: %s buckets: 0..%d bounds",
		    what, METRICS_BUCKETS_MAX);
		return (-1);
	}

	for (i = 0; i < n; i++) {
		if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1])) {
			snprintf(err, errlen, "metrics: %s buckets: bound %zu "
			    "not finite and increasing", what, i + 1);
			return (-1);
		}
	}

	return (0);
}

/* Compute every offset of the segment into hdr. */
static void
layout(struct seg_hdr *hdr, const struct metrics_params *p)
{
	uint64_t	off;

	hdr->magic = SEG_MAGIC;
	hdr->layout = SEG_LAYOUT;
	hdr->hdr_size = sizeof(*hdr);
	hdr->nstripes = p->max_stripes;
	snprintf(hdr->version, sizeof(hdr->version), "%s", p->version);
	layout_bounds(hdr, p);

	off = layout_dims(hdr, p, align_up(sizeof(*hdr), SEG_ALIGN));
	layout_families(hdr);

	hdr->used_off = off;
	off = align_up(off + hdr->nused, SEG_ALIGN);
	hdr->gauge_off = off;
	off = align_up(off + hdr->ngauges * sizeof(uint64_t), SEG_ALIGN);
	hdr->stripe_off = off;
	hdr->stripe_stride = align_up(hdr->stripe_cells * sizeof(uint64_t),
	    SEG_ALIGN) / sizeof(uint64_t);
	off += hdr->nstripes * hdr->stripe_stride * sizeof(uint64_t);
	hdr->size = align_up(off, 4096);
}

static uint64_t
layout_dims(struct seg_hdr *hdr, const struct metrics_params *p,
    uint64_t off)
{
	struct seg_dim	*d;
	uint32_t	 size;
	int		 i;
	const uint32_t	 caps[DIM_COUNT] = {
		[DIM_STEP] = p->max_step_labels,
		[DIM_STATUS] = STATUS_COUNT,
		[DIM_REASON] = METRICS_REASONS_MAX,
		[DIM_ENDPOINT] = METRICS_ENDPOINTS_MAX,
		[DIM_METHOD] = METRICS_METHODS_MAX,
		[DIM_CODE] = METRICS_CODES_MAX,
		[DIM_QUERY] = METRICS_QUERIES_MAX,
		[DIM_TABLE] = METRICS_TABLES_MAX,
	};

	for (i = 0; i < DIM_COUNT; i++) {
		d = &hdr->dim[i];
		d->cap = caps[i];
		for (size = SEG_TABLE_MIN; size < 2 * d->cap; size *= 2)
			;
		d->mask = size - 1;
		d->ent_off = off;
		off += (uint64_t)size * sizeof(struct seg_entry);
		d->ord_off = off;
		off = align_up(off + (d->cap + 1) * sizeof(uint32_t),
		    SEG_ALIGN);
	}

	return (off);
}

static void
layout_families(struct seg_hdr *hdr)
{
	const struct family_def	*fd;
	struct seg_family	*f;
	unsigned int		 i, k;

	for (i = 0; i < METRICS_FAMILY_COUNT; i++) {
		if (i == METRICS_BUILD_INFO)	/* constant, no cells */
			continue;
		fd = &metrics_families[i];
		f = &hdr->fam[i];
		f->nseries = 1;
		for (k = 0; k < fd->nlabels; k++)
			f->nseries *= hdr->dim[fd->dim[k]].cap + 1;
		f->ncells = fd->type == TYPE_HISTOGRAM ?
		    hdr->nbounds[fd->hist] + 2 : 1;

		if (fd->type == TYPE_GAUGE) {
			if (i == METRICS_CONSUMER_LAG)
				f->nseries += METRICS_PARTITIONS_MAX;
			f->cell = hdr->ngauges;
			hdr->ngauges += f->nseries;
		} else {
			f->cell = hdr->stripe_cells;
			hdr->stripe_cells += f->nseries * f->ncells;
			f->used = hdr->nused;
			if (fd->nlabels > 0)
				hdr->nused += f->nseries;
		}
	}
}

static void
layout_bounds(struct seg_hdr *hdr, const struct metrics_params *p)
{
	const double	*b[HIST_COUNT];
	size_t		 n[HIST_COUNT];
	int		 h;
	uint32_t	 i;

	b[HIST_COMPENSATION] = p->compensation_buckets;
	n[HIST_COMPENSATION] = p->compensation_bucket_count;
	b[HIST_API] = p->api_buckets;
	n[HIST_API] = p->api_bucket_count;
	b[HIST_DB] = p->db_buckets;
	n[HIST_DB] = p->db_bucket_count;
	b[HIST_DELAY] = p->delay_buckets;
	n[HIST_DELAY] = p->delay_bucket_count;

	for (h = HIST_API; h <= HIST_DB; h++) {
		if (b[h] == NULL) {
			b[h] = default_latency_buckets;
			n[h] = sizeof(default_latency_buckets) /
			    sizeof(default_latency_buckets[0]);
		}
	}
	if (b[HIST_DELAY] == NULL) {
		b[HIST_DELAY] = default_delay_buckets;
		n[HIST_DELAY] = sizeof(default_delay_buckets) /
		    sizeof(default_delay_buckets[0]);
	}

	for (h = 0; h < HIST_COUNT; h++) {
		hdr->nbounds[h] = n[h];
		for (i = 0; i < n[h]; i++)
			hdr->bounds[h][i] = b[h][i];
	}
	bounds_insert(hdr, HIST_API, p->api_slo_bound);
	bounds_insert(hdr, HIST_DELAY, p->delay_slo_bound);
	for (h = 0; h < HIST_COUNT; h++) {
		for (i = 0; i < hdr->nbounds[h]; i++)
			format_double(hdr->le[h][i], SEG_LE_MAX,
			    hdr->bounds[h][i]);
	}
}

/*
 * Make v (> 0) a bound of histogram h, in order, if it is not one: an
 * SLO's threshold must be a bucket's le for its rules to read it.  A
 * full list keeps its bounds (metrics_segment_create refused that).
 */
static void
bounds_insert(struct seg_hdr *hdr, int h, double v)
{
	uint32_t	i, k;

	if (!(v > 0) || hdr->nbounds[h] >= METRICS_BUCKETS_MAX)
		return;
	for (i = 0; i < hdr->nbounds[h] && hdr->bounds[h][i] < v; i++)
		;
	if (i < hdr->nbounds[h] && hdr->bounds[h][i] == v)
		return;
	for (k = hdr->nbounds[h]; k > i; k--)
		hdr->bounds[h][k] = hdr->bounds[h][k - 1];
	hdr->bounds[h][i] = v;
	hdr->nbounds[h]++;
}

/* Fill the fresh segment: gauges without value, seeded statuses. */
static void
seg_init(void)
{
	_Atomic uint64_t	*g;
	uint32_t		 i, ord, first;

	g = seg_at(metrics_seg->gauge_off);
	/* The lag has no sample until its first reading (not 0). */
	first = metrics_seg->fam[METRICS_CONSUMER_LAG].cell;
	for (i = 0; i <= METRICS_PARTITIONS_MAX; i++)
		atomic_store(&g[first + i], SEG_ABSENT);
	/* Ages count from the start until the first reading. */
	gauge_store(metrics_seg->fam[METRICS_CONSUMER_LAG_AGE].cell,
	    metrics_now());
	gauge_store(metrics_seg->fam[METRICS_GAUGES_AGE].cell, metrics_now());

	for (i = 0; i < STATUS_COUNT; i++)
		(void)dim_lookup(DIM_STATUS, statuses[i], &ord);
}

static uint64_t
align_up(uint64_t v, uint64_t a)
{
	return ((v + a - 1) / a * a);
}

static uint64_t
dbits(double d)
{
	uint64_t	u;

	if (isnan(d))
		d = NAN;
	memcpy(&u, &d, sizeof(u));
	return (u);
}

double
metrics_now(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static int64_t
now_nsec(void)
{
	struct timespec		ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* A value we may store as a label value; its length in *len. */
static int
value_ok(const char *v, size_t *len)
{
	if (v == NULL)
		return (0);

	*len = strnlen(v, METRICS_VALUE_MAX);
	if (*len == 0 || *len == METRICS_VALUE_MAX)
		return (0);

	return (utf8_valid(v, *len, NULL));
}
/*
 * Map a label value to its ordinal in dimension id, claiming it if new.
 * Returns 0, or 1 with the "other" ordinal.
 */
static int
dim_lookup(enum dim_id id, const char *v, uint32_t *ord)
{
	const struct seg_dim	*d;
	struct seg_entry	*ent;
	uint64_t		 h, w;
	uint32_t		 i, n;
	size_t			 len;

	d = &metrics_seg->dim[id];
	*ord = d->cap;
	if (!value_ok(v, &len) || strcmp(v, METRICS_OTHER) == 0)
		return (1);

	ent = seg_at(d->ent_off);
	h = fnv1a64(v, len);
	i = h & d->mask;
	for (n = 0; n <= d->mask; n++, i = (i + 1) & d->mask) {
		w = atomic_load_explicit(&ent[i].state, memory_order_acquire);
		if (w == ENT_FREE) {
			if (atomic_load_explicit(&metrics_seg->claimed[id],
			    memory_order_relaxed) >= d->cap)
				return (1);
			if (dim_claim(id, i, v, len, ENT_TAG(h), &w, ord))
				return (*ord == d->cap);
		}
		if (ENT_TAG(w) != ENT_TAG(h))
			continue;
		if (ENT_STATE(w) == ENT_BUSY)
			w = entry_wait(&ent[i], w);
		if (ENT_STATE(w) == ENT_READY && ent[i].len == len &&
		    memcmp(ent[i].value, v, len) == 0) {
			*ord = ent[i].ord;
			return (0);
		}
	}

	return (1);
}

/*
 * Try to claim the free entry i for v.  Returns 1 when claimed (*ord is
 * the new ordinal or "other"), 0 when another process took the entry
 * first (*w is then its state, to be examined by the caller).
 */
static int
dim_claim(enum dim_id id, uint32_t i, const char *v, size_t len,
    uint64_t tag, uint64_t *w, uint32_t *ord)
{
	const struct seg_dim	*d;
	struct seg_entry	*e;
	_Atomic uint32_t	*ords;
	uint64_t		 busy;
	uint32_t		 ticket;

	d = &metrics_seg->dim[id];
	e = (struct seg_entry *)seg_at(d->ent_off) + i;
	busy = tag << 2 | ENT_BUSY;
	*w = ENT_FREE;
	if (!atomic_compare_exchange_strong_explicit(&e->state, w, busy,
	    memory_order_acq_rel, memory_order_acquire))
		return (0);

	atomic_store_explicit(&e->owner, (int32_t)getpid(),
	    memory_order_release);
	*ord = d->cap;
	ticket = atomic_fetch_add_explicit(&metrics_seg->claimed[id], 1,
	    memory_order_relaxed);
	if (ticket >= d->cap) {
		atomic_store_explicit(&e->state, tag << 2 | ENT_DEAD,
		    memory_order_release);
		return (1);
	}

	memcpy(e->value, v, len);
	e->value[len] = '\0';
	e->len = len;
	e->ord = ticket;
	if (!atomic_compare_exchange_strong_explicit(&e->state, &busy,
	    tag << 2 | ENT_READY, memory_order_release, memory_order_relaxed))
		return (1);

	ords = seg_at(d->ord_off);
	atomic_store_explicit(&ords[ticket], i + 1, memory_order_release);
	*ord = ticket;

	return (1);
}

/*
 * Wait for a BUSY entry.  Spin briefly, then nap and look again; mark it
 * DEAD only when its claimer's process is gone, or after SEG_GIVEUP_NSEC.
 */
static uint64_t
entry_wait(struct seg_entry *e, uint64_t w)
{
	struct timespec	nap = { 0, SEG_NAP_NSEC };
	int64_t		start, now;
	int32_t		owner;
	uint64_t	spins;

	start = now_nsec();
	for (spins = 1; ENT_STATE(w) == ENT_BUSY; spins++) {
		w = atomic_load_explicit(&e->state, memory_order_acquire);
		if (ENT_STATE(w) != ENT_BUSY || (spins & 1023) != 0 ||
		    (now = now_nsec()) - start < SEG_WAIT_NSEC)
			continue;

		owner = atomic_load_explicit(&e->owner, memory_order_acquire);
		if (!owner_gone(owner) && now - start < SEG_GIVEUP_NSEC) {
			(void)nanosleep(&nap, NULL);
			continue;
		}
		if (atomic_compare_exchange_strong_explicit(&e->state, &w,
		    (w & ~3ULL) | ENT_DEAD, memory_order_acq_rel,
		    memory_order_acquire))
			return ((w & ~3ULL) | ENT_DEAD);
	}

	return (w);
}

/* 1 if no process has pid owner (0: not yet recorded, so alive). */
static int
owner_gone(int32_t owner)
{
	if (owner <= 0)
		return (0);

	return (kill((pid_t)owner, 0) == -1 && errno == ESRCH);
}

int
metrics_series_lookup(enum metrics_family family, const char *const *values,
    struct metrics_series *s)
{
	const struct family_def	*fd;
	uint32_t		 ord[LABELS_MAX] = { 0, 0, 0 };
	uint32_t		 index;
	unsigned int		 k;
	int			 other;

	s->family = family;
	s->cell = 0;
	if (metrics_seg == NULL || family >= METRICS_FAMILY_COUNT ||
	    family == METRICS_BUILD_INFO)
		return (-1);

	fd = &metrics_families[family];
	other = 0;
	for (k = 0; k < fd->nlabels; k++)
		other |= dim_lookup(fd->dim[k], values ? values[k] : NULL,
		    &ord[k]);

	index = series_index(fd, ord);
	s->cell = metrics_seg->fam[family].cell +
	    index * metrics_seg->fam[family].ncells;
	if (fd->nlabels > 0 && fd->type != TYPE_GAUGE)
		mark_used(family, index);

	return (other);
}

static void
mark_used(enum metrics_family family, uint32_t series)
{
	_Atomic uint8_t		*used;

	used = seg_at(metrics_seg->used_off);
	used += metrics_seg->fam[family].used + series;
	if (atomic_load_explicit(used, memory_order_relaxed) == 0)
		atomic_store_explicit(used, 1, memory_order_relaxed);
}

static struct metrics_series
series_fixed(enum metrics_family family)
{
	struct metrics_series	s;

	s.family = family;
	s.cell = metrics_seg->fam[family].cell;
	return (s);
}

void
metrics_counter_add(struct metrics_series s, uint64_t n)
{
	counter_add_cell(s.cell, n);
}

static void
counter_add_cell(uint32_t cell, uint64_t n)
{
	_Atomic uint64_t	*c;

	if ((c = m.cells) == NULL)
		return;

	atomic_fetch_add_explicit(&c[cell], n, memory_order_relaxed);
}

void
metrics_histogram_observe(struct metrics_series s, double v)
{
	if (s.family < METRICS_FAMILY_COUNT)
		observe_cell(metrics_families[s.family].hist, s.cell, v);
}

/* One observation of v into the histogram at cell of kind hist. */
static void
observe_cell(int hist, uint32_t cell, double v)
{
	_Atomic uint64_t	*c;
	const double		*b;
	uint64_t		 old;
	uint32_t		 i, nb;

	if ((c = m.cells) == NULL || hist < 0 || isnan(v))
		return;

	b = metrics_seg->bounds[hist];
	nb = metrics_seg->nbounds[hist];
	for (i = 0; i < nb && v > b[i]; i++)
		;
	c += cell;
	atomic_fetch_add_explicit(&c[i], 1, memory_order_relaxed);

	old = atomic_load_explicit(&c[nb + 1], memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&c[nb + 1], &old,
	    dbits(bitsd(old) + v), memory_order_relaxed, memory_order_relaxed))
		;
}

void
metrics_gauge_set(struct metrics_series s, double v)
{
	if (metrics_seg != NULL && s.family < METRICS_FAMILY_COUNT &&
	    metrics_families[s.family].type == TYPE_GAUGE)
		gauge_store(s.cell, v);
}

void
metrics_gauge_raise(struct metrics_series s, double v)
{
	if (metrics_seg != NULL && s.family < METRICS_FAMILY_COUNT &&
	    metrics_families[s.family].type == TYPE_GAUGE)
		gauge_max(s.cell, v);
}

static void
gauge_store(uint32_t cell, double v)
{
	_Atomic uint64_t	*g;

	g = seg_at(metrics_seg->gauge_off);
	atomic_store_explicit(&g[cell], dbits(v), memory_order_relaxed);
}

static void
gauge_max(uint32_t cell, double v)
{
	_Atomic uint64_t	*g;
	uint64_t		 old;

	if (isnan(v))
		return;

	g = (_Atomic uint64_t *)seg_at(metrics_seg->gauge_off) + cell;
	old = atomic_load_explicit(g, memory_order_relaxed);
	while (bitsd(old) < v || isnan(bitsd(old))) {
		if (atomic_compare_exchange_weak_explicit(g, &old, dbits(v),
		    memory_order_relaxed, memory_order_relaxed))
			break;
	}
}

uint64_t
metrics_counter_value(struct metrics_series s)
{
	if (metrics_seg == NULL || s.family >= METRICS_FAMILY_COUNT ||
	    metrics_families[s.family].type != TYPE_COUNTER)
		return (0);

	return (cell_sum(s.cell));
}

double
metrics_gauge_value(struct metrics_series s)
{
	if (metrics_seg == NULL || s.family >= METRICS_FAMILY_COUNT ||
	    metrics_families[s.family].type != TYPE_GAUGE)
		return (NAN);

	return (gauge_load(s.cell));
}

void
metrics_event_processed(const char *step, const char *status)
{
	struct metrics_series	s;
	const char		*v[2];

	v[0] = step;
	v[1] = status;
	if (metrics_series_lookup(METRICS_EVENTS_PROCESSED, v, &s) != -1)
		metrics_counter_add(s, 1);
}

void
metrics_event_rejected(const char *reason)
{
	struct metrics_series	s;

	if (metrics_series_lookup(METRICS_EVENTS_REJECTED, &reason, &s) != -1)
		metrics_counter_add(s, 1);
}

void
metrics_saga_failed(double failed_at_unix)
{
	if (metrics_seg == NULL)
		return;

	counter_add_cell(metrics_seg->fam[METRICS_SAGA_FAILED].cell, 1);
	gauge_max(metrics_seg->fam[METRICS_LAST_FAILED].cell, failed_at_unix);
}

void
metrics_saga_compensated(void)
{
	if (metrics_seg != NULL)
		counter_add_cell(
		    metrics_seg->fam[METRICS_SAGA_COMPENSATED].cell, 1);
}

void
metrics_compensation_observe(double seconds)
{
	if (metrics_seg != NULL)
		observe_cell(HIST_COMPENSATION,
		    metrics_seg->fam[METRICS_COMPENSATION_DURATION].cell,
		    seconds);
}

void
metrics_last_failed_raise(double failed_at_unix)
{
	if (metrics_seg != NULL)
		gauge_max(metrics_seg->fam[METRICS_LAST_FAILED].cell,
		    failed_at_unix);
}

int
metrics_active_set(const char *status, int64_t count)
{
	struct metrics_series	s;

	if (metrics_series_lookup(METRICS_SAGA_ACTIVE, &status, &s) != 0)
		return (-1);

	gauge_store(s.cell, (double)count);
	return (0);
}

void
metrics_pending_set(int64_t count, double oldest_seconds)
{
	if (metrics_seg == NULL)
		return;

	gauge_store(series_fixed(METRICS_PENDING).cell, (double)count);
	gauge_store(series_fixed(METRICS_PENDING_OLDEST).cell,
	    oldest_seconds);
}

void
metrics_consumer_lag_set(int64_t total)
{
	if (metrics_seg != NULL)
		gauge_store(series_fixed(METRICS_CONSUMER_LAG).cell,
		    (double)total);
}

int
metrics_consumer_lag_partition_set(int32_t partition, int64_t lag)
{
	if (metrics_seg == NULL || partition < 0 ||
	    partition >= METRICS_PARTITIONS_MAX)
		return (-1);

	gauge_store(series_fixed(METRICS_CONSUMER_LAG).cell + 1 + partition,
	    (double)lag);
	return (0);
}

void
metrics_consumer_lag_partition_clear(int32_t partition)
{
	_Atomic uint64_t	*g;
	uint32_t		 cell;

	if (metrics_seg == NULL || partition < 0 ||
	    partition >= METRICS_PARTITIONS_MAX)
		return;

	g = seg_at(metrics_seg->gauge_off);
	cell = series_fixed(METRICS_CONSUMER_LAG).cell + 1 + partition;
	atomic_store_explicit(&g[cell], SEG_ABSENT, memory_order_relaxed);
}

void
metrics_consumer_lag_read(void)
{
	if (metrics_seg != NULL)
		gauge_store(series_fixed(METRICS_CONSUMER_LAG_AGE).cell,
		    metrics_now());
}

void
metrics_consumer_partitions_set(int count)
{
	if (metrics_seg != NULL)
		gauge_store(series_fixed(METRICS_CONSUMER_PARTITIONS).cell,
		    (double)count);
}

void
metrics_gauges_read(void)
{
	if (metrics_seg != NULL)
		gauge_store(series_fixed(METRICS_GAUGES_AGE).cell,
		    metrics_now());
}

void
metrics_db_up_set(int up)
{
	if (metrics_seg != NULL)
		gauge_store(series_fixed(METRICS_DB_UP).cell, up ? 1.0 : 0.0);
}

void
metrics_api_observe(const char *endpoint, const char *method, int status,
    double seconds)
{
	struct metrics_series	s;
	const char		*v[3];
	char			 code[8];

	(void)snprintf(code, sizeof(code), "%d", status);
	v[0] = endpoint;
	v[1] = method;
	v[2] = status >= 100 && status <= 599 ? code : NULL;
	if (metrics_series_lookup(METRICS_API_LATENCY, v, &s) != -1)
		observe_cell(HIST_API, s.cell, seconds);
}

void
metrics_db_observe(const char *query, double seconds)
{
	struct metrics_series	s;

	if (metrics_series_lookup(METRICS_DB_QUERY, &query, &s) != -1)
		observe_cell(HIST_DB, s.cell, seconds);
}

void
metrics_event_delay_observe(double seconds)
{
	struct metrics_series	s;

	if (metrics_series_lookup(METRICS_EVENT_DELAY, NULL, &s) != -1)
		observe_cell(HIST_DELAY, s.cell, seconds < 0 ? 0 : seconds);
}

void
metrics_retention_deleted(const char *table, uint64_t rows)
{
	struct metrics_series	s;

	if (metrics_series_lookup(METRICS_RETENTION_DELETED, &table, &s) != -1)
		metrics_counter_add(s, rows);
}
