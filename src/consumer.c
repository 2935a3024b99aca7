/*
 * consumer: librdkafka high-level consumer in a pthread of worker 1 that
 * feeds the applier's lanes and commits what they applied (see
 * consumer.h).
 */

#include <kore/kore.h>

#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "applier.h"
#include "consumer.h"
#include "metrics.h"
#include "store.h"

/*
 * Written by worker 1's consumer and lane threads (error under
 * consumer_error_lock); read by every process.
 */
struct consumer_shared {
	atomic_uint		seq;		/* odd while error changes */
	atomic_int		phase;
	atomic_llong		last_poll_ms;
	atomic_llong		last_commit_ms;
	atomic_ullong		batches;
	atomic_ullong		events;
	char			error[256];
};

/* The consumer thread's own state, in worker 1 only. */
struct consumer_ctx {
	pthread_t		 thread;
	int			 started;
	atomic_int		 stop;
	rd_kafka_t		*rk;
	struct applier		*applier;	/* the batches */
	struct store		*store;		/* the gauges */
	char			 dsn[1024];
	char			 topic[CONFIG_STR_MAX];
	int			 lag_per_partition;
	int64_t			 next_gauges_ms;
};

static struct consumer_shared	*cshared = NULL;
static struct consumer_ctx	*cctx = NULL;
static pthread_mutex_t		 consumer_error_lock =
				    PTHREAD_MUTEX_INITIALIZER;

static int64_t	consumer_now_ms(void);
static void	consumer_set_error(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	consumer_beat(void);
static void	consumer_beat_unless_stuck(struct consumer_ctx *);
static void	consumer_nap(int);
static rd_kafka_t *consumer_create(const struct config *, char *, size_t);
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

	return (0);
}

const char *
consumer_phase_name(enum consumer_phase phase)
{
	switch (phase) {
	case CONSUMER_NOT_STARTED:
		return ("NOT_STARTED");
	case CONSUMER_RUNNING:
		return ("RUNNING");
	case CONSUMER_DB_RETRY:
		return ("DB_RETRY");
	case CONSUMER_STOPPED:
		return ("STOPPED");
	}

	return ("UNKNOWN");
}

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

void
consumer_status(struct consumer_status *st)
{
	unsigned int	seq;

	memset(st, 0, sizeof(*st));
	st->now_ms = consumer_now_ms();
	if (cshared == NULL)
		return;

	do {
		seq = atomic_load_explicit(&cshared->seq, memory_order_acquire);
		memcpy(st->error, cshared->error, sizeof(st->error));
	} while ((seq & 1) || seq != atomic_load_explicit(&cshared->seq,
	    memory_order_acquire));
	st->error[sizeof(st->error) - 1] = '\0';

	st->phase = atomic_load(&cshared->phase);
	st->last_poll_ms = atomic_load(&cshared->last_poll_ms);
	st->last_commit_ms = atomic_load(&cshared->last_commit_ms);
	st->batches = atomic_load(&cshared->batches);
	st->events = atomic_load(&cshared->events);
}

int
consumer_alive(const struct consumer_status *st)
{
	if (st->phase != CONSUMER_RUNNING && st->phase != CONSUMER_DB_RETRY)
		return (0);

	return (st->now_ms - st->last_poll_ms <= CONSUMER_STALL_MS);
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

static rd_kafka_t *
consumer_create(const struct config *cfg, char *err, size_t errlen)
{
	rd_kafka_conf_t		*conf;
	rd_kafka_t		*rk;
	const char		*brokers;
	size_t			 i;
	const char		*kv[][2] = {
		{ "group.id", cfg->kafka.group },
		{ "client.id", "saga-tracker" },
		{ "enable.auto.commit", "false" },
		{ "enable.auto.offset.store", "false" },
		{ "auto.offset.reset", "earliest" },
		{ "session.timeout.ms", "10000" },
		{ "heartbeat.interval.ms", "2000" },
		{ "statistics.interval.ms", "5000" },
		{ "log_level", "4" },
	};

	brokers = cfg->kafka.brokers;
	if (*brokers == '\0' && ((brokers = getenv(CONSUMER_BROKERS_ENV)) ==
	    NULL || *brokers == '\0'))
		brokers = CONSUMER_BROKERS_DEV;

	conf = rd_kafka_conf_new();
	if (consumer_conf_set(conf, "bootstrap.servers", brokers, err,
	    errlen) == -1)
		goto fail;
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (consumer_conf_set(conf, kv[i][0], kv[i][1], err,
		    errlen) == -1)
			goto fail;
	}
	rd_kafka_conf_set_rebalance_cb(conf, consumer_on_rebalance);
	rd_kafka_conf_set_stats_cb(conf, consumer_on_stats);
	rd_kafka_conf_set_error_cb(conf, consumer_on_error);

	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
	    errlen)) == NULL)
		goto fail;
	rd_kafka_poll_set_consumer(rk);
	kore_log(LOG_NOTICE, "consumer: brokers %s, topic %s, group %s",
	    brokers, cfg->kafka.topic, cfg->kafka.group);

	return (rk);

fail:
	rd_kafka_conf_destroy(conf);
	return (NULL);
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
		if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
			metrics_consumer_lag_partition_clear(
			    parts->elems[i].partition);
	}

	/* What was taken from revoked partitions is applied first. */
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		if (cooperative)
			(void)rd_kafka_incremental_assign(rk, parts);
		else
			(void)rd_kafka_assign(rk, parts);
	} else {
		consumer_drain(cctx);
		if (cooperative)
			(void)rd_kafka_incremental_unassign(rk, parts);
		else
			(void)rd_kafka_assign(rk, NULL);
	}
}

/* Sum consumer_lag over the partitions assigned to this consumer. */
static int
consumer_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	json_t		*root, *parts, *p;
	const char	*key;
	json_int_t	 lag, total;

	(void)rk;
	(void)opaque;
	if ((root = json_loadb(json, len, 0, NULL)) == NULL)
		return (0);

	parts = json_object_get(json_object_get(json_object_get(root,
	    "topics"), cctx->topic), "partitions");
	/* Partitions not (or no longer) assigned to us count nothing. */
	total = 0;
	json_object_foreach(parts, key, p) {
		if (strcmp(key, "-1") == 0)
			continue;
		lag = json_integer_value(json_object_get(p, "consumer_lag"));
		if (lag < 0)
			continue;
		total += lag;
		if (cctx->lag_per_partition)
			(void)metrics_consumer_lag_partition_set(
			    (int32_t)strtol(key, NULL, 10), lag);
	}
	metrics_consumer_lag_set(total);

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

/* --- the thread ------------------------------------------------------------ */

int
consumer_start(const struct config *cfg, const char *dsn)
{
	rd_kafka_topic_partition_list_t	*topics;
	rd_kafka_resp_err_t		 rerr;
	struct applier_hooks		 hooks;
	char				 err[1024];

	if (cshared == NULL) {
		kore_log(LOG_ERR, "consumer: shared status was not mapped");
		return (-1);
	}
	if ((cctx = calloc(1, sizeof(*cctx))) == NULL)
		fatal("consumer: %s", errno_s);

	(void)kore_strlcpy(cctx->dsn, dsn, sizeof(cctx->dsn));
	(void)kore_strlcpy(cctx->topic, cfg->kafka.topic, sizeof(cctx->topic));
	cctx->lag_per_partition = cfg->metrics.lag_per_partition;

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

	if ((cctx->rk = consumer_create(cfg, err, sizeof(err))) == NULL) {
		kore_log(LOG_ERR, "consumer: %s", err);
		consumer_set_error("%s", err);
		return (-1);
	}

	topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, cfg->kafka.topic,
	    RD_KAFKA_PARTITION_UA);
	rerr = rd_kafka_subscribe(cctx->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		kore_log(LOG_ERR, "consumer: subscribe %s: %s",
		    cfg->kafka.topic, rd_kafka_err2str(rerr));
		return (-1);
	}

	consumer_beat();
	atomic_store(&cshared->phase, CONSUMER_RUNNING);
	if ((errno = pthread_create(&cctx->thread, NULL, consumer_main,
	    cctx)) != 0) {
		kore_log(LOG_ERR, "consumer: pthread_create: %s", errno_s);
		atomic_store(&cshared->phase, CONSUMER_NOT_STARTED);
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
		consumer_poll(ctx);
		consumer_gauges(ctx);
	}

	/*
	 * The lanes finish the batches they are writing and commit them;
	 * what they never applied is not committed either.
	 */
	applier_destroy(ctx->applier);
	ctx->applier = NULL;
	if ((err = rd_kafka_consumer_close(ctx->rk)) != 0)
		kore_log(LOG_WARNING, "consumer: close: %s",
		    rd_kafka_err2str(err));
	rd_kafka_destroy(ctx->rk);
	store_close(ctx->store);
	ctx->store = NULL;
	atomic_store(&cshared->phase, CONSUMER_STOPPED);

	return (NULL);
}

static int
consumer_store_ready(struct consumer_ctx *ctx)
{
	char		err[512];

	if (ctx->store != NULL)
		return (0);

	if ((ctx->store = store_open(ctx->dsn, err, sizeof(err))) == NULL) {
		atomic_store(&cshared->phase, CONSUMER_DB_RETRY);
		consumer_set_error("database: %s", err);
		kore_log(LOG_WARNING, "consumer: database: %s", err);
		return (-1);
	}

	atomic_store(&cshared->phase, CONSUMER_RUNNING);
	consumer_set_error(NULL);
	kore_log(LOG_NOTICE, "consumer: database ready");

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
	if (consumer_commit(ctx, msgs, n) == 0) {
		atomic_fetch_add(&cshared->batches, 1);
		atomic_fetch_add(&cshared->events, n);
		if (atomic_exchange(&cshared->phase, CONSUMER_RUNNING) ==
		    CONSUMER_DB_RETRY)
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

	atomic_store(&cshared->phase, CONSUMER_DB_RETRY);
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

	if (store_refresh_gauges(ctx->store, err, sizeof(err)) == -1) {
		kore_log(LOG_WARNING, "consumer: gauges: %s", err);
		(void)store_ping(ctx->store);
	}
}
