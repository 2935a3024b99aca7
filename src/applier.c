/*
 * applier: lanes, each a thread with a queue and a store connection,
 * that apply messages in batches (see applier.h).  One mutex guards the
 * queues; the database work is done outside it.
 */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "applier.h"
#include "outcome.h"
#include "tallycommit.h"
#include "xalloc.h"

_Static_assert(APPLIER_LANES_MAX <= OUTCOME_SLOTS_MAX,
    "every lane needs an outcome slot");

struct lane {
	struct applier		*owner;
	pthread_t		 thread;
	pthread_cond_t		 wake;		/* queued, or quit */
	struct store		*store;
	struct store_msg	*queue;		/* APPLIER_QUEUE_MAX */
	size_t			 queued;
	struct store_msg	*batch;		/* APPLIER_BATCH_MAX */
	size_t			 nbatch;	/* in hand, 0 = idle */
	atomic_llong		 attempt_ms;	/* since when, 0 = none */
	char			 err[512];
};

struct applier {
	pthread_mutex_t		 lock;
	pthread_cond_t		 room;		/* a queue shrank, a lane
						   idled */
	struct applier_hooks	 hooks;
	int			 quit;
	int			 nlanes;
	int			 started;
	unsigned int		 expire_sec;	/* store_expire_after */
	char			 dsn[1024];
	struct lane		 lanes[APPLIER_LANES_MAX];
};

static int	 applier_lane_index(const struct lane *);
static int64_t	 applier_now_ms(void);
static void	 applier_deadline(struct timespec *, int);
static int	 applier_cond_init(pthread_cond_t *);
static int	 applier_lane_init(struct applier *, struct lane *, char *,
		    size_t);
static void	*applier_lane_main(void *);
static int	 applier_lane_connect(struct lane *);
static void	 applier_lane_take(struct lane *);
static void	 applier_lane_apply(struct lane *);
static int	 applier_lane_attempt(struct lane *,
		    struct store_batch_result *);
static int	 applier_lane_nap(struct lane *, int);
static int	 applier_idle(const struct applier *);

static int
applier_lane_index(const struct lane *l)
{
	return ((int)(l - l->owner->lanes));
}

static int64_t
applier_now_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Now + ms on CLOCK_MONOTONIC, the clock of every condition here. */
static void
applier_deadline(struct timespec *ts, int ms)
{
	(void)clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
applier_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t	attr;
	int			rc;

	(void)pthread_condattr_init(&attr);
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cond, &attr);
	(void)pthread_condattr_destroy(&attr);

	return (rc);
}

struct applier *
applier_create(const char *dsn, int lanes, unsigned int expire_sec,
    const struct applier_hooks *hooks, char *err, size_t errlen)
{
	struct applier	*a;
	int		 i;

	if (lanes < 1 || lanes > APPLIER_LANES_MAX) {
		(void)snprintf(err, errlen, "lanes: %d is not in 1..%d",
		    lanes, APPLIER_LANES_MAX);
		return (NULL);
	}
	a = xcalloc(1, sizeof(*a), "applier");

	(void)pthread_mutex_init(&a->lock, NULL);
	(void)applier_cond_init(&a->room);
	a->hooks = *hooks;
	a->expire_sec = expire_sec;
	(void)snprintf(a->dsn, sizeof(a->dsn), "%s", dsn);
	a->nlanes = lanes;
	for (i = 0; i < lanes; i++)
		(void)applier_cond_init(&a->lanes[i].wake);

	for (i = 0; i < lanes; i++) {
		if (applier_lane_init(a, &a->lanes[i], err, errlen) == -1) {
			applier_destroy(a);
			return (NULL);
		}
		a->started++;
	}

	return (a);
}

static int
applier_lane_init(struct applier *a, struct lane *l, char *err,
    size_t errlen)
{
	int		rc;

	l->owner = a;
	l->queue = xcalloc(APPLIER_QUEUE_MAX, sizeof(*l->queue), "lane");
	l->batch = xcalloc(APPLIER_BATCH_MAX, sizeof(*l->batch), "lane");
	if ((rc = pthread_create(&l->thread, NULL, applier_lane_main,
	    l)) != 0) {
		(void)snprintf(err, errlen, "applier: lane %d: %s",
		    (int)(l - a->lanes), strerror(rc));
		return (-1);
	}

	return (0);
}

void
applier_destroy(struct applier *a)
{
	int		i;

	if (a == NULL)
		return;

	pthread_mutex_lock(&a->lock);
	a->quit = 1;
	for (i = 0; i < a->started; i++)
		pthread_cond_signal(&a->lanes[i].wake);
	pthread_mutex_unlock(&a->lock);

	for (i = 0; i < a->started; i++)
		(void)pthread_join(a->lanes[i].thread, NULL);
	for (i = 0; i < a->nlanes; i++) {
		store_close(a->lanes[i].store);
		free(a->lanes[i].queue);
		free(a->lanes[i].batch);
		pthread_cond_destroy(&a->lanes[i].wake);
	}

	pthread_cond_destroy(&a->room);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int
applier_push(struct applier *a, const struct store_msg *msg, int wait_ms)
{
	struct timespec	 deadline;
	struct lane	*l;
	int		 rc;

	l = &a->lanes[(unsigned int)msg->partition % (unsigned int)a->nlanes];
	applier_deadline(&deadline, wait_ms);

	pthread_mutex_lock(&a->lock);
	rc = 0;
	while (l->queued == APPLIER_QUEUE_MAX && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&a->room, &a->lock, &deadline);
	if (l->queued < APPLIER_QUEUE_MAX) {
		l->queue[l->queued++] = *msg;
		if (l->queued == 1)
			pthread_cond_signal(&l->wake);
		rc = 0;
	} else {
		rc = -1;
	}
	pthread_mutex_unlock(&a->lock);

	return (rc);
}

/* Under the lock: no lane holds a batch or has one queued. */
static int
applier_idle(const struct applier *a)
{
	int		i;

	for (i = 0; i < a->nlanes; i++) {
		if (a->lanes[i].queued > 0 || a->lanes[i].nbatch > 0)
			return (0);
	}

	return (1);
}

int
applier_drain(struct applier *a, int wait_ms)
{
	struct timespec	deadline;
	int		rc;

	applier_deadline(&deadline, wait_ms);

	pthread_mutex_lock(&a->lock);
	rc = 0;
	while (!applier_idle(a) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&a->room, &a->lock, &deadline);
	rc = applier_idle(a) ? 0 : -1;
	pthread_mutex_unlock(&a->lock);

	return (rc);
}

int64_t
applier_attempt_ms(struct applier *a)
{
	int64_t		now, since, longest;
	int		i;

	now = applier_now_ms();
	longest = 0;
	for (i = 0; i < a->nlanes; i++) {
		since = atomic_load(&a->lanes[i].attempt_ms);
		if (since != 0 && now - since > longest)
			longest = now - since;
	}

	return (longest);
}

/* --- a lane's thread ------------------------------------------------------ */

static void *
applier_lane_main(void *arg)
{
	struct lane		*l = arg;
	struct applier		*a = l->owner;
	struct outcome_slot	*slot;
	size_t			 n;

	/*
	 * A lane of a respawned worker counts what its predecessor
	 * committed but did not count, without waiting for a batch; if
	 * the database cannot say yet, the first attempt asks again (and
	 * reports why it cannot).
	 */
	slot = outcome_shared_slot(applier_lane_index(l));
	if (slot != NULL && atomic_load(&slot->token) != 0)
		(void)applier_lane_connect(l);

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->quit && l->queued == 0)
			pthread_cond_wait(&l->wake, &a->lock);
		if (a->quit)
			break;
		applier_lane_take(l);
		pthread_mutex_unlock(&a->lock);

		applier_lane_apply(l);

		pthread_mutex_lock(&a->lock);
		l->nbatch = 0;
		pthread_cond_broadcast(&a->room);
	}

	/* Quitting: what is still queued was never applied. */
	n = l->queued;
	l->queued = 0;
	pthread_mutex_unlock(&a->lock);
	if (n > 0)
		a->hooks.dropped(a->hooks.arg, l->queue, n);

	return (NULL);
}

/* Under the lock: move the oldest queued messages into the batch. */
static void
applier_lane_take(struct lane *l)
{
	size_t		n;

	n = l->queued < APPLIER_BATCH_MAX ? l->queued : APPLIER_BATCH_MAX;
	memcpy(l->batch, l->queue, n * sizeof(*l->queue));
	memmove(l->queue, l->queue + n, (l->queued - n) * sizeof(*l->queue));
	l->queued -= n;
	l->nbatch = n;
	pthread_cond_broadcast(&l->owner->room);
}

/* Until the batch commits, or the applier quits. */
static void
applier_lane_apply(struct lane *l)
{
	struct applier			*a = l->owner;
	struct store_batch_result	 res;
	int				 backoff;

	for (backoff = APPLIER_BACKOFF_MIN_MS;; backoff *= 2) {
		if (backoff > APPLIER_BACKOFF_MAX_MS)
			backoff = APPLIER_BACKOFF_MAX_MS;
		if (applier_lane_attempt(l, &res) == 0) {
			a->hooks.done(a->hooks.arg, l->batch, l->nbatch, &res);
			return;
		}
		a->hooks.failed(a->hooks.arg, l->batch, l->nbatch, l->err,
		    backoff);
		if (applier_lane_nap(l, backoff) == -1) {
			a->hooks.dropped(a->hooks.arg, l->batch, l->nbatch);
			return;
		}
	}
}

/*
 * Open the lane's store if need be, with the lane's shared outcome slot
 * (outcome.h; the store's own without the mapping), which it resolves.
 */
static int
applier_lane_connect(struct lane *l)
{
	if (l->store != NULL)
		return (0);

	if ((l->store = store_open(l->owner->dsn, l->err,
	    sizeof(l->err))) == NULL)
		return (-1);
	store_expire_after(l->store, l->owner->expire_sec);

	/* Unresolved, it is resolved again before the first batch. */
	return (store_outcome_slot(l->store,
	    outcome_shared_slot(applier_lane_index(l)), l->err,
	    sizeof(l->err)));
}

/* One try: connect if need be, apply the batch in one transaction. */
static int
applier_lane_attempt(struct lane *l, struct store_batch_result *res)
{
	int		rc;

	atomic_store(&l->attempt_ms, applier_now_ms());
	if (l->store == NULL)
		(void)applier_lane_connect(l);
	rc = l->store == NULL ? -1 : store_apply_batch(l->store, l->batch,
	    l->nbatch, res, l->err, sizeof(l->err));
	atomic_store(&l->attempt_ms, 0);

	return (rc);
}

/* Sleep ms, or less if the applier quits: then -1. */
static int
applier_lane_nap(struct lane *l, int ms)
{
	struct applier	*a = l->owner;
	struct timespec	 deadline;
	int		 rc, quit;

	applier_deadline(&deadline, ms);
	pthread_mutex_lock(&a->lock);
	rc = 0;
	while (!a->quit && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&l->wake, &a->lock, &deadline);
	quit = a->quit;
	pthread_mutex_unlock(&a->lock);

	return (quit ? -1 : 0);
}
