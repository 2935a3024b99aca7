/*
 * consumer: librdkafka high-level consumer in a pthread of worker 1 that
 * feeds the applier's lanes, commits what they applied, tracks its
 * group phase and recreates its handle when it is stuck outside the
 * group (see consumer.h).
 */

#include <kore/kore.h>

#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "applier.h"
#include "consumer.h"
#include "gauges.h"
#include "grouplag.h"
#include "metrics.h"
#include "store.h"

/*
 * Written by worker 1's consumer and lane threads (error under
 * consumer_error_lock); read by every process.
 */
struct consumer_shared {
	atomic_uint		seq;		/* odd while the strings
						   change */
	atomic_int		phase;
	atomic_llong		since_ms;
	atomic_llong		started_ms;
	atomic_int		pid;		/* worker 1, 0 = none yet */
	atomic_llong		last_poll_ms;
	atomic_llong		last_commit_ms;
	atomic_llong		stuck_after_ms;
	atomic_ullong		batches;
	atomic_ullong		events;
	atomic_ullong		restarts;
	atomic_int		partitions;
	atomic_int		db_retry;
	atomic_int		broken;
	char			instance[CONSUMER_NAME_MAX];
	char			cgrp_state[32];
	char			join_state[32];
	char			error[256];
};

/* The consumer thread's own state, in worker 1 only. */
struct consumer_ctx {
	pthread_t		 thread;
	int			 started;
	atomic_int		 stop;
	rd_kafka_t		*rk;
	const struct config	*cfg;
	struct applier		*applier;	/* the batches */
	struct store		*store;		/* the gauges */
	char			 dsn[1024];
	char			 topic[CONFIG_STR_MAX];
	char			 instance[CONSUMER_NAME_MAX];
	int64_t			 next_gauges_ms;
	int			 gauges_failing;	/* logged once */

	/* The watchdog's view, from the statistics (consumer thread). */
	int			 steady;
	int64_t			 unsteady_ms;	/* monotonic, since when */
	int64_t			 next_try_ms;	/* broken: next attempt */
	char			 trigger[256];	/* the state, for the log */
};

static struct consumer_shared	*cshared = NULL;
static struct consumer_ctx	*cctx = NULL;
static pthread_mutex_t		 consumer_error_lock =
				    PTHREAD_MUTEX_INITIALIZER;

static int64_t	consumer_now_ms(void);
static int64_t	consumer_mono_ms(void);
static void	consumer_set_error(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	consumer_set_strings(const char *, const char *,
		    const char *);
static void	consumer_set_phase(enum consumer_phase);
static void	consumer_set_partitions(rd_kafka_t *);
static void	consumer_instance(const struct config *, char *, size_t);
static int	consumer_subscribe(struct consumer_ctx *, char *, size_t);
static void	consumer_watch(struct consumer_ctx *);
static void	consumer_recreate(struct consumer_ctx *);
static void	consumer_leave(struct consumer_ctx *);
static void	consumer_beat(void);
static void	consumer_beat_unless_stuck(struct consumer_ctx *);
static void	consumer_nap(int);
static rd_kafka_t *consumer_create(struct consumer_ctx *, char *, size_t);
static int	consumer_conf_set(rd_kafka_conf_t *, const char *,
		    const char *, char *, size_t);
static void	consumer_on_rebalance(rd_kafka_t *, rd_kafka_resp_err_t,
		    rd_kafka_topic_partition_list_t *, void *);
static int	consumer_on_stats(rd_kafka_t *, char *, size_t, void *);
static void	consumer_on_error(rd_kafka_t *, int, const char *, void *);
static void	*consumer_main(void *);
static void	consumer_poll(struct consumer_ctx *);
static void	consumer_queue(struct consumer_ctx *, rd_kafka_message_t *);
static void	consumer_drain(struct consumer_ctx *);
static void	consumer_applied(void *, const struct store_msg *, size_t,
		    const struct store_batch_result *);
static void	consumer_not_applied(void *, const struct store_msg *,
		    size_t, const char *, int);
static void	consumer_dropped(void *, const struct store_msg *, size_t);
static int	consumer_commit(struct consumer_ctx *,
		    const struct store_msg *, size_t);
static int	consumer_store_ready(struct consumer_ctx *);
static void	consumer_gauges(struct consumer_ctx *);

static int64_t
consumer_now_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int64_t
consumer_mono_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
consumer_shared_init(void)
{
	void		*p;

	p = mmap(NULL, sizeof(*cshared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);

	cshared = p;
	memset(cshared, 0, sizeof(*cshared));
	atomic_store(&cshared->phase, CONSUMER_STARTING);
	atomic_store(&cshared->since_ms, consumer_now_ms());

	return (0);
}

const char *
consumer_phase_name(enum consumer_phase phase)
{
	switch (phase) {
	case CONSUMER_STARTING:
		return ("STARTING");
	case CONSUMER_JOINING:
		return ("JOINING");
	case CONSUMER_REBALANCING:
		return ("REBALANCING");
	case CONSUMER_RUNNING:
		return ("RUNNING");
	case CONSUMER_STOPPED:
		return ("STOPPED");
	}

	return ("UNKNOWN");
}

const char *
consumer_brokers(const struct config *cfg)
{
	const char	*brokers;

	brokers = cfg->kafka.brokers;
	if (*brokers == '\0' && ((brokers = getenv(CONSUMER_BROKERS_ENV)) ==
	    NULL || *brokers == '\0'))
		brokers = CONSUMER_BROKERS_DEV;

	return (brokers);
}

/* --- the shared status ---------------------------------------------------- */

static void
consumer_set_error(const char *fmt, ...)
{
	va_list		ap;
	char		buf[sizeof(cshared->error)];

	buf[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
	}

	pthread_mutex_lock(&consumer_error_lock);
	atomic_fetch_add_explicit(&cshared->seq, 1, memory_order_acq_rel);
	memcpy(cshared->error, buf, sizeof(buf));
	atomic_fetch_add_explicit(&cshared->seq, 1, memory_order_acq_rel);
	pthread_mutex_unlock(&consumer_error_lock);
}

/* The group instance id and librdkafka's group states; NULL keeps one. */
static void
consumer_set_strings(const char *instance, const char *cgrp,
    const char *join)
{
	pthread_mutex_lock(&consumer_error_lock);
	atomic_fetch_add_explicit(&cshared->seq, 1, memory_order_acq_rel);
	if (instance != NULL)
		(void)snprintf(cshared->instance, sizeof(cshared->instance),
		    "%s", instance);
	if (cgrp != NULL)
		(void)snprintf(cshared->cgrp_state,
		    sizeof(cshared->cgrp_state), "%s", cgrp);
	if (join != NULL)
		(void)snprintf(cshared->join_state,
		    sizeof(cshared->join_state), "%s", join);
	atomic_fetch_add_explicit(&cshared->seq, 1, memory_order_acq_rel);
	pthread_mutex_unlock(&consumer_error_lock);
}

static void
consumer_set_phase(enum consumer_phase phase)
{
	if (atomic_exchange(&cshared->phase, phase) != (int)phase)
		atomic_store(&cshared->since_ms, consumer_now_ms());
}

/* What librdkafka has assigned to this consumer now. */
static void
consumer_set_partitions(rd_kafka_t *rk)
{
	rd_kafka_topic_partition_list_t	*parts;
	int				 n;

	n = 0;
	if (rk != NULL && rd_kafka_assignment(rk, &parts) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		n = parts->cnt;
		rd_kafka_topic_partition_list_destroy(parts);
	}
	atomic_store(&cshared->partitions, n);
	metrics_consumer_partitions_set(n);
}

void
consumer_status(struct consumer_status *st)
{
	unsigned int	seq;
	pid_t		pid;

	memset(st, 0, sizeof(*st));
	st->now_ms = consumer_now_ms();
	if (cshared == NULL)
		return;

	do {
		seq = atomic_load_explicit(&cshared->seq, memory_order_acquire);
		memcpy(st->error, cshared->error, sizeof(st->error));
		memcpy(st->instance, cshared->instance, sizeof(st->instance));
		memcpy(st->cgrp_state, cshared->cgrp_state,
		    sizeof(st->cgrp_state));
		memcpy(st->join_state, cshared->join_state,
		    sizeof(st->join_state));
	} while ((seq & 1) || seq != atomic_load_explicit(&cshared->seq,
	    memory_order_acquire));
	st->error[sizeof(st->error) - 1] = '\0';
	st->instance[sizeof(st->instance) - 1] = '\0';
	st->cgrp_state[sizeof(st->cgrp_state) - 1] = '\0';
	st->join_state[sizeof(st->join_state) - 1] = '\0';

	st->phase = atomic_load(&cshared->phase);
	st->since_ms = atomic_load(&cshared->since_ms);
	st->started_ms = atomic_load(&cshared->started_ms);
	st->last_poll_ms = atomic_load(&cshared->last_poll_ms);
	st->last_commit_ms = atomic_load(&cshared->last_commit_ms);
	st->stuck_after_ms = atomic_load(&cshared->stuck_after_ms);
	st->batches = atomic_load(&cshared->batches);
	st->events = atomic_load(&cshared->events);
	st->restarts = atomic_load(&cshared->restarts);
	st->partitions = atomic_load(&cshared->partitions);
	st->db_retry = atomic_load(&cshared->db_retry);
	st->broken = atomic_load(&cshared->broken);

	/*
	 * Nothing of a dead worker 1 is presented as current: until the
	 * respawned one starts its consumer, it is STOPPED since its last
	 * sign of life, with nothing assigned.
	 */
	pid = atomic_load(&cshared->pid);
	if (pid > 0 && st->phase != CONSUMER_STOPPED && kill(pid, 0) == -1 &&
	    errno == ESRCH) {
		st->gone = 1;
		st->phase = CONSUMER_STOPPED;
		st->since_ms = st->last_poll_ms;
		st->partitions = 0;
	}
}

int
consumer_alive(const struct consumer_status *st)
{
	if (st->broken || st->phase == CONSUMER_STOPPED)
		return (0);

	return (st->now_ms - st->last_poll_ms <= CONSUMER_STALL_MS);
}

int
consumer_healthy(const struct consumer_status *st)
{
	if (!consumer_alive(st))
		return (0);
	if (st->phase == CONSUMER_RUNNING)
		return (1);

	return (st->now_ms - st->since_ms <= st->stuck_after_ms);
}

static void
consumer_beat(void)
{
	atomic_store(&cshared->last_poll_ms, consumer_now_ms());
}

/*
 * While the consumer waits for the lanes: alive, unless a lane has been
 * inside one database attempt for CONSUMER_STALL_MS (a hung server), so
 * that liveness reports it.  A lane backing off is not stuck.
 */
static void
consumer_beat_unless_stuck(struct consumer_ctx *ctx)
{
	if (applier_attempt_ms(ctx->applier) < CONSUMER_STALL_MS)
		consumer_beat();
}

/* Sleep ms in short steps, beating, and give up early on stop. */
static void
consumer_nap(int ms)
{
	struct timespec		ts;

	ts.tv_sec = 0;
	ts.tv_nsec = 50 * 1000000L;
	for (; ms > 0 && !atomic_load(&cctx->stop); ms -= 50) {
		consumer_beat();
		(void)nanosleep(&ts, NULL);
	}
}

/* --- librdkafka set-up ---------------------------------------------------- */

static int
consumer_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val,
    char *err, size_t errlen)
{
	char		why[128];

	if (rd_kafka_conf_set(conf, key, val, why, sizeof(why)) !=
	    RD_KAFKA_CONF_OK) {
		(void)snprintf(err, errlen, "kafka %s=%s: %s", key, val, why);
		return (-1);
	}

	return (0);
}

/* group.instance.id: $POD_NAME, else the host name ("" when off). */
static void
consumer_instance(const struct config *cfg, char *buf, size_t len)
{
	const char	*pod;

	buf[0] = '\0';
	if (!cfg->kafka.static_membership)
		return;

	if ((pod = getenv(CONSUMER_INSTANCE_ENV)) != NULL && *pod != '\0') {
		(void)snprintf(buf, len, "%s", pod);
		return;
	}
	if (gethostname(buf, len) == -1) {
		kore_log(LOG_WARNING, "consumer: gethostname: %s; no static "
		    "group membership", errno_s);
		buf[0] = '\0';
		return;
	}
	buf[len - 1] = '\0';
}

static rd_kafka_t *
consumer_create(struct consumer_ctx *ctx, char *err, size_t errlen)
{
	rd_kafka_conf_t		*conf;
	rd_kafka_t		*rk;
	size_t			 i;
	char			 stats[16], session[16];
	const char		*kv[][2] = {
		{ "group.id", ctx->cfg->kafka.group },
		{ "client.id", "saga-tracker" },
		{ "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" },
		{ "auto.offset.reset", "earliest" },
		{ "session.timeout.ms", session },
		{ "heartbeat.interval.ms", "2000" },
		{ "log_level", "4" },
	};

	conf = rd_kafka_conf_new();
	(void)snprintf(stats, sizeof(stats), "%d", CONSUMER_STATS_MS);
	(void)snprintf(session, sizeof(session), "%d", CONSUMER_SESSION_MS);
	if (consumer_conf_set(conf, "bootstrap.servers",
	    consumer_brokers(ctx->cfg), err, errlen) == -1 ||
	    consumer_conf_set(conf, "statistics.interval.ms", stats, err,
	    errlen) == -1)
		goto fail;
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (consumer_conf_set(conf, kv[i][0], kv[i][1], err,
		    errlen) == -1)
			goto fail;
	}
	if (ctx->instance[0] != '\0' && consumer_conf_set(conf,
	    "group.instance.id", ctx->instance, err, errlen) == -1)
		goto fail;
	rd_kafka_conf_set_rebalance_cb(conf, consumer_on_rebalance);
	rd_kafka_conf_set_stats_cb(conf, consumer_on_stats);
	rd_kafka_conf_set_error_cb(conf, consumer_on_error);

	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
	    errlen)) == NULL)
		goto fail;
	rd_kafka_poll_set_consumer(rk);
	kore_log(LOG_NOTICE, "consumer: brokers %s, topic %s, group %s, %s%s",
	    consumer_brokers(ctx->cfg), ctx->topic, ctx->cfg->kafka.group,
	    ctx->instance[0] != '\0' ? "static member " : "dynamic member",
	    ctx->instance);

	return (rk);

fail:
	rd_kafka_conf_destroy(conf);
	return (NULL);
}

static int
consumer_subscribe(struct consumer_ctx *ctx, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t	*topics;
	rd_kafka_resp_err_t		 rerr;

	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, ctx->topic,
	    RD_KAFKA_PARTITION_UA);
	rerr = rd_kafka_subscribe(ctx->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		(void)snprintf(err, errlen, "subscribe %s: %s", ctx->topic,
		    rd_kafka_err2str(rerr));
		return (-1);
	}

	return (0);
}

static void
consumer_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	int		i, cooperative;

	(void)opaque;
	cooperative = strcmp(rd_kafka_rebalance_protocol(rk),
	    "COOPERATIVE") == 0;

	for (i = 0; i < parts->cnt; i++) {
		kore_log(LOG_NOTICE, "consumer: %s %s[%d]",
		    err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ?
		    "assigned" : "revoked", parts->elems[i].topic,
		    parts->elems[i].partition);
	}

	/* What was taken from revoked partitions is applied first. */
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (cooperative)
			(void)rd_kafka_incremental_assign(rk, parts);
		else
			(void)rd_kafka_assign(rk, parts);
		consumer_set_partitions(rk);
		consumer_set_phase(CONSUMER_RUNNING);
	} else {
		consumer_set_phase(CONSUMER_REBALANCING);
		consumer_drain(cctx);
		if (cooperative)
			(void)rd_kafka_incremental_unassign(rk, parts);
		else
			(void)rd_kafka_assign(rk, NULL);
		consumer_set_partitions(rk);
	}
}

/*
 * The group state for the watchdog and the health, from librdkafka's
 * statistics: a steady member is in state "up", join state "steady".
 */
static int
consumer_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	json_t		*root, *cgrp;
	const char	*state, *join;
	int		 steady;

	(void)rk;
	(void)opaque;
	if ((root = json_loadb(json, len, 0, NULL)) == NULL)
		return (0);

	cgrp = json_object_get(root, "cgrp");
	state = json_string_value(json_object_get(cgrp, "state"));
	join = json_string_value(json_object_get(cgrp, "join_state"));
	if (state != NULL && join != NULL) {
		consumer_set_strings(NULL, state, join);
		steady = strcmp(state, "up") == 0 &&
		    strcmp(join, "steady") == 0;
		if (cctx->steady && !steady)
			cctx->unsteady_ms = consumer_mono_ms();
		cctx->steady = steady;
		(void)snprintf(cctx->trigger, sizeof(cctx->trigger),
		    "state %s, join state %s, rebalance age %lld ms, "
		    "assignment %lld, last rebalance: %s", state, join,
		    (long long)json_integer_value(json_object_get(cgrp,
		    "rebalance_age")),
		    (long long)json_integer_value(json_object_get(cgrp,
		    "assignment_size")),
		    json_string_value(json_object_get(cgrp,
		    "rebalance_reason")) ? json_string_value(json_object_get(
		    cgrp, "rebalance_reason")) : "-");
	}

	json_decref(root);
	return (0);
}

static void
consumer_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	kore_log(LOG_WARNING, "consumer: kafka: %s: %s",
	    rd_kafka_err2name(err), reason);
	consumer_set_error("kafka: %s", reason);
}

/* --- the thread ----------------------------------------------------------- */

int
consumer_start(const struct config *cfg, const char *dsn)
{
	struct applier_hooks	hooks;
	char			err[1024];

	if (cshared == NULL) {
		kore_log(LOG_ERR, "consumer: shared status was not mapped");
		return (-1);
	}
	if ((cctx = calloc(1, sizeof(*cctx))) == NULL)
		fatal("consumer: %s", errno_s);

	cctx->cfg = cfg;
	(void)kore_strlcpy(cctx->dsn, dsn, sizeof(cctx->dsn));
	(void)kore_strlcpy(cctx->topic, cfg->kafka.topic, sizeof(cctx->topic));
	consumer_instance(cfg, cctx->instance, sizeof(cctx->instance));

	/* A new consumer: its own counts, phase and identity. */
	atomic_store(&cshared->pid, (int)getpid());
	atomic_store(&cshared->started_ms, consumer_now_ms());
	atomic_store(&cshared->stuck_after_ms,
	    (long long)cfg->kafka.stuck_after_sec * 1000);
	atomic_store(&cshared->batches, 0);
	atomic_store(&cshared->events, 0);
	atomic_store(&cshared->restarts, 0);
	atomic_store(&cshared->broken, 0);
	atomic_store(&cshared->db_retry, 0);
	atomic_store(&cshared->phase, CONSUMER_STARTING);
	atomic_store(&cshared->since_ms, consumer_now_ms());
	consumer_set_strings(cctx->instance, "", "");
	consumer_set_error(NULL);
	consumer_set_partitions(NULL);
	consumer_beat();

	memset(&hooks, 0, sizeof(hooks));
	hooks.done = consumer_applied;
	hooks.failed = consumer_not_applied;
	hooks.dropped = consumer_dropped;
	hooks.arg = cctx;
	if ((cctx->applier = applier_create(dsn, CONSUMER_LANES,
	    cfg->retention.terminal_sec, &hooks, err, sizeof(err))) == NULL) {
		kore_log(LOG_ERR, "consumer: %s", err);
		consumer_set_error("%s", err);
		return (-1);
	}

	if ((cctx->rk = consumer_create(cctx, err, sizeof(err))) == NULL ||
	    consumer_subscribe(cctx, err, sizeof(err)) == -1) {
		kore_log(LOG_ERR, "consumer: %s", err);
		consumer_set_error("%s", err);
		return (-1);
	}
	cctx->unsteady_ms = consumer_mono_ms();

	if ((errno = pthread_create(&cctx->thread, NULL, consumer_main,
	    cctx)) != 0) {
		kore_log(LOG_ERR, "consumer: pthread_create: %s", errno_s);
		return (-1);
	}
	cctx->started = 1;

	return (0);
}

void
consumer_stop(void)
{
	if (cctx == NULL || !cctx->started)
		return;

	atomic_store(&cctx->stop, 1);
	(void)pthread_join(cctx->thread, NULL);
	cctx->started = 0;
	kore_log(LOG_NOTICE, "consumer: stopped");
}

static void *
consumer_main(void *arg)
{
	struct consumer_ctx	*ctx = arg;
	rd_kafka_resp_err_t	 err;

	while (!atomic_load(&ctx->stop)) {
		consumer_beat_unless_stuck(ctx);
		if (consumer_store_ready(ctx) == -1) {
			consumer_nap(1000);
			continue;
		}
		if (ctx->rk == NULL) {
			/* The watchdog could not recreate it: again. */
			if (consumer_mono_ms() >= ctx->next_try_ms)
				consumer_recreate(ctx);
			consumer_nap(1000);
			continue;
		}
		consumer_poll(ctx);
		consumer_gauges(ctx);
		consumer_watch(ctx);
	}

	/*
	 * The lanes finish the batches they are writing and commit them;
	 * what they never applied is not committed either.
	 */
	applier_destroy(ctx->applier);
	ctx->applier = NULL;
	if (ctx->rk != NULL) {
		consumer_leave(ctx);
		if ((err = rd_kafka_consumer_close(ctx->rk)) != 0)
			kore_log(LOG_WARNING, "consumer: close: %s",
			    rd_kafka_err2str(err));
		rd_kafka_destroy(ctx->rk);
		ctx->rk = NULL;
	}
	store_close(ctx->store);
	ctx->store = NULL;
	consumer_set_partitions(NULL);
	consumer_set_phase(CONSUMER_STOPPED);

	return (NULL);
}

/*
 * Shutdown: unsubscribe and wait (up to CONSUMER_LEAVE_MS) until the
 * partitions are revoked and the group left.  librdkafka's close alone
 * never sends a static member's LeaveGroup (KIP-345), and then another
 * replica would wait for this one's session timeout.  Messages still
 * polled meanwhile are not applied, so not committed: redelivered.
 */
static void
consumer_leave(struct consumer_ctx *ctx)
{
	rd_kafka_message_t	*m;
	rd_kafka_resp_err_t	 err;
	char			*member;
	int64_t			 deadline;
	int			 left;

	if ((err = rd_kafka_unsubscribe(ctx->rk)) != 0) {
		kore_log(LOG_WARNING, "consumer: unsubscribe: %s",
		    rd_kafka_err2str(err));
		return;
	}

	left = 0;
	deadline = consumer_mono_ms() + CONSUMER_LEAVE_MS;
	while (!left && consumer_mono_ms() < deadline) {
		if ((m = rd_kafka_consumer_poll(ctx->rk,
		    CONSUMER_BATCH_MS)) != NULL) {
			rd_kafka_message_destroy(m);
			continue;
		}
		/* Leaving resets the member id. */
		member = rd_kafka_memberid(ctx->rk);
		left = atomic_load(&cshared->partitions) == 0 &&
		    (member == NULL || *member == '\0');
		rd_kafka_mem_free(ctx->rk, member);
	}
	if (!left)
		kore_log(LOG_WARNING, "consumer: group %s not left within "
		    "%d ms", ctx->cfg->kafka.group, CONSUMER_LEAVE_MS);
}

/*
 * The watchdog: not a steady member for kafka.stuck_after while the
 * group has lag (a fresh reading, of a topic with partitions) means the
 * handle is stuck; recreate it.  A steady member holding no partitions
 * is left alone, and so is everything while the lag cannot be read (a
 * new handle would not reach the broker either).
 */
static void
consumer_watch(struct consumer_ctx *ctx)
{
	struct grouplag_reading	lag;
	int64_t			unsteady;

	if (ctx->steady)
		return;
	unsteady = consumer_mono_ms() - ctx->unsteady_ms;
	if (unsteady < (int64_t)ctx->cfg->kafka.stuck_after_sec * 1000)
		return;

	grouplag_read(&lag);
	if (lag.age_ms < 0 || lag.age_ms > CONSUMER_LAG_FRESH_MS ||
	    lag.partitions == 0 || lag.lag == 0)
		return;

	kore_log(LOG_WARNING, "consumer: not a steady member of group %s "
	    "for %lld s (%s) while the group lags %lld messages: recreating "
	    "the consumer", ctx->cfg->kafka.group, (long long)unsteady / 1000,
	    ctx->trigger[0] != '\0' ? ctx->trigger : "no statistics yet",
	    (long long)lag.lag);
	consumer_recreate(ctx);
}

/*
 * Drain the lanes, destroy the handle without the consumer close (a
 * stuck member cannot leave cleanly; every applied batch was committed
 * already), then a new handle and subscription.  If that fails,
 * liveness fails until a later attempt succeeds.
 */
static void
consumer_recreate(struct consumer_ctx *ctx)
{
	char		err[512];

	if (ctx->rk != NULL) {
		consumer_drain(ctx);
		rd_kafka_destroy_flags(ctx->rk,
		    RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
		ctx->rk = NULL;
		consumer_set_partitions(NULL);
	}
	ctx->steady = 0;
	ctx->trigger[0] = '\0';
	ctx->unsteady_ms = consumer_mono_ms();

	if ((ctx->rk = consumer_create(ctx, err, sizeof(err))) == NULL ||
	    consumer_subscribe(ctx, err, sizeof(err)) == -1) {
		if (ctx->rk != NULL)
			rd_kafka_destroy(ctx->rk);
		ctx->rk = NULL;
		ctx->next_try_ms = consumer_mono_ms() +
		    (int64_t)ctx->cfg->kafka.stuck_after_sec * 1000;
		if (!atomic_exchange(&cshared->broken, 1))
			kore_log(LOG_ERR, "consumer: cannot recreate the "
			    "consumer, liveness fails until it can: %s", err);
		consumer_set_error("watchdog: %s", err);
		return;
	}

	atomic_fetch_add(&cshared->restarts, 1);
	atomic_store(&cshared->broken, 0);
	consumer_set_error(NULL);
	consumer_set_phase(CONSUMER_JOINING);
	kore_log(LOG_NOTICE, "consumer: recreated, joining group %s again",
	    ctx->cfg->kafka.group);
}

static int
consumer_store_ready(struct consumer_ctx *ctx)
{
	char		err[512];

	if (ctx->store != NULL)
		return (0);

	if ((ctx->store = store_open(ctx->dsn, err, sizeof(err))) == NULL) {
		metrics_db_up_set(0);
		consumer_set_error("database: %s", err);
		kore_log(LOG_WARNING, "consumer: database: %s", err);
		return (-1);
	}

	metrics_db_up_set(1);
	consumer_set_error(NULL);
	kore_log(LOG_NOTICE, "consumer: database ready");
	if (atomic_load(&cshared->phase) == CONSUMER_STARTING)
		consumer_set_phase(CONSUMER_JOINING);

	return (0);
}

/*
 * What librdkafka has ready, up to a batch, each message to its lane
 * (waiting for the first one at most CONSUMER_BATCH_MS): the beat, the
 * gauges check and the rest of the loop once per batch, not per event.
 */
static void
consumer_poll(struct consumer_ctx *ctx)
{
	rd_kafka_message_t	*m;
	int			 n, timeout;

	timeout = CONSUMER_BATCH_MS;
	for (n = 0; n < APPLIER_BATCH_MAX && !atomic_load(&ctx->stop); n++) {
		if ((m = rd_kafka_consumer_poll(ctx->rk, timeout)) == NULL)
			return;
		timeout = 0;
		consumer_queue(ctx, m);
	}
}

/* One message to its lane; while the lane is full, wait (and beat). */
static void
consumer_queue(struct consumer_ctx *ctx, rd_kafka_message_t *m)
{
	struct store_msg	msg;

	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		kore_log(LOG_WARNING, "consumer: %s[%d]: %s",
		    m->rkt ? rd_kafka_topic_name(m->rkt) : "-",
		    m->partition, rd_kafka_message_errstr(m));
		rd_kafka_message_destroy(m);
		return;
	}

	memset(&msg, 0, sizeof(msg));
	msg.partition = m->partition;
	msg.offset = m->offset;
	msg.payload = m->payload;
	msg.len = m->len;
	msg.received_ms = consumer_now_ms();
	msg.timestamp_ms = rd_kafka_message_timestamp(m, NULL);
	if (msg.timestamp_ms < 0)
		msg.timestamp_ms = 0;
	msg.owner = m;
	while (applier_push(ctx->applier, &msg, CONSUMER_BATCH_MS) == -1) {
		consumer_beat_unless_stuck(ctx);
		if (atomic_load(&ctx->stop)) {
			/* Not applied, not committed: redelivered later. */
			rd_kafka_message_destroy(m);
			return;
		}
	}
}

/*
 * Before partitions go: apply and commit what was taken from them.  At
 * shutdown the lanes are gone already (they finished what they could).
 */
static void
consumer_drain(struct consumer_ctx *ctx)
{
	if (ctx->applier == NULL)
		return;
	while (applier_drain(ctx->applier, CONSUMER_BATCH_MS) == -1 &&
	    !atomic_load(&ctx->stop))
		consumer_beat_unless_stuck(ctx);
}

/* A lane committed a batch: commit its offsets, free its messages. */
static void
consumer_applied(void *arg, const struct store_msg *msgs, size_t n,
    const struct store_batch_result *res)
{
	struct consumer_ctx	*ctx = arg;
	size_t			 i;

	(void)res;
	metrics_db_up_set(1);
	if (consumer_commit(ctx, msgs, n) == 0) {
		atomic_fetch_add(&cshared->batches, 1);
		atomic_fetch_add(&cshared->events, n);
		if (atomic_exchange(&cshared->db_retry, 0))
			consumer_set_error(NULL);
	}

	for (i = 0; i < n; i++)
		rd_kafka_message_destroy(msgs[i].owner);
}

/* A lane's batch failed; it keeps it and retries (nothing committed). */
static void
consumer_not_applied(void *arg, const struct store_msg *msgs, size_t n,
    const char *err, int backoff_ms)
{
	struct consumer_ctx	*ctx = arg;

	atomic_store(&cshared->db_retry, 1);
	metrics_db_up_set(0);
	consumer_set_error("database: %s", err);
	kore_log(LOG_WARNING, "consumer: batch of %zu (%s[%d]@%lld) not "
	    "applied, retry in %d ms: %s", n, ctx->topic,
	    (int)msgs[0].partition, (long long)msgs[0].offset, backoff_ms,
	    err);
}

/* At shutdown: never applied, so never committed; redelivered later. */
static void
consumer_dropped(void *arg, const struct store_msg *msgs, size_t n)
{
	size_t		i;

	(void)arg;
	for (i = 0; i < n; i++)
		rd_kafka_message_destroy(msgs[i].owner);
}

/* Commit, per partition, the offset after the batch's highest. */
static int
consumer_commit(struct consumer_ctx *ctx, const struct store_msg *msgs,
    size_t n)
{
	rd_kafka_topic_partition_list_t	*offs;
	rd_kafka_topic_partition_t	*tp;
	rd_kafka_resp_err_t		 err;
	size_t				 i;

	offs = rd_kafka_topic_partition_list_new(8);
	for (i = 0; i < n; i++) {
		tp = rd_kafka_topic_partition_list_find(offs, ctx->topic,
		    msgs[i].partition);
		if (tp == NULL)
			tp = rd_kafka_topic_partition_list_add(offs,
			    ctx->topic, msgs[i].partition);
		if (msgs[i].offset + 1 > tp->offset)
			tp->offset = msgs[i].offset + 1;
	}

	err = rd_kafka_commit(ctx->rk, offs, 1);
	rd_kafka_topic_partition_list_destroy(offs);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		/* Applied already: a redelivery is a no-op in the store. */
		kore_log(LOG_WARNING, "consumer: commit after batch of %zu: "
		    "%s", n, rd_kafka_err2str(err));
		return (-1);
	}
	atomic_store(&cshared->last_commit_ms, consumer_now_ms());

	return (0);
}

static void
consumer_gauges(struct consumer_ctx *ctx)
{
	char		err[512];
	int64_t		now;

	now = consumer_now_ms();
	if (now < ctx->next_gauges_ms)
		return;
	ctx->next_gauges_ms = now + CONSUMER_GAUGE_SEC * 1000;

	if (store_refresh_gauges(ctx->store, err, sizeof(err)) == 0) {
		metrics_gauges_read();
		metrics_db_up_set(1);
		if (ctx->gauges_failing)
			kore_log(LOG_NOTICE, "consumer: gauges refreshed "
			    "again");
		ctx->gauges_failing = 0;
		return;
	}

	/* They keep their last values, their age grows; retry soon. */
	if (!ctx->gauges_failing)
		kore_log(LOG_WARNING, "consumer: gauges: %s", err);
	ctx->gauges_failing = 1;
	metrics_db_up_set(store_ping(ctx->store) == 0);
	ctx->next_gauges_ms = now + 1000;
}
