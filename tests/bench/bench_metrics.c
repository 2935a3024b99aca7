/*
 * bench_metrics: cost of the metrics module against prometheus_client.
 *
 * Measures, on a live segment: ns per counter increment and per
 * histogram observation with 1 and 2 processes (each on its own stripe,
 * started together), ns per increment that also resolves the labels,
 * and the time to render an exposition with 1,000 series.  Then, if
 * given the path of bench_metrics_peer.py, runs it under /usr/bin/python3
 * and prints both side by side with the ratio python / C.
 *
 *	bench_metrics [tests/bench/bench_metrics_peer.py]
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_render.h"

#define PYTHON			"/usr/bin/python3"
#define COUNTER_OPS		50000000ULL
#define OBSERVE_OPS		20000000ULL
#define LOOKUP_OPS		2000000ULL
#define RENDER_STEPS		200
#define RENDER_ROUNDS		200
#define RESULT_MAX		16

struct result {
	const char	*name;
	const char	*peer;		/* name printed by the python peer */
	double		 c;
	double		 py;
};

static const char	*statuses[] = {
	"STARTED", "IN_PROGRESS", "COMPLETED", "FAILED", "COMPENSATING"
};

static const double	latencies[] = {
	0.0009, 0.00225, 0.0045, 0.009, 0.0225, 0.045, 0.09,
	0.225, 0.45, 0.9, 2.25, 4.5, 9
};

static struct result	results[RESULT_MAX];
static size_t		nresults;

static int64_t		now_nsec(void);
static void		segment_setup(void);
static double		work_floor(uint64_t);
static double		work_counter(uint64_t);
static double		work_observe(uint64_t);
static double		work_lookup(uint64_t);
static double		in_processes(int, int, double (*)(uint64_t), uint64_t);
static void		child_run(int, int *, int *, double (*)(uint64_t),
			    uint64_t);
static double		bench_render(double *);
static void		record(const char *, const char *, double);
static void		run_peer(const char *);
static void		peer_parse(FILE *);
static void		report(void);

int
main(int argc, char **argv)
{
	struct metrics_series	s;
	double			median;
	int			nproc;
	char			name[64], peer[64];

	if (argc > 2)
		errx(1, "usage: bench_metrics [bench_metrics_peer.py]");

	segment_setup();
	record("atomic_add_floor_ns", NULL,
	    in_processes(1, 0, work_floor, COUNTER_OPS));
	for (nproc = 1; nproc <= 2; nproc++) {
		snprintf(name, sizeof(name), "counter_inc_ns[%dp]", nproc);
		snprintf(peer, sizeof(peer), "counter_inc_ns_%dp", nproc);
		record(name, peer,
		    in_processes(nproc, 0, work_counter, COUNTER_OPS));
		snprintf(name, sizeof(name), "hist_observe_ns[%dp]", nproc);
		snprintf(peer, sizeof(peer), "hist_observe_ns_%dp", nproc);
		record(name, peer,
		    in_processes(nproc, 0, work_observe, OBSERVE_OPS));
	}
	record("counter_inc_ns[2p,one stripe]", NULL,
	    in_processes(2, 1, work_counter, COUNTER_OPS));

	metrics_series_lookup(METRICS_SAGA_FAILED, NULL, &s);
	if (metrics_counter_value(s) != 5 * COUNTER_OPS)
		errx(1, "counter total %llu, expected %llu",
		    (unsigned long long)metrics_counter_value(s),
		    5 * COUNTER_OPS);

	record("lookup_inc_ns[1p]", NULL,
	    in_processes(1, 0, work_lookup, LOOKUP_OPS));
	record("render_1000_ns", "render_1000_ns", bench_render(&median));
	printf("render_1000_ns median over %d renders: %.0f\n",
	    RENDER_ROUNDS, median);

	if (argc == 2)
		run_peer(argv[1]);
	report();

	return (0);
}

static int64_t
now_nsec(void)
{
	struct timespec		ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static void
segment_setup(void)
{
	struct metrics_params	p;
	char			errbuf[256];
	static const double	comp[] = { 0.5, 1, 2, 5, 10, 30, 60, 120,
				    300, 600 };

	memset(&p, 0, sizeof(p));
	p.max_step_labels = RENDER_STEPS;
	p.max_stripes = 4;
	p.version = "bench";
	p.compensation_buckets = comp;
	p.compensation_bucket_count = sizeof(comp) / sizeof(comp[0]);

	if (metrics_segment_create(&p, errbuf, sizeof(errbuf)) == -1)
		errx(1, "%s", errbuf);
}

/* A bare relaxed atomic add in the same loop: the hardware floor. */
static double
work_floor(uint64_t ops)
{
	static _Atomic uint64_t	cell;
	uint64_t		i;
	int64_t			start;

	start = now_nsec();
	for (i = 0; i < ops; i++)
		atomic_fetch_add_explicit(&cell, 1, memory_order_relaxed);

	return ((double)(now_nsec() - start) / ops);
}

/* ops increments of a resolved counter; ns per increment. */
static double
work_counter(uint64_t ops)
{
	struct metrics_series	s;
	uint64_t		i;
	int64_t			start;

	metrics_series_lookup(METRICS_SAGA_FAILED, NULL, &s);
	start = now_nsec();
	for (i = 0; i < ops; i++)
		metrics_counter_add(s, 1);

	return ((double)(now_nsec() - start) / ops);
}

/* ops observations spread over every bucket; ns per observation. */
static double
work_observe(uint64_t ops)
{
	struct metrics_series	s;
	const char		*v[3] = { "/api/v1/sagas", "GET", "200" };
	uint64_t		i;
	int64_t			start;
	size_t			n;

	n = sizeof(latencies) / sizeof(latencies[0]);
	metrics_series_lookup(METRICS_API_LATENCY, v, &s);
	start = now_nsec();
	for (i = 0; i < ops; i++)
		metrics_histogram_observe(s, latencies[i % n]);

	return ((double)(now_nsec() - start) / ops);
}

/* ops increments that resolve step and status each time. */
static double
work_lookup(uint64_t ops)
{
	uint64_t	i;
	int64_t		start;
	char		steps[16][16];

	for (i = 0; i < 16; i++)
		snprintf(steps[i], sizeof(steps[i]), "STEP_%03u",
		    (unsigned int)i);

	start = now_nsec();
	for (i = 0; i < ops; i++)
		metrics_event_processed(steps[i % 16], statuses[i % 5]);

	return ((double)(now_nsec() - start) / ops);
}

/*
 * Run work in nproc children started together, on stripes 1..nproc or,
 * if shared, all on stripe 1 (to show what striping saves); mean ns/op.
 */
static double
in_processes(int nproc, int shared, double (*work)(uint64_t), uint64_t ops)
{
	int		go[2], res[2], i, status;
	double		ns, sum;

	if (pipe(go) == -1 || pipe(res) == -1)
		err(1, "pipe");

	for (i = 0; i < nproc; i++)
		child_run(shared ? 1 : i + 1, go, res, work, ops);
	close(go[0]);
	close(go[1]);
	close(res[1]);

	sum = 0;
	for (i = 0; i < nproc; i++) {
		if (read(res[0], &ns, sizeof(ns)) != sizeof(ns))
			errx(1, "benchmark child failed");
		sum += ns;
	}
	close(res[0]);

	while (wait(&status) != -1) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			errx(1, "benchmark child failed");
	}

	return (sum / nproc);
}

/* Fork a child that waits for go[0] to close, then reports on res[1]. */
static void
child_run(int stripe, int *go, int *res, double (*work)(uint64_t),
    uint64_t ops)
{
	pid_t		pid;
	double		ns;
	char		c;

	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid != 0)
		return;

	close(go[1]);
	close(res[0]);
	if (metrics_attach_stripe(stripe) == -1)
		_exit(1);
	(void)read(go[0], &c, 1);
	ns = work(ops);
	if (write(res[1], &ns, sizeof(ns)) != sizeof(ns))
		_exit(1);
	_exit(0);
}

/* Best time to render 1,000 series (plus the fixed families). */
static double
bench_render(double *median)
{
	static double	ns[RENDER_ROUNDS];
	double		t;
	char		step[16], *text;
	size_t		len, i, j;
	int64_t		start;

	for (i = 0; i < RENDER_STEPS; i++) {
		snprintf(step, sizeof(step), "STEP_%03zu", i);
		for (j = 0; j < 5; j++)
			metrics_event_processed(step, statuses[j]);
	}

	for (i = 0; i < RENDER_ROUNDS; i++) {
		start = now_nsec();
		if ((text = metrics_render(&len)) == NULL)
			errx(1, "metrics_render failed");
		ns[i] = now_nsec() - start;
		free(text);
	}

	for (i = 1; i < RENDER_ROUNDS; i++) {
		for (j = i; j > 0 && ns[j - 1] > ns[j]; j--) {
			t = ns[j];
			ns[j] = ns[j - 1];
			ns[j - 1] = t;
		}
	}

	*median = ns[RENDER_ROUNDS / 2];
	return (ns[0]);
}

static void
record(const char *name, const char *peer, double c)
{
	struct result	*r;

	if (nresults == RESULT_MAX)
		errx(1, "too many results");

	r = &results[nresults++];
	r->name = strdup(name);
	r->peer = peer != NULL ? strdup(peer) : NULL;
	r->c = c;
	r->py = 0;
	if (r->name == NULL || (peer != NULL && r->peer == NULL))
		err(1, "strdup");
}

static void
run_peer(const char *script)
{
	FILE		*fp;
	pid_t		 pid;
	int		 fd[2], status;

	if (pipe(fd) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		close(fd[0]);
		if (dup2(fd[1], STDOUT_FILENO) == -1)
			_exit(127);
		execl(PYTHON, "python3", script, (char *)NULL);
		_exit(127);
	}

	close(fd[1]);
	if ((fp = fdopen(fd[0], "r")) == NULL)
		err(1, "fdopen");
	peer_parse(fp);
	fclose(fp);

	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(1, "%s %s failed", PYTHON, script);
}

static void
peer_parse(FILE *fp)
{
	char		name[64];
	double		v;
	size_t		i;

	while (fscanf(fp, "%63s %lf", name, &v) == 2) {
		for (i = 0; i < nresults; i++) {
			if (results[i].peer != NULL &&
			    strcmp(results[i].peer, name) == 0)
				results[i].py = v;
		}
	}
}

static void
report(void)
{
	struct result	*r;
	size_t		 i;

	for (i = 0; i < nresults; i++) {
		r = &results[i];
		if (r->py > 0)
			printf("%-30s c=%.2f py=%.1f ratio=%.0fx\n", r->name,
			    r->c, r->py, r->py / r->c);
		else
			printf("%-30s c=%.2f\n", r->name, r->c);
	}
}
