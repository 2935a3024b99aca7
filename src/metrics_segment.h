/*
 * metrics_segment: the layout of the shared metrics segment, private to
 * metrics.c (which makes it and updates it) and metrics_render.c (which
 * reads it for the exposition).  Nothing else includes this header;
 * everything else goes through metrics.h.
 *
 * Owns: the label dimensions, histogram and family types, the family
 * table (metrics_families, defined in metrics.c), the segment header
 * and its regions (see metrics.c for the layout and why), and the read
 * helpers both sides need, inline so that a scrape costs what it did.
 */

#ifndef SAGA_METRICS_SEGMENT_H
#define SAGA_METRICS_SEGMENT_H

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dblfmt.h"
#include "metrics.h"

#define SEG_ALIGN		128
#define SEG_ABSENT		UINT64_MAX	/* gauge cell without value */
#define SEG_LE_MAX		32
#define STATUS_COUNT		6
#define LABELS_MAX		3	/* labels of one family */

enum dim_id {
	DIM_STEP = 0,
	DIM_STATUS,
	DIM_REASON,
	DIM_ENDPOINT,
	DIM_METHOD,
	DIM_CODE,
	DIM_QUERY,
	DIM_TABLE,
	DIM_COUNT
};

enum hist_id {
	HIST_COMPENSATION = 0,
	HIST_API,
	HIST_DB,
	HIST_DELAY,
	HIST_COUNT
};

enum fam_type {
	TYPE_COUNTER = 0,
	TYPE_GAUGE,
	TYPE_HISTOGRAM
};

struct family_def {
	const char		*name;
	const char		*help;
	enum fam_type		 type;
	int			 hist;		/* enum hist_id or -1 */
	unsigned int		 nlabels;
	enum dim_id		 dim[LABELS_MAX];
	const char		*label[LABELS_MAX];
};

struct seg_entry {
	_Atomic uint64_t	state;		/* tag << 2 | ENT_* */
	_Atomic int32_t		owner;		/* pid of the claimer */
	uint32_t		ord;
	uint32_t		len;
	char			value[METRICS_VALUE_MAX];
};

struct seg_dim {
	uint32_t		cap;		/* ordinal cap is "other" */
	uint32_t		mask;		/* hash table size - 1 */
	uint64_t		ent_off;	/* struct seg_entry[mask + 1] */
	uint64_t		ord_off;	/* entry index + 1, per
						   ordinal */
};

struct seg_family {
	uint32_t		cell;		/* first cell: stripe or
						   gauge */
	uint32_t		nseries;
	uint32_t		ncells;		/* cells per series */
	uint32_t		used;		/* first used flag */
};

struct seg_hdr {
	uint64_t		magic;
	uint32_t		layout;
	uint32_t		hdr_size;
	uint64_t		size;
	uint32_t		nstripes;
	uint32_t		stripe_cells;
	uint64_t		stripe_off;
	uint64_t		stripe_stride;	/* in cells */
	uint64_t		gauge_off;
	uint64_t		used_off;
	uint32_t		ngauges;
	uint32_t		nused;
	struct seg_dim		dim[DIM_COUNT];
	struct seg_family	fam[METRICS_FAMILY_COUNT];
	uint32_t		nbounds[HIST_COUNT];
	double			bounds[HIST_COUNT][METRICS_BUCKETS_MAX];
	char			le[HIST_COUNT][METRICS_BUCKETS_MAX][SEG_LE_MAX];
	char			version[METRICS_VERSION_MAX];

	/* The only mutable header field, away from the read-only ones. */
	_Alignas(SEG_ALIGN) _Atomic uint32_t	claimed[DIM_COUNT];
};

/* The family of each metrics_family (metrics.c). */
extern const struct family_def	metrics_families[METRICS_FAMILY_COUNT];

/* The segment of this process, NULL until created (metrics.c). */
extern struct seg_hdr		*metrics_seg;

static inline void *
seg_at(uint64_t off)
{
	return ((char *)metrics_seg + off);
}

static inline _Atomic uint64_t *
stripe_cells(unsigned int stripe)
{
	_Atomic uint64_t	*base;

	base = seg_at(metrics_seg->stripe_off);
	return (base + (uint64_t)stripe * metrics_seg->stripe_stride);
}

static inline double
bitsd(uint64_t u)
{
	double		d;

	memcpy(&d, &u, sizeof(d));
	return (d);
}

/* Integers plainly, else the shortest form that reads back as v. */
static inline void
format_double(char *buf, size_t len, double v)
{
	if (v >= 0 && v < 9007199254740992.0 && v == (double)(uint64_t)v)
		(void)snprintf(buf, len, "%" PRIu64, (uint64_t)v);
	else
		(void)dblfmt_shortest(buf, len, v);
}

/* The ordinals as digits of a number, each in base cap + 1. */
static inline uint32_t
series_index(const struct family_def *fd, const uint32_t *ord)
{
	uint32_t	index;
	unsigned int	k;

	index = 0;
	for (k = 0; k < fd->nlabels; k++)
		index = index * (metrics_seg->dim[fd->dim[k]].cap + 1) +
		    ord[k];

	return (index);
}

/* The value of a striped cell: the sum over every stripe. */
static inline uint64_t
cell_sum(uint32_t cell)
{
	_Atomic uint64_t	*c;
	uint64_t		 sum;
	unsigned int		 i;

	sum = 0;
	c = stripe_cells(0) + cell;
	for (i = 0; i < metrics_seg->nstripes; i++) {
		sum += atomic_load_explicit(c, memory_order_relaxed);
		c += metrics_seg->stripe_stride;
	}

	return (sum);
}

static inline double
gauge_load(uint32_t cell)
{
	_Atomic uint64_t	*g;

	g = seg_at(metrics_seg->gauge_off);
	return (bitsd(atomic_load_explicit(&g[cell], memory_order_relaxed)));
}

#endif /* !SAGA_METRICS_SEGMENT_H */
