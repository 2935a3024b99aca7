/*
 * grouplag: the group's lag read from the broker by a thread of its own
 * (see grouplag.h).
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

#include <librdkafka/rdkafka.h>

#include "grouplag.h"
#include "metrics.h"
#include "xalloc.h"

/* Written by the reading thread, read by every process. */
struct grouplag_shared {
	atomic_llong		lag;
	atomic_int		partitions;
	atomic_llong		read_ms;	/* monotonic, 0 = never */
};

/* The reading thread's own state, in its worker only. */
struct grouplag_ctx {
	pthread_t		 thread;
	atomic_int		 stop;
	rd_kafka_t		*rk;
	char			 topic[CONFIG_STR_MAX];
	char			 group[CONFIG_STR_MAX];
	int			 per_partition;
	int			 failing;	/* the last reading failed */
	int64_t			 published;	/* partitions with a series */
};

static struct grouplag_shared	*gshared = NULL;
static struct grouplag_ctx	*gctx = NULL;

static int64_t	grouplag_now_ms(void);
static void	*grouplag_main(void *);
static int	grouplag_once(struct grouplag_ctx *, char *, size_t);
static int	grouplag_partitions(struct grouplag_ctx *,
		    rd_kafka_topic_partition_list_t *, char *, size_t);
static int	grouplag_committed(struct grouplag_ctx *,
		    rd_kafka_topic_partition_list_t *, char *, size_t);
static int	grouplag_watermarks(struct grouplag_ctx *,
		    rd_kafka_topic_partition_list_t *, int64_t *, char *,
		    size_t);
static void	grouplag_publish(struct grouplag_ctx *,
		    const rd_kafka_topic_partition_list_t *, const int64_t *);

static int64_t
grouplag_now_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int
grouplag_shared_init(void)
{
	void		*p;

	p = mmap(NULL, sizeof(*gshared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (-1);

	gshared = p;
	memset(gshared, 0, sizeof(*gshared));

	return (0);
}

void
grouplag_read(struct grouplag_reading *r)
{
	int64_t		read_ms;

	memset(r, 0, sizeof(*r));
	r->age_ms = -1;
	if (gshared == NULL)
		return;

	read_ms = atomic_load(&gshared->read_ms);
	r->lag = atomic_load(&gshared->lag);
	r->partitions = atomic_load(&gshared->partitions);
	if (read_ms != 0)
		r->age_ms = grouplag_now_ms() - read_ms;
}

int
grouplag_start(const struct config *cfg, const char *brokers)
{
	rd_kafka_conf_t		*conf;
	char			 err[512];
	size_t			 i;
	const char		*kv[][2] = {
		{ "bootstrap.servers", brokers },
		{ "group.id", cfg->kafka.group },
		{ "client.id", "saga-tracker-lag" },
		{ "enable.auto.commit", "false" },
		{ "log_level", "4" },
	};

	if (gshared == NULL) {
		kore_log(LOG_ERR, "grouplag: shared reading was not mapped");
		return (-1);
	}
	if ((gctx = calloc(1, sizeof(*gctx))) == NULL)
		fatal("grouplag: %s", errno_s);
	(void)kore_strlcpy(gctx->topic, cfg->kafka.topic, sizeof(gctx->topic));
	(void)kore_strlcpy(gctx->group, cfg->kafka.group, sizeof(gctx->group));
	gctx->per_partition = cfg->metrics.lag_per_partition;

	conf = rd_kafka_conf_new();
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err,
		    sizeof(err)) != RD_KAFKA_CONF_OK) {
			kore_log(LOG_ERR, "grouplag: kafka %s=%s: %s",
			    kv[i][0], kv[i][1], err);
			rd_kafka_conf_destroy(conf);
			return (-1);
		}
	}
	/* A consumer handle that never subscribes: it only asks. */
	if ((gctx->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err,
	    sizeof(err))) == NULL) {
		kore_log(LOG_ERR, "grouplag: %s", err);
		rd_kafka_conf_destroy(conf);
		return (-1);
	}

	if ((errno = pthread_create(&gctx->thread, NULL, grouplag_main,
	    gctx)) != 0) {
		kore_log(LOG_ERR, "grouplag: pthread_create: %s", errno_s);
		rd_kafka_destroy(gctx->rk);
		gctx->rk = NULL;
		return (-1);
	}
	kore_log(LOG_NOTICE, "grouplag: reading the lag of group %s on %s "
	    "every %d ms", cfg->kafka.group, cfg->kafka.topic,
	    GROUPLAG_INTERVAL_MS);

	return (0);
}

void
grouplag_stop(void)
{
	if (gctx == NULL || gctx->rk == NULL)
		return;

	atomic_store(&gctx->stop, 1);
	(void)pthread_join(gctx->thread, NULL);
	rd_kafka_destroy(gctx->rk);
	gctx->rk = NULL;
}

static void *
grouplag_main(void *arg)
{
	struct grouplag_ctx	*ctx = arg;
	struct timespec		 ts;
	int64_t			 next;
	char			 err[512];

	ts.tv_sec = 0;
	ts.tv_nsec = 50 * 1000000L;
	next = 0;
	while (!atomic_load(&ctx->stop)) {
		if (grouplag_now_ms() < next) {
			(void)nanosleep(&ts, NULL);
			continue;
		}
		next = grouplag_now_ms() + GROUPLAG_INTERVAL_MS;

		/* Log a failure once, and the recovery. */
		if (grouplag_once(ctx, err, sizeof(err)) == -1) {
			if (!ctx->failing)
				kore_log(LOG_WARNING, "grouplag: cannot read "
				    "the lag of group %s on %s, it goes "
				    "stale: %s", ctx->group, ctx->topic, err);
			ctx->failing = 1;
		} else if (ctx->failing) {
			kore_log(LOG_NOTICE, "grouplag: reading the lag "
			    "again");
			ctx->failing = 0;
		}
	}

	return (NULL);
}

/* One reading: partitions, committed offsets, watermarks; publish. */
static int
grouplag_once(struct grouplag_ctx *ctx, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t	*parts;
	int64_t				*lags;
	int				 rc;

	parts = rd_kafka_topic_partition_list_new(8);
	lags = NULL;
	rc = -1;
	if (grouplag_partitions(ctx, parts, err, errlen) == -1 ||
	    grouplag_committed(ctx, parts, err, errlen) == -1)
		goto done;
	lags = xcalloc((size_t)parts->cnt + 1, sizeof(*lags), "grouplag");
	if (grouplag_watermarks(ctx, parts, lags, err, errlen) == -1)
		goto done;

	grouplag_publish(ctx, parts, lags);
	rc = 0;

done:
	free(lags);
	rd_kafka_topic_partition_list_destroy(parts);
	return (rc);
}

/* Every partition of the topic, from the broker's metadata. */
static int
grouplag_partitions(struct grouplag_ctx *ctx,
    rd_kafka_topic_partition_list_t *parts, char *err, size_t errlen)
{
	const struct rd_kafka_metadata	*md;
	rd_kafka_topic_t		*rkt;
	rd_kafka_resp_err_t		 rerr;
	int				 i;

	if ((rkt = rd_kafka_topic_new(ctx->rk, ctx->topic, NULL)) == NULL) {
		(void)snprintf(err, errlen, "topic %s: %s", ctx->topic,
		    rd_kafka_err2str(rd_kafka_last_error()));
		return (-1);
	}
	rerr = rd_kafka_metadata(ctx->rk, 0, rkt, &md, GROUPLAG_TIMEOUT_MS);
	rd_kafka_topic_destroy(rkt);
	if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		(void)snprintf(err, errlen, "metadata of %s: %s", ctx->topic,
		    rd_kafka_err2str(rerr));
		return (-1);
	}

	/* A topic has at least one partition: none is no answer yet. */
	if (md->topic_cnt != 1 || md->topics[0].err != 0 ||
	    md->topics[0].partition_cnt == 0) {
		(void)snprintf(err, errlen, "metadata of %s: %s", ctx->topic,
		    md->topic_cnt != 1 ? "no such topic" :
		    md->topics[0].err != 0 ?
		    rd_kafka_err2str(md->topics[0].err) : "no partitions");
		rd_kafka_metadata_destroy(md);
		return (-1);
	}
	for (i = 0; i < md->topics[0].partition_cnt; i++)
		(void)rd_kafka_topic_partition_list_add(parts, ctx->topic,
		    md->topics[0].partitions[i].id);
	rd_kafka_metadata_destroy(md);

	return (0);
}

/* The group's committed offsets (RD_KAFKA_OFFSET_INVALID: none). */
static int
grouplag_committed(struct grouplag_ctx *ctx,
    rd_kafka_topic_partition_list_t *parts, char *err, size_t errlen)
{
	rd_kafka_resp_err_t	rerr;
	int			i;

	if (parts->cnt == 0)
		return (0);
	rerr = rd_kafka_committed(ctx->rk, parts, GROUPLAG_TIMEOUT_MS);
	if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
		(void)snprintf(err, errlen, "committed offsets of group %s: "
		    "%s", ctx->group, rd_kafka_err2str(rerr));
		return (-1);
	}
	for (i = 0; i < parts->cnt; i++) {
		if (parts->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			(void)snprintf(err, errlen, "committed offset of "
			    "%s[%d]: %s", ctx->topic,
			    (int)parts->elems[i].partition,
			    rd_kafka_err2str(parts->elems[i].err));
			return (-1);
		}
	}

	return (0);
}

/* Per partition: high watermark - (committed, else log start). */
static int
grouplag_watermarks(struct grouplag_ctx *ctx,
    rd_kafka_topic_partition_list_t *parts, int64_t *lags, char *err,
    size_t errlen)
{
	rd_kafka_topic_partition_t	*tp;
	rd_kafka_resp_err_t		 rerr;
	int64_t				 low, high, from;
	int				 i;

	for (i = 0; i < parts->cnt && !atomic_load(&ctx->stop); i++) {
		tp = &parts->elems[i];
		rerr = rd_kafka_query_watermark_offsets(ctx->rk, ctx->topic,
		    tp->partition, &low, &high, GROUPLAG_TIMEOUT_MS);
		if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
			(void)snprintf(err, errlen, "watermarks of %s[%d]: %s",
			    ctx->topic, (int)tp->partition,
			    rd_kafka_err2str(rerr));
			return (-1);
		}
		from = tp->offset >= 0 ? tp->offset : low;
		lags[i] = high > from ? high - from : 0;
	}
	if (i < parts->cnt) {
		(void)snprintf(err, errlen, "stopping");
		return (-1);
	}

	return (0);
}

static void
grouplag_publish(struct grouplag_ctx *ctx,
    const rd_kafka_topic_partition_list_t *parts, const int64_t *lags)
{
	int64_t		total;
	int		i;

	total = 0;
	for (i = 0; i < parts->cnt; i++) {
		total += lags[i];
		if (ctx->per_partition)
			(void)metrics_consumer_lag_partition_set(
			    parts->elems[i].partition, lags[i]);
	}
	/* Partitions gone from the topic lose their series. */
	for (i = parts->cnt; i < ctx->published; i++)
		metrics_consumer_lag_partition_clear(i);
	if (ctx->per_partition)
		ctx->published = parts->cnt;

	metrics_consumer_lag_set(total);
	metrics_consumer_lag_read();

	atomic_store(&gshared->lag, total);
	atomic_store(&gshared->partitions, parts->cnt);
	atomic_store(&gshared->read_ms, grouplag_now_ms());
}
