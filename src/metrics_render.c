/*
 * metrics_render: the Prometheus text exposition (format 0.0.4) of the
 * shared metrics segment (see metrics_render.h).
 *
 * Owns: the HELP and TYPE lines, the sorted label values, the series of
 * each family in a stable order, the cumulative histogram buckets, and
 * the number formats of samples.
 */

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics_render.h"
#include "metrics_segment.h"
#include "strbuf.h"
#include "xalloc.h"

struct label_ref {
	const char		*value;
	uint32_t		 ord;
};

static void		 rbuf_u64(struct strbuf *, uint64_t);
static void		 rbuf_double(struct strbuf *, double);
static void		 rbuf_escaped(struct strbuf *, const char *);
static int		 label_cmp(const void *, const void *);
static size_t		 dim_sorted(enum dim_id, struct label_ref *);
static void		 render_family(struct strbuf *, enum metrics_family);
static void		 render_value(struct strbuf *,
			    const struct family_def *, const char *, double);
static void		 render_active(struct strbuf *);
static void		 render_lag(struct strbuf *);
static void		 render_age(struct strbuf *, enum metrics_family);
static void		 render_build_info(struct strbuf *);
static void		 render_labelled(struct strbuf *, enum metrics_family);
static void		 render_product(struct strbuf *, struct strbuf *,
			    enum metrics_family, struct label_ref **, size_t *);
static void		 render_series(struct strbuf *, struct strbuf *,
			    enum metrics_family, const struct label_ref *,
			    uint32_t);
static void		 render_striped(struct strbuf *, enum metrics_family,
			    const char *, size_t, uint32_t);
static void		 render_histogram(struct strbuf *,
			    const struct family_def *, const char *, size_t,
			    uint32_t);
static void		 render_name(struct strbuf *, const char *,
			    const char *, const char *, size_t);

static const char	*type_names[] = { "counter", "gauge", "histogram" };

/* The size of the last exposition, to allocate the next one at once. */
static size_t		 render_hint;

char *
metrics_render(size_t *len)
{
	struct strbuf	rb;
	int		f;

	*len = 0;
	if (metrics_seg == NULL)
		return (NULL);

	strbuf_init(&rb, render_hint + 4096);
	for (f = 0; f < METRICS_FAMILY_COUNT; f++)
		render_family(&rb, f);

	render_hint = rb.len + 1;
	return (strbuf_steal(&rb, len));
}

static void
rbuf_u64(struct strbuf *rb, uint64_t v)
{
	char		buf[24];
	size_t		i;

	i = sizeof(buf);
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v != 0);

	strbuf_add(rb, buf + i, sizeof(buf) - i);
}

static void
rbuf_double(struct strbuf *rb, double v)
{
	char		buf[32];

	if (v >= 0 && v < 9007199254740992.0 && v == (double)(uint64_t)v) {
		rbuf_u64(rb, (uint64_t)v);
		return;
	}

	format_double(buf, sizeof(buf), v);
	strbuf_str(rb, buf);
}

/* A label value with \, " and newline escaped. */
static void
rbuf_escaped(struct strbuf *rb, const char *v)
{
	size_t		n;

	while (*v != '\0') {
		n = strcspn(v, "\\\"\n");
		strbuf_add(rb, v, n);
		v += n;
		if (*v == '\0')
			break;
		strbuf_add(rb, "\\", 1);
		strbuf_add(rb, *v == '\n' ? "n" : v, 1);
		v++;
	}
}

static int
label_cmp(const void *a, const void *b)
{
	const struct label_ref	*x = a, *y = b;

	return (strcmp(x->value, y->value));
}

/* The values of dimension id, "other" included, in byte order. */
static size_t
dim_sorted(enum dim_id id, struct label_ref *out)
{
	const struct seg_dim	*d;
	struct seg_entry	*ent;
	_Atomic uint32_t	*ords;
	uint32_t		 o, count, idx;
	size_t			 n;

	d = &metrics_seg->dim[id];
	ent = seg_at(d->ent_off);
	ords = seg_at(d->ord_off);
	count = atomic_load_explicit(&metrics_seg->claimed[id],
	    memory_order_relaxed);
	if (count > d->cap)
		count = d->cap;

	n = 0;
	for (o = 0; o < count; o++) {
		idx = atomic_load_explicit(&ords[o], memory_order_acquire);
		if (idx == 0)
			continue;
		out[n].value = ent[idx - 1].value;
		out[n++].ord = o;
	}
	out[n].value = METRICS_OTHER;
	out[n++].ord = d->cap;

	qsort(out, n, sizeof(*out), label_cmp);
	return (n);
}

static void
render_family(struct strbuf *rb, enum metrics_family f)
{
	const struct family_def	*fd = &metrics_families[f];

	strbuf_str(rb, "# HELP ");
	strbuf_str(rb, fd->name);
	strbuf_str(rb, " ");
	strbuf_str(rb, fd->help);
	strbuf_str(rb, "\n# TYPE ");
	strbuf_str(rb, fd->name);
	strbuf_str(rb, " ");
	strbuf_str(rb, type_names[fd->type]);
	strbuf_str(rb, "\n");

	if (f == METRICS_SAGA_ACTIVE)
		render_active(rb);
	else if (f == METRICS_CONSUMER_LAG)
		render_lag(rb);
	else if (f == METRICS_CONSUMER_LAG_AGE || f == METRICS_GAUGES_AGE)
		render_age(rb, f);
	else if (f == METRICS_BUILD_INFO)
		render_build_info(rb);
	else if (fd->nlabels > 0)
		render_labelled(rb, f);
	else if (fd->type == TYPE_GAUGE)
		render_value(rb, fd, NULL,
		    gauge_load(metrics_seg->fam[f].cell));
	else
		render_striped(rb, f, NULL, 0, metrics_seg->fam[f].cell);
}

/* One gauge sample: name{labels} value, labels already rendered. */
static void
render_value(struct strbuf *rb, const struct family_def *fd,
    const char *labels, double v)
{
	render_name(rb, fd->name, "", labels, labels ? strlen(labels) : 0);
	strbuf_str(rb, " ");
	rbuf_double(rb, v);
	strbuf_str(rb, "\n");
}

/* name + suffix, then {labels} unless there are none. */
static void
render_name(struct strbuf *rb, const char *name, const char *suffix,
    const char *labels, size_t len)
{
	strbuf_str(rb, name);
	strbuf_str(rb, suffix);
	if (len == 0)
		return;

	strbuf_str(rb, "{");
	strbuf_add(rb, labels, len);
	strbuf_str(rb, "}");
}

static void
render_active(struct strbuf *rb)
{
	struct label_ref	refs[STATUS_COUNT + 1];
	char			labels[64];
	size_t			i, n;

	n = dim_sorted(DIM_STATUS, refs);
	for (i = 0; i < n; i++) {
		if (refs[i].ord == STATUS_COUNT)
			continue;
		snprintf(labels, sizeof(labels), "status=\"%s\"",
		    refs[i].value);
		render_value(rb, &metrics_families[METRICS_SAGA_ACTIVE], labels,
		    gauge_load(metrics_seg->fam[METRICS_SAGA_ACTIVE].cell +
		    refs[i].ord));
	}
}

static void
render_lag(struct strbuf *rb)
{
	const struct family_def	*fd = &metrics_families[METRICS_CONSUMER_LAG];
	_Atomic uint64_t	*g;
	uint64_t		 v;
	char			 labels[32];
	int			 p;

	g = (_Atomic uint64_t *)seg_at(metrics_seg->gauge_off) +
	    metrics_seg->fam[METRICS_CONSUMER_LAG].cell;
	if ((v = atomic_load(&g[0])) != SEG_ABSENT)
		render_value(rb, fd, NULL, bitsd(v));

	for (p = 0; p < METRICS_PARTITIONS_MAX; p++) {
		v = atomic_load_explicit(&g[1 + p], memory_order_relaxed);
		if (v == SEG_ABSENT)
			continue;
		snprintf(labels, sizeof(labels), "partition=\"%d\"", p);
		render_value(rb, fd, labels, bitsd(v));
	}
}

/* The cell holds a metrics_now() stamp; the sample is its age in ms. */
static void
render_age(struct strbuf *rb, enum metrics_family f)
{
	double		age;

	age = metrics_now() - gauge_load(metrics_seg->fam[f].cell);
	render_value(rb, &metrics_families[f], NULL, age > 0 ?
	    round(age * 1000) / 1000 : 0);
}

static void
render_build_info(struct strbuf *rb)
{
	strbuf_str(rb, metrics_families[METRICS_BUILD_INFO].name);
	strbuf_str(rb, "{version=\"");
	rbuf_escaped(rb, metrics_seg->version);
	strbuf_str(rb, "\"} 1\n");
}

/* Every used series of a striped family with labels, sorted. */
static void
render_labelled(struct strbuf *rb, enum metrics_family f)
{
	const struct family_def	*fd = &metrics_families[f];
	struct label_ref	*refs[LABELS_MAX];
	struct strbuf		 lab;
	size_t			 n[LABELS_MAX];
	unsigned int		 k;

	strbuf_init(&lab, 0);
	for (k = 0; k < fd->nlabels; k++) {
		refs[k] = xcalloc(metrics_seg->dim[fd->dim[k]].cap + 1,
		    sizeof(*refs[k]), "metrics_render");
		n[k] = dim_sorted(fd->dim[k], refs[k]);
	}

	render_product(rb, &lab, f, refs, n);
	while (k-- > 0)
		free(refs[k]);
	strbuf_free(&lab);
}

/*
 * Every combination of the sorted values of each label, the last label
 * turning fastest, like an odometer; lab is scratch space for the label
 * text of one series.
 */
static void
render_product(struct strbuf *rb, struct strbuf *lab, enum metrics_family f,
    struct label_ref **refs, size_t *n)
{
	const struct family_def	*fd = &metrics_families[f];
	const _Atomic uint8_t	*used;
	struct label_ref	 tuple[LABELS_MAX];
	uint32_t		 ord[LABELS_MAX], series;
	size_t			 at[LABELS_MAX];
	unsigned int		 k;

	used = (_Atomic uint8_t *)seg_at(metrics_seg->used_off) +
	    metrics_seg->fam[f].used;
	for (k = 0; k < fd->nlabels; k++) {
		if (n[k] == 0)
			return;
		at[k] = 0;
	}

	for (;;) {
		for (k = 0; k < fd->nlabels; k++) {
			tuple[k] = refs[k][at[k]];
			ord[k] = tuple[k].ord;
		}
		series = series_index(fd, ord);
		if (atomic_load_explicit(&used[series],
		    memory_order_relaxed) != 0)
			render_series(rb, lab, f, tuple, series);

		for (k = fd->nlabels; k > 0; k--) {
			if (++at[k - 1] < n[k - 1])
				break;
			at[k - 1] = 0;
		}
		if (k == 0)
			return;
	}
}

static void
render_series(struct strbuf *rb, struct strbuf *lab, enum metrics_family f,
    const struct label_ref *values, uint32_t series)
{
	const struct family_def	*fd = &metrics_families[f];
	unsigned int		 k;

	strbuf_truncate(lab, 0);
	for (k = 0; k < fd->nlabels; k++) {
		if (k > 0)
			strbuf_str(lab, ",");
		strbuf_str(lab, fd->label[k]);
		strbuf_str(lab, "=\"");
		rbuf_escaped(lab, values[k].value);
		strbuf_str(lab, "\"");
	}

	render_striped(rb, f, lab->data, lab->len,
	    metrics_seg->fam[f].cell + series * metrics_seg->fam[f].ncells);
}

static void
render_striped(struct strbuf *rb, enum metrics_family f, const char *labels,
    size_t len, uint32_t cell)
{
	const struct family_def	*fd = &metrics_families[f];

	if (fd->type == TYPE_HISTOGRAM) {
		render_histogram(rb, fd, labels, len, cell);
		return;
	}

	render_name(rb, fd->name, "", labels, len);
	strbuf_str(rb, " ");
	rbuf_u64(rb, cell_sum(cell));
	strbuf_str(rb, "\n");
}

static void
render_histogram(struct strbuf *rb, const struct family_def *fd,
    const char *labels, size_t len, uint32_t cell)
{
	uint64_t	cum;
	double		sum;
	uint32_t	i, nb;
	unsigned int	s;

	nb = metrics_seg->nbounds[fd->hist];
	cum = 0;
	for (i = 0; i <= nb; i++) {
		cum += cell_sum(cell + i);
		strbuf_str(rb, fd->name);
		strbuf_str(rb, "_bucket{");
		strbuf_add(rb, labels, len);
		strbuf_str(rb, len > 0 ? ",le=\"" : "le=\"");
		strbuf_str(rb, i < nb ? metrics_seg->le[fd->hist][i] : "+Inf");
		strbuf_str(rb, "\"} ");
		rbuf_u64(rb, cum);
		strbuf_str(rb, "\n");
	}

	sum = 0;
	for (s = 0; s < metrics_seg->nstripes; s++)
		sum += bitsd(atomic_load_explicit(stripe_cells(s) + cell +
		    nb + 1, memory_order_relaxed));

	render_name(rb, fd->name, "_sum", labels, len);
	strbuf_str(rb, " ");
	rbuf_double(rb, sum);
	strbuf_str(rb, "\n");
	render_name(rb, fd->name, "_count", labels, len);
	strbuf_str(rb, " ");
	rbuf_u64(rb, cum);
	strbuf_str(rb, "\n");
}
