/*
 * outcome: owns the tally of a batch's counter deltas, its text form in
 * saga_batch_outcome, its counting into the metrics segment, and the
 * shared mapping of in-flight tokens.  See outcome.h.
 */

#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "outcome.h"
#include "strbuf.h"
#include "xalloc.h"

static struct outcome_slot	*outcome_slots = NULL;

static void	*grow(void *, size_t *, size_t, size_t);
static int	 cmp_processed(const void *, const void *);
static void	 merge(struct outcome *);
static int	 parse_line(struct outcome *, char *, char *, size_t);
static int	 parse_count(const char *, uint64_t *);
static void	 count_series(enum metrics_family, const char *,
		    const char *, uint64_t);

/* Room for one more element of size in *p, holding n, capacity *cap. */
static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t		ncap;

	if (n < *cap)
		return (p);

	ncap = *cap == 0 ? 16 : *cap * 2;
	p = xreallocarray(p, ncap, size, "tally");
	*cap = ncap;

	return (p);
}

void
outcome_init(struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->last_failed_ms = SAGA_TIME_NONE;
}

void
outcome_free(struct outcome *o)
{
	free(o->processed);
	free(o->durations);
	strbuf_free(&o->text);
	free(o->parsed);
	outcome_init(o);
}

void
outcome_processed(struct outcome *o, const char *step, enum saga_status st)
{
	struct outcome_processed	*p;

	o->processed = grow(o->processed, &o->processed_cap, o->nprocessed,
	    sizeof(*o->processed));
	p = &o->processed[o->nprocessed++];
	p->step = step;
	p->status = st;
	p->n = 1;
	o->merged = 0;
}

void
outcome_rejected(struct outcome *o, enum saga_reject reason)
{
	if (reason > SAGA_REJECT_NONE && reason < SAGA_REJECT_COUNT)
		o->rejected[reason]++;
}

void
outcome_failed(struct outcome *o)
{
	o->failed++;
}

void
outcome_failed_event(struct outcome *o, int64_t occurred_ms)
{
	if (o->last_failed_ms == SAGA_TIME_NONE ||
	    occurred_ms > o->last_failed_ms)
		o->last_failed_ms = occurred_ms;
}

void
outcome_compensated(struct outcome *o)
{
	o->compensated++;
}

void
outcome_duration(struct outcome *o, double seconds)
{
	o->durations = grow(o->durations, &o->durations_cap, o->ndurations,
	    sizeof(*o->durations));
	o->durations[o->ndurations++] = seconds;
}

int
outcome_empty(const struct outcome *o)
{
	int		r;

	for (r = 0; r < SAGA_REJECT_COUNT; r++) {
		if (o->rejected[r] != 0)
			return (0);
	}

	return (o->nprocessed == 0 && o->failed == 0 && o->compensated == 0 &&
	    o->ndurations == 0 && o->last_failed_ms == SAGA_TIME_NONE);
}

/* --- one entry per {step, status} ------------------------------------- */

static int
cmp_processed(const void *a, const void *b)
{
	const struct outcome_processed	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->step, y->step)) != 0)
		return (c);

	return ((int)x->status - (int)y->status);
}

static void
merge(struct outcome *o)
{
	size_t		i, n;

	if (o->merged)
		return;

	qsort(o->processed, o->nprocessed, sizeof(*o->processed),
	    cmp_processed);
	for (i = 0, n = 0; i < o->nprocessed; i++) {
		if (n > 0 && cmp_processed(&o->processed[n - 1],
		    &o->processed[i]) == 0)
			o->processed[n - 1].n += o->processed[i].n;
		else
			o->processed[n++] = o->processed[i];
	}
	o->nprocessed = n;
	o->merged = 1;
}

/* --- text ---------------------------------------------------------------- */

const char *
outcome_format(struct outcome *o)
{
	size_t		i;
	int		r;

	merge(o);
	strbuf_truncate(&o->text, 0);
	strbuf_reserve(&o->text, 0);
	for (i = 0; i < o->nprocessed; i++)
		strbuf_printf(&o->text, "p %" PRIu64 " %s %s\n",
		    o->processed[i].n,
		    saga_status_name(o->processed[i].status),
		    o->processed[i].step);
	for (r = 1; r < SAGA_REJECT_COUNT; r++) {
		if (o->rejected[r] != 0)
			strbuf_printf(&o->text, "r %" PRIu64 " %s\n",
			    o->rejected[r], saga_reject_reason_name(r));
	}
	if (o->failed != 0)
		strbuf_printf(&o->text, "f %" PRIu64 "\n", o->failed);
	if (o->compensated != 0)
		strbuf_printf(&o->text, "c %" PRIu64 "\n", o->compensated);
	if (o->last_failed_ms != SAGA_TIME_NONE)
		strbuf_printf(&o->text, "l %" PRId64 "\n", o->last_failed_ms);
	if (o->ndurations > 0) {
		strbuf_str(&o->text, "d");
		/* %.17g: strtod() gives back the very same double. */
		for (i = 0; i < o->ndurations; i++)
			strbuf_printf(&o->text, " %.17g", o->durations[i]);
		strbuf_str(&o->text, "\n");
	}

	return (o->text.data);
}

static int
parse_count(const char *s, uint64_t *n)
{
	char		*end;

	if (s == NULL || *s < '0' || *s > '9')
		return (-1);
	errno = 0;
	*n = strtoull(s, &end, 10);

	return (errno != 0 || *end != '\0' ? -1 : 0);
}

/* One line, split in place; steps point into it. */
static int
parse_line(struct outcome *o, char *line, char *err, size_t errlen)
{
	enum saga_status	 st;
	char			*save, *kind, *a, *b, *c, *end;
	uint64_t		 n;
	int			 r;

	kind = strtok_r(line, " ", &save);
	if (kind == NULL)
		return (0);
	if (strcmp(kind, "d") == 0) {
		while ((a = strtok_r(NULL, " ", &save)) != NULL) {
			outcome_duration(o, strtod(a, &end));
			if (*end != '\0')
				goto bad;
		}
		return (0);
	}

	a = strtok_r(NULL, " ", &save);
	b = strtok_r(NULL, " ", &save);
	c = strtok_r(NULL, " ", &save);
	if (strcmp(kind, "l") == 0 && a != NULL && b == NULL) {
		o->last_failed_ms = strtoll(a, &end, 10);
		if (*end != '\0')
			goto bad;
		return (0);
	}
	if (parse_count(a, &n) == -1)
		goto bad;
	if (strcmp(kind, "p") == 0 && c != NULL &&
	    saga_status_parse(b, &st) == 0) {
		outcome_processed(o, c, st);
		o->processed[o->nprocessed - 1].n = n;
		return (0);
	}
	if (strcmp(kind, "r") == 0 && b != NULL && c == NULL) {
		for (r = 1; r < SAGA_REJECT_COUNT; r++) {
			if (strcmp(b, saga_reject_reason_name(r)) == 0) {
				o->rejected[r] += n;
				return (0);
			}
		}
	}
	if (b == NULL && strcmp(kind, "f") == 0) {
		o->failed += n;
		return (0);
	}
	if (b == NULL && strcmp(kind, "c") == 0) {
		o->compensated += n;
		return (0);
	}
bad:
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "outcome: a '%s' line that is not "
		    "part of a tally", kind);
	return (-1);
}

int
outcome_parse(struct outcome *o, const char *text, char *err, size_t errlen)
{
	char		*line, *next;

	outcome_free(o);
	o->parsed = xstrdup(text, "parse");

	for (line = o->parsed; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (parse_line(o, line, err, errlen) == -1)
			return (-1);
	}

	return (0);
}

/* --- into the metrics ---------------------------------------------------- */

static void
count_series(enum metrics_family family, const char *a, const char *b,
    uint64_t n)
{
	struct metrics_series	 s;
	const char		*values[2];

	values[0] = a;
	values[1] = b;
	if (n > 0 && metrics_series_lookup(family, a != NULL ? values : NULL,
	    &s) != -1)
		metrics_counter_add(s, n);
}

void
outcome_count(struct outcome *o)
{
	size_t		i;
	int		r;

	merge(o);
	for (i = 0; i < o->nprocessed; i++)
		count_series(METRICS_EVENTS_PROCESSED, o->processed[i].step,
		    saga_status_name(o->processed[i].status),
		    o->processed[i].n);
	for (r = 1; r < SAGA_REJECT_COUNT; r++)
		count_series(METRICS_EVENTS_REJECTED,
		    saga_reject_reason_name(r), NULL, o->rejected[r]);
	count_series(METRICS_SAGA_FAILED, NULL, NULL, o->failed);
	count_series(METRICS_SAGA_COMPENSATED, NULL, NULL, o->compensated);
	if (o->last_failed_ms != SAGA_TIME_NONE)
		metrics_last_failed_raise((double)o->last_failed_ms / 1000.0);
	for (i = 0; i < o->ndurations; i++)
		metrics_compensation_observe(o->durations[i]);
}

/* --- tokens and slots ---------------------------------------------------- */

uint64_t
outcome_token_new(void)
{
	uint64_t	token;
	ssize_t		n;

	do {
		n = getrandom(&token, sizeof(token), 0);
		if (n == -1 && errno != EINTR) {
			(void)fprintf(stderr, "outcome: getrandom: %s\n",
			    strerror(errno));
			abort();
		}
	} while (n != (ssize_t)sizeof(token) || token == 0);

	return (token);
}

int
outcome_shared_init(void)
{
	void		*p;

	p = mmap(NULL, OUTCOME_SLOTS_MAX * sizeof(*outcome_slots),
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);

	outcome_slots = p;
	memset(outcome_slots, 0, OUTCOME_SLOTS_MAX * sizeof(*outcome_slots));

	return (0);
}

struct outcome_slot *
outcome_shared_slot(int i)
{
	if (outcome_slots == NULL || i < 0 || i >= OUTCOME_SLOTS_MAX)
		return (NULL);

	return (&outcome_slots[i]);
}
