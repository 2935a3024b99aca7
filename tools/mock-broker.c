/*
 * mock-broker: a local Kafka-protocol broker for development and tests.
 *
 * It runs librdkafka's mock cluster (the real wire protocol, consumer
 * groups and committed offsets included) in its own process, creates
 * the topic, prints "bootstrap=HOST:PORT,..." on stdout and runs until
 * SIGINT or SIGTERM.  With -f FILE it also writes the bootstrap list to
 * FILE so scripts need not parse stdout.  -T NAME:PARTITIONS creates
 * one more topic (up to BROKER_TOPICS_MAX).
 *
 * SIGUSR1 takes every broker down (connections closed, new ones
 * refused) and SIGUSR2 brings them up again, the data kept: a broker
 * outage for tests, where SIGSTOP would be a frozen one.
 *
 *	mock-broker [-b brokers] [-p partitions] [-t topic] [-f file]
 *	    [-T name:partitions ...]
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define BROKER_TOPICS_MAX	8

struct broker_topic {
	char		 name[250];
	int		 partitions;
};

struct broker_opts {
	int			 brokers;
	int			 partitions;
	const char		*topic;
	const char		*file;
	struct broker_topic	 extra[BROKER_TOPICS_MAX];
	int			 nextra;
};

static volatile sig_atomic_t	broker_stop = 0;
static volatile sig_atomic_t	broker_want_down = 0;

static void	broker_on_signal(int);
static void	broker_on_outage(int);
static void	broker_parse_topic(struct broker_opts *, const char *);
static int	broker_topics(rd_kafka_mock_cluster_t *,
		    const struct broker_opts *);
static void	broker_set_down(rd_kafka_mock_cluster_t *, int, int);
static int	broker_parse_int(const char *, const char *, int, int);
static void	broker_usage(void);
static int	broker_write_file(const char *, const char *);

static void
broker_on_signal(int sig)
{
	(void)sig;
	broker_stop = 1;
}

static void
broker_on_outage(int sig)
{
	broker_want_down = sig == SIGUSR1;
}

static void
broker_usage(void)
{
	fprintf(stderr, "usage: mock-broker [-b brokers] [-p partitions] "
	    "[-t topic] [-f file] [-T name:partitions ...]\n");
	exit(2);
}

static void
broker_parse_topic(struct broker_opts *opts, const char *arg)
{
	struct broker_topic	*t;
	const char		*colon;

	if (opts->nextra == BROKER_TOPICS_MAX) {
		fprintf(stderr, "mock-broker: -T: at most %d topics\n",
		    BROKER_TOPICS_MAX);
		exit(2);
	}
	if ((colon = strchr(arg, ':')) == NULL || colon == arg ||
	    (size_t)(colon - arg) >= sizeof(t->name)) {
		fprintf(stderr, "mock-broker: -T: '%s' is not "
		    "name:partitions\n", arg);
		exit(2);
	}
	t = &opts->extra[opts->nextra++];
	memcpy(t->name, arg, (size_t)(colon - arg));
	t->name[colon - arg] = '\0';
	t->partitions = broker_parse_int("T", colon + 1, 1, 256);
}

static int
broker_topics(rd_kafka_mock_cluster_t *mc, const struct broker_opts *opts)
{
	rd_kafka_resp_err_t	err;
	int			i;

	err = rd_kafka_mock_topic_create(mc, opts->topic, opts->partitions, 1);
	for (i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < opts->nextra;
	    i++)
		err = rd_kafka_mock_topic_create(mc, opts->extra[i].name,
		    opts->extra[i].partitions, 1);
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "mock-broker: topic %s: %s\n",
		    i == 0 ? opts->topic : opts->extra[i - 1].name,
		    rd_kafka_err2str(err));
		return (-1);
	}

	return (0);
}

static void
broker_set_down(rd_kafka_mock_cluster_t *mc, int brokers, int down)
{
	rd_kafka_resp_err_t	err;
	int			id;

	for (id = 1; id <= brokers; id++) {
		err = down ? rd_kafka_mock_broker_set_down(mc, id) :
		    rd_kafka_mock_broker_set_up(mc, id);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
			fprintf(stderr, "mock-broker: broker %d %s: %s\n", id,
			    down ? "down" : "up", rd_kafka_err2str(err));
	}
	fprintf(stderr, "mock-broker: %s\n", down ? "down" : "up");
}

static int
broker_parse_int(const char *opt, const char *text, int min, int max)
{
	char		*end;
	long		 val;

	errno = 0;
	val = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || val < min || val > max) {
		fprintf(stderr, "mock-broker: -%s: '%s' is not a number "
		    "in %d..%d\n", opt, text, min, max);
		exit(2);
	}

	return ((int)val);
}

static int
broker_write_file(const char *path, const char *bootstraps)
{
	FILE		*fp;

	if ((fp = fopen(path, "w")) == NULL) {
		fprintf(stderr, "mock-broker: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	fprintf(fp, "%s\n", bootstraps);
	if (fclose(fp) != 0) {
		fprintf(stderr, "mock-broker: %s: %s\n", path, strerror(errno));
		return (-1);
	}

	return (0);
}

int
main(int argc, char **argv)
{
	struct broker_opts	 opts;
	rd_kafka_conf_t		*conf;
	rd_kafka_t		*rk;
	rd_kafka_mock_cluster_t	*mc;
	sigset_t		 block, old;
	const char		*boot;
	char			 errstr[512];
	int			 ch, down;

	memset(&opts, 0, sizeof(opts));
	opts.brokers = 1;
	opts.partitions = 4;
	opts.topic = "saga.events";
	opts.file = NULL;

	while ((ch = getopt(argc, argv, "b:f:p:t:T:")) != -1) {
		switch (ch) {
		case 'b':
			opts.brokers = broker_parse_int("b", optarg, 1, 9);
			break;
		case 'f':
			opts.file = optarg;
			break;
		case 'p':
			opts.partitions = broker_parse_int("p", optarg, 1, 256);
			break;
		case 't':
			opts.topic = optarg;
			break;
		case 'T':
			broker_parse_topic(&opts, optarg);
			break;
		default:
			broker_usage();
		}
	}

	/* Block before librdkafka starts threads: only main takes them. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGINT, broker_on_signal);
	signal(SIGTERM, broker_on_signal);
	signal(SIGUSR1, broker_on_outage);
	signal(SIGUSR2, broker_on_outage);

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "mock-broker: log_level: %s\n", errstr);
		return (1);
	}

	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "mock-broker: rd_kafka_new: %s\n", errstr);
		return (1);
	}

	if ((mc = rd_kafka_mock_cluster_new(rk, opts.brokers)) == NULL) {
		fprintf(stderr, "mock-broker: cannot create mock cluster\n");
		rd_kafka_destroy(rk);
		return (1);
	}

	if (broker_topics(mc, &opts) == -1) {
		rd_kafka_mock_cluster_destroy(mc);
		rd_kafka_destroy(rk);
		return (1);
	}

	boot = rd_kafka_mock_cluster_bootstraps(mc);
	if (opts.file != NULL && broker_write_file(opts.file, boot) == -1) {
		rd_kafka_mock_cluster_destroy(mc);
		rd_kafka_destroy(rk);
		return (1);
	}


	printf("bootstrap=%s topic=%s partitions=%d\n", boot, opts.topic,
	    opts.partitions);
	fflush(stdout);

	down = 0;
	while (!broker_stop) {
		sigsuspend(&old);
		if (broker_want_down != down) {
			down = broker_want_down;
			broker_set_down(mc, opts.brokers, down);
		}
	}

	fprintf(stderr, "mock-broker: stopping\n");
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);

	return (0);
}
