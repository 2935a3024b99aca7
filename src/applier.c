/*
 * applier: one batch, several lanes, one store connection per lane (see
 * applier.h).  A fork-join per batch: applier_apply() hands every pending
 * lane to its thread and waits for all of them.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applier.h"

struct lane {
	struct applier		*owner;
	pthread_t		 thread;
	struct store		*store;
	struct store_msg	*msgs;		/* this lane's part of the batch */
	size_t			 n;
	size_t			 cap;
	unsigned long		 seen;		/* the last round it looked at */
	int			 pending;	/* still to be committed */
	int			 rc;		/* of the last run */
	char			 err[512];
};

struct applier {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;		/* a new round, or quit */
	pthread_cond_t		 done;		/* a lane finished its run */
	unsigned long		 round;
	int			 running;	/* lanes still in this round */
	int			 quit;
	int			 nlanes;
	int			 started;
	char			 dsn[1024];
	struct lane		 lanes[APPLIER_LANES_MAX];
};

static void	*applier_lane_main(void *);
static void	 applier_lane_run(struct lane *);
static int	 applier_lane_add(struct lane *, const struct store_msg *);

struct applier *
applier_create(const char *dsn, int lanes, char *err, size_t errlen)
{
	struct applier	*a;
	int		 i, rc;

	if (lanes < 1 || lanes > APPLIER_LANES_MAX) {
		(void)snprintf(err, errlen, "lanes: %d is not in 1..%d",
		    lanes, APPLIER_LANES_MAX);
		return (NULL);
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		(void)snprintf(err, errlen, "applier: %s", strerror(errno));
		return (NULL);
	}

	(void)pthread_mutex_init(&a->lock, NULL);
	(void)pthread_cond_init(&a->work, NULL);
	(void)pthread_cond_init(&a->done, NULL);
	(void)snprintf(a->dsn, sizeof(a->dsn), "%s", dsn);
	a->nlanes = lanes;

	for (i = 0; i < lanes; i++) {
		a->lanes[i].owner = a;
		if ((rc = pthread_create(&a->lanes[i].thread, NULL,
		    applier_lane_main, &a->lanes[i])) != 0) {
			(void)snprintf(err, errlen, "applier: lane %d: %s", i,
			    strerror(rc));
			applier_destroy(a);
			return (NULL);
		}
		a->started++;
	}

	return (a);
}

void
applier_destroy(struct applier *a)
{
	int		i;

	if (a == NULL)
		return;

	pthread_mutex_lock(&a->lock);
	a->quit = 1;
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->lock);

	for (i = 0; i < a->started; i++)
		(void)pthread_join(a->lanes[i].thread, NULL);
	for (i = 0; i < a->nlanes; i++) {
		store_close(a->lanes[i].store);
		free(a->lanes[i].msgs);
	}

	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->done);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static int
applier_lane_add(struct lane *l, const struct store_msg *m)
{
	struct store_msg	*p;
	size_t			 cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 256;
		if ((p = realloc(l->msgs, cap * sizeof(*p))) == NULL)
			return (-1);
		l->msgs = p;
		l->cap = cap;
	}
	l->msgs[l->n++] = *m;

	return (0);
}

void
applier_begin(struct applier *a, const struct store_msg *msgs, size_t n)
{
	struct lane	*l;
	size_t		 i;
	int		 k;

	for (k = 0; k < a->nlanes; k++)
		a->lanes[k].n = 0;

	for (i = 0; i < n; i++) {
		k = (int)((unsigned int)msgs[i].partition %
		    (unsigned int)a->nlanes);
		l = &a->lanes[k];
		/* Out of memory: the message goes to lane 0 instead. */
		if (applier_lane_add(l, &msgs[i]) == -1 &&
		    applier_lane_add(&a->lanes[0], &msgs[i]) == -1)
			abort();
	}

	for (k = 0; k < a->nlanes; k++)
		a->lanes[k].pending = a->lanes[k].n > 0;
}

int
applier_apply(struct applier *a, char *err, size_t errlen)
{
	int		k, failed;

	pthread_mutex_lock(&a->lock);
	a->running = 0;
	for (k = 0; k < a->nlanes; k++)
		a->running += a->lanes[k].pending;
	a->round++;
	pthread_cond_broadcast(&a->work);
	while (a->running > 0)
		pthread_cond_wait(&a->done, &a->lock);
	pthread_mutex_unlock(&a->lock);

	failed = 0;
	for (k = 0; k < a->nlanes; k++) {
		if (!a->lanes[k].pending)
			continue;
		if (failed++ == 0)
			(void)snprintf(err, errlen, "%s", a->lanes[k].err);
	}

	return (failed == 0 ? 0 : -1);
}

void
applier_ping(struct applier *a)
{
	int		k;

	for (k = 0; k < a->nlanes; k++) {
		if (a->lanes[k].store != NULL)
			(void)store_ping(a->lanes[k].store);
	}
}

/* In the lane's thread: open the connection if need be, apply its part. */
static void
applier_lane_run(struct lane *l)
{
	struct store_batch_result	res;

	if (l->store == NULL && (l->store = store_open(l->owner->dsn, l->err,
	    sizeof(l->err))) == NULL) {
		l->rc = -1;
		return;
	}

	l->rc = store_apply_batch(l->store, l->msgs, l->n, &res, l->err,
	    sizeof(l->err));
}

static void *
applier_lane_main(void *arg)
{
	struct lane	*l = arg;
	struct applier	*a = l->owner;

	/*
	 * l->seen starts at 0, before the thread does: a round begun while
	 * the thread was still starting is not missed.
	 */
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->quit && a->round == l->seen)
			pthread_cond_wait(&a->work, &a->lock);
		if (a->quit)
			break;
		l->seen = a->round;
		if (!l->pending)
			continue;

		pthread_mutex_unlock(&a->lock);
		applier_lane_run(l);
		pthread_mutex_lock(&a->lock);

		if (l->rc == 0)
			l->pending = 0;
		a->running--;
		pthread_cond_signal(&a->done);
	}
	pthread_mutex_unlock(&a->lock);

	return (NULL);
}
