/*
 * event-generator: produces realistic saga events to Kafka for `make run`.
 *
 * Each saga is an ORDER_CHECKOUT that walks STOCK_RESERVE, PAYMENT_INIT
 * and SHIPMENT_CREATE.  A share of them fail at a random step and then
 * compensate (COMPENSATING, COMPENSATED) after a short delay; a few stay
 * failed so the pending-compensation gauges have something to show.
 *
 *	event-generator -b brokers [-t topic] [-r sagas/s] [-n sagas]
 *	    [-f failure%] [-s seed] [-c config [-q | -S]]
 *
 * -n 0 (the default) runs until SIGINT/SIGTERM.  Progress goes to stderr
 * every 10 s.  Delivery errors are reported and counted, never ignored.
 *
 * With -c, the service's YAML (conf/saga-tracker.yaml) gives the topic
 * (unless -t) and alerts.failure_spike, for two modes:
 *
 *	-q	quiet: one saga in N fails, N chosen so that at most half
 *		the failure_spike threshold fail within its window, so the
 *		SagaFailureSpike alert stays silent (what `make run` uses);
 *	-S	spike: threshold + 5 sagas (unless -n), every one failing,
 *		then exit: the alert goes pending, then fires after its
 *		`for` (what `make demo-failure-spike` uses).
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "config.h"
#include "duration.h"
#include "rfc3339.h"
#include "saga.h"

#define GEN_STEPS	3
#define GEN_SPIKE_OVER	5	/* -S: sagas beyond the threshold */

struct gen_opts {
	const char	*brokers;
	const char	*topic;
	double		 rate;
	long		 sagas;
	int		 failure_pct;
	unsigned int	 seed;
	const char	*config;	/* -c */
	int		 topic_set;	/* -t given */
	int		 quiet;		/* -q */
	int		 spike;		/* -S */
	long		 fail_every;	/* -q: every Nth saga fails, 0 = off */
};

struct gen_stats {
	long		produced;
	long		delivered;
	long		failed;
};

static const char	*gen_steps[GEN_STEPS] = {
	"STOCK_RESERVE", "PAYMENT_INIT", "SHIPMENT_CREATE"
};
static const char	*gen_reasons[] = {
	"Insufficient stock", "Card declined", "Carrier unavailable"
};

static volatile sig_atomic_t	gen_stop = 0;

static void	gen_on_signal(int);
static void	gen_usage(void);
static void	gen_on_delivery(rd_kafka_t *, const rd_kafka_message_t *,
		    void *);
static rd_kafka_t *gen_producer(const struct gen_opts *, struct gen_stats *);
static void	gen_time(char *, size_t, long);
static int	gen_send(rd_kafka_t *, const struct gen_opts *,
		    struct gen_stats *, const char *, const char *,
		    const char *, long);
static void	gen_parse(int, char **, struct gen_opts *);
static int	gen_saga(rd_kafka_t *, const struct gen_opts *,
		    struct gen_stats *, long);
static void	gen_config(struct gen_opts *);

static void
gen_on_signal(int sig)
{
	(void)sig;
	gen_stop = 1;
}

static void
gen_usage(void)
{
	fprintf(stderr, "usage: event-generator -b brokers [-t topic] "
	    "[-r sagas/s] [-n sagas] [-f failure%%] [-s seed]\n"
	    "           [-c config [-q | -S]]\n");
	exit(2);
}

static void
gen_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *arg)
{
	struct gen_stats	*st = arg;

	(void)rk;
	if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		st->failed++;
		fprintf(stderr, "event-generator: delivery of %.*s failed: "
		    "%s\n", (int)msg->key_len, (const char *)msg->key,
		    rd_kafka_err2str(msg->err));
		return;
	}
	st->delivered++;
}

static rd_kafka_t *
gen_producer(const struct gen_opts *o, struct gen_stats *st)
{
	rd_kafka_conf_t	*conf;
	rd_kafka_t	*rk;
	char		 err[512];

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", o->brokers, err,
	    sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "linger.ms", "20", err,
	    sizeof(err)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", err,
	    sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "event-generator: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return (NULL);
	}
	rd_kafka_conf_set_dr_msg_cb(conf, gen_on_delivery);
	rd_kafka_conf_set_opaque(conf, st);

	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "event-generator: %s\n", err);

	return (rk);
}

/* RFC 3339 UTC with milliseconds, offset_ms after now. */
static void
gen_time(char *buf, size_t len, long offset_ms)
{
	struct timespec	ts;
	int64_t		ms;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
	(void)rfc3339_format(ms, buf, len);
}

static int
gen_send(rd_kafka_t *rk, const struct gen_opts *o, struct gen_stats *st,
    const char *saga, const char *step, const char *status, long offset_ms)
{
	json_t			*ev;
	char			*text, when[40], id[160];
	rd_kafka_resp_err_t	 err;

	gen_time(when, sizeof(when), offset_ms);
	(void)snprintf(id, sizeof(id), "%s-%s-%s", saga, step, status);

	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "eventId", id, "sagaId", saga, "sagaType", "ORDER_CHECKOUT",
	    "orderId", saga + 5, "step", step, "status", status,
	    "occurredAt", when, "traceId", saga);
	if (ev == NULL)
		return (-1);
	if (strcmp(status, "FAILED") == 0)
		json_object_set_new(ev, "metadata", json_pack("{s:s}",
		    "failureReason", gen_reasons[rand() % 3]));

	text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (text == NULL)
		return (-1);

	do {
		err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic),
		    RD_KAFKA_V_KEY(saga, strlen(saga)),
		    RD_KAFKA_V_VALUE(text, strlen(text)),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 100);
	} while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !gen_stop);
	free(text);

	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "event-generator: produce %s %s: %s\n", saga,
		    step, rd_kafka_err2str(err));
		return (-1);
	}
	st->produced++;

	return (0);
}

/* One saga: its steps, and maybe a failure and its compensation. */
static int
gen_saga(rd_kafka_t *rk, const struct gen_opts *o, struct gen_stats *st,
    long n)
{
	char		saga[64];
	int		i, fail_at;
	long		t;

	(void)snprintf(saga, sizeof(saga), "saga-%08lx-%06ld",
	    (unsigned long)time(NULL), n);
	fail_at = (rand() % 100 < o->failure_pct) ? rand() % GEN_STEPS : -1;
	/* -q: the failures evenly spaced instead. */
	if (o->fail_every > 0 && n % o->fail_every == o->fail_every - 1)
		fail_at = rand() % GEN_STEPS;

	t = 0;
	if (gen_send(rk, o, st, saga, gen_steps[0], "STARTED", t) == -1)
		return (-1);
	for (i = 0; i < GEN_STEPS; i++) {
		t += 5 + rand() % 50;
		if (i == fail_at) {
			if (gen_send(rk, o, st, saga, gen_steps[i], "FAILED",
			    t) == -1)
				return (-1);
			/* One in five failures is left for a human. */
			if (rand() % 5 == 0)
				return (0);
			t += 200 + rand() % 3000;
			if (gen_send(rk, o, st, saga, gen_steps[i],
			    "COMPENSATING", t) == -1)
				return (-1);
			t += 100 + rand() % 2000;
			return (gen_send(rk, o, st, saga, gen_steps[i],
			    "COMPENSATED", t));
		}
		if (gen_send(rk, o, st, saga, gen_steps[i], "IN_PROGRESS",
		    t) == -1)
			return (-1);
	}

	return (gen_send(rk, o, st, saga, gen_steps[GEN_STEPS - 1],
	    "COMPLETED", t + 5));
}

static void
gen_parse(int argc, char **argv, struct gen_opts *o)
{
	char		*end;
	int		 ch;

	memset(o, 0, sizeof(*o));
	o->topic = "saga.events";
	o->rate = 5;
	o->failure_pct = 10;
	o->seed = (unsigned int)time(NULL);

	while ((ch = getopt(argc, argv, "b:c:f:n:qr:s:St:")) != -1) {
		errno = 0;
		end = NULL;
		switch (ch) {
		case 'b':
			o->brokers = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->failure_pct = (int)strtol(optarg, &end, 10);
			if (o->failure_pct < 0 || o->failure_pct > 100)
				gen_usage();
			break;
		case 'n':
			o->sagas = strtol(optarg, &end, 10);
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'r':
			o->rate = strtod(optarg, &end);
			if (o->rate <= 0)
				gen_usage();
			break;
		case 's':
			o->seed = (unsigned int)strtoul(optarg, &end, 10);
			break;
		case 'S':
			o->spike = 1;
			break;
		case 't':
			o->topic = optarg;
			o->topic_set = 1;
			break;
		default:
			gen_usage();
		}
		if (errno != 0 || (end != NULL && *end != '\0'))
			gen_usage();
	}
	if (o->brokers == NULL || o->sagas < 0)
		gen_usage();
	if ((o->quiet || o->spike) && o->config == NULL)
		gen_usage();
	if (o->quiet && o->spike)
		gen_usage();
	if (o->config != NULL)
		gen_config(o);
}

/* -c: the topic and the failure_spike alert of the service's YAML. */
static void
gen_config(struct gen_opts *o)
{
	static struct config	 cfg;
	const struct config_alert *spike;
	char			 err[CONFIG_ERR_MAX], window[32], hold[32];
	double			 budget;

	if (config_load(&cfg, o->config, err, sizeof(err)) == -1) {
		fprintf(stderr, "event-generator: %s\n", err);
		exit(1);
	}
	if (!o->topic_set)
		o->topic = cfg.kafka.topic;

	spike = &cfg.alerts.failure_spike;
	duration_format(spike->window_sec, window, sizeof(window));
	duration_format(spike->for_sec, hold, sizeof(hold));

	if (o->quiet) {
		/* Half the threshold per window at most; none below 1. */
		o->failure_pct = 0;
		budget = spike->threshold / 2;
		if (budget >= 1) {
			o->fail_every = (long)(o->rate * spike->window_sec /
			    budget);
			if (o->fail_every < 1)
				o->fail_every = 1;
			if ((double)o->fail_every * budget <
			    o->rate * spike->window_sec)
				o->fail_every++;
		}
		if (o->fail_every > 0)
			fprintf(stderr, "event-generator: quiet: one saga in "
			    "%ld fails, %.0f per %s (alerts.failure_spike: "
			    "more than %g within %s)\n", o->fail_every,
			    o->rate * spike->window_sec / o->fail_every,
			    window, spike->threshold, window);
		else
			fprintf(stderr, "event-generator: quiet: no saga "
			    "fails (alerts.failure_spike threshold %g)\n",
			    spike->threshold);
	}

	if (o->spike) {
		o->failure_pct = 100;
		if (o->sagas == 0)
			o->sagas = (long)spike->threshold + GEN_SPIKE_OVER;
		fprintf(stderr, "event-generator: spike: %ld failing sagas; "
		    "alerts.failure_spike is more than %g within %s for %s\n",
		    o->sagas, spike->threshold, window, hold);
	}
}

int
main(int argc, char **argv)
{
	struct gen_opts		 o;
	struct gen_stats	 st;
	struct timespec		 gap;
	rd_kafka_t		*rk;
	time_t			 last;
	long			 n;

	gen_parse(argc, argv, &o);
	srand(o.seed);
	memset(&st, 0, sizeof(st));
	signal(SIGINT, gen_on_signal);
	signal(SIGTERM, gen_on_signal);

	if ((rk = gen_producer(&o, &st)) == NULL)
		return (1);

	fprintf(stderr, "event-generator: %s topic %s, %.1f sagas/s, %d%% "
	    "failing, seed %u\n", o.brokers, o.topic, o.rate, o.failure_pct,
	    o.seed);
	gap.tv_sec = (time_t)(1.0 / o.rate);
	gap.tv_nsec = (long)((1.0 / o.rate - (double)gap.tv_sec) * 1e9);
	last = time(NULL);

	for (n = 0; !gen_stop && (o.sagas == 0 || n < o.sagas); n++) {
		if (gen_saga(rk, &o, &st, n) == -1)
			break;
		rd_kafka_poll(rk, 0);
		(void)nanosleep(&gap, NULL);
		if (time(NULL) - last >= 10) {
			last = time(NULL);
			fprintf(stderr, "event-generator: %ld sagas, %ld "
			    "events produced, %ld delivered, %ld failed\n",
			    n + 1, st.produced, st.delivered, st.failed);
		}
	}

	rd_kafka_flush(rk, 10000);
	fprintf(stderr, "event-generator: done: %ld events produced, %ld "
	    "delivered, %ld failed\n", st.produced, st.delivered, st.failed);
	rd_kafka_destroy(rk);

	return (st.failed > 0 || st.delivered != st.produced);
}
