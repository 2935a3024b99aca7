/*
 * harness: real parts for the integration suites.
 *
 * It starts a throwaway PostgreSQL cluster (as the postgres user when run
 * as root, since initdb refuses root), the mock Kafka broker from tools/,
 * and the service itself (kore with the built .so) on free loopback ports,
 * and always stops them: on harness_down(), and through PR_SET_PDEATHSIG
 * and an atexit handler when the runner dies early.
 *
 * Criterion runs each test in a fresh process, so harness_up() is called
 * from a PRE_ALL report hook in the runner, which exports what it started
 * as HARNESS_* environment variables; tests read them with harness_env().
 * tests/harness_suite.c holds those hooks, for every suite.
 *
 * The unit suites link it too, for the two helpers that start nothing:
 * harness_read_file() and harness_mask_ages().
 */

#ifndef SAGA_HARNESS_H
#define SAGA_HARNESS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define HARNESS_PATH		512	/* dirs; derived paths get twice */
#define HARNESS_PG		0x01
#define HARNESS_BROKER		0x02
#define HARNESS_SERVICE		0x04

struct harness_env {
	int		what;
	char		root[HARNESS_PATH];		/* repository root */
	char		dir[64];		/* this run's temp dir */

	char		pg_dir[128];	/* data/, log, socket */
	int		pg_port;
	char		pg_dsn[512];

	pid_t		broker_pid;
	int		broker_partitions;	/* 0: 4; set before harness_up */
	char		broker_extra[64];	/* "" or -T name:partitions */
	char		broker_bootstrap[256];

	pid_t		service_pid;
	int		service_port;
	char		service_dir[128];	/* kore.conf, kore.log */
	char		service_yaml[2 * HARNESS_PATH];	/* YAML the service reads */
};

struct harness_reply {
	int		status;
	char		*headers;	/* raw, NUL-terminated */
	char		*body;		/* NUL-terminated */
	size_t		body_len;
};

/*
 * What an integration suite needs started: each suite defines
 * harness_suite, and the runner hooks of tests/harness_suite.c (linked
 * into every integration suite) call before(env) unless it is NULL (to
 * edit the YAML, say), start `what`, then call after(env) unless NULL;
 * at the end they stop it all and remove a YAML harness_yaml_edit()
 * wrote.
 */
struct harness_suite {
	int		 what;
	void		(*before)(struct harness_env *);
	void		(*after)(struct harness_env *);
};

extern const struct harness_suite	harness_suite;

void	harness_suite_up(struct harness_env *env, int what,
	    void (*before)(struct harness_env *),
	    void (*after)(struct harness_env *));
void	harness_suite_down(struct harness_env *env);

/* Start what `what` asks for; abort the run on failure. */
void	harness_up(struct harness_env *env, int what);
/* Stop and remove everything harness_up() started. */
void	harness_down(struct harness_env *env);
/* In a test process: what the runner started. */
void	harness_env(struct harness_env *env);

/*
 * Start the service from this process (it becomes its parent), or stop
 * it with SIGTERM and report how it exited and how long that took.
 */
void	harness_service_start(struct harness_env *env);
int	harness_service_stop(struct harness_env *env, int *exit_status,
	    int *elapsed_ms);

int	harness_pg_stop(const struct harness_env *env);
int	harness_pg_start_again(const struct harness_env *env);

int	harness_http(int port, const char *method, const char *path,
	    const char *headers, const char *body, struct harness_reply *r);
/*
 * Send request as it is on a new connection and read until the service
 * closes it: the first answer's status and headers, then everything
 * after them (a later answer on a kept-alive connection too) as body.
 */
int	harness_http_raw(int port, const char *request, size_t len,
	    struct harness_reply *r);
void	harness_reply_free(struct harness_reply *r);
/* Value of header name (case-insensitive) copied into buf, or NULL. */
const char *harness_reply_header(const struct harness_reply *r,
	    const char *name, char *buf, size_t len);

/*
 * 0 if r is an RFC 9457 answer of status: application/problem+json, a
 * JSON object with type, a title, that status and a detail containing
 * needle (unless NULL).  Otherwise -1 and why it is not, in why.
 */
int	harness_problem_check(const struct harness_reply *r, int status,
	    const char *needle, char *why, size_t len);

/* Milliseconds of the monotonic clock, for deadlines and durations. */
int64_t	harness_now_ms(void);

/* Sleep ms milliseconds. */
void	harness_sleep_ms(int ms);

/* A loopback TCP port that was free a moment ago. */
int	harness_free_port(void);

/* Write conf/saga-tracker.conf to path with port and the built .so. */
void	harness_kore_conf(const struct harness_env *env, const char *path,
	    int port);

/*
 * Write the shipped conf/saga-tracker.yaml to env->service_yaml (a file
 * in /tmp), with the line that contains match replaced by line; exit if
 * there is no such line.  The caller unlinks it.
 */
void	harness_yaml_edit(struct harness_env *env, const char *match,
	    const char *line);

/*
 * The whole file at path, NUL-terminated (its length in *len unless
 * len is NULL), malloc'd; NULL with errno set if it cannot be read.
 */
char	*harness_read_file(const char *path, size_t *len);

/* Produce n messages (key may be NULL) to topic and wait for delivery. */
int	harness_produce(const struct harness_env *env, const char *topic,
	    char *const keys[], char *const payloads[], size_t n);
/*
 * n one-event sagas prefix-0 .. prefix-(n-1), each a STARTED event
 * prefix-i-e at step STOCK_RESERVE keyed by its sagaId, produced to
 * topic in one go; 0, or -1 if any was not delivered.
 */
int	harness_produce_sagas(const struct harness_env *env,
	    const char *topic, const char *prefix, int n);
/* Sum of the group's committed offsets over the topic's partitions. */
int64_t	harness_committed(const struct harness_env *env, const char *group,
	    const char *topic);
/* First column of the first row of sql as an integer; -1 on error. */
int64_t	harness_pg_int(const struct harness_env *env, const char *sql);
/*
 * A fresh database t_<name> in the runner's cluster, its DSN in dsn;
 * a connection (NOTICEs silenced); a statement that must succeed; the
 * first column of the first row as an integer.  Each exits the test
 * with the statement and the server's message on failure.
 */
void	harness_db_fresh(const char *name, char *dsn, size_t len);
PGconn	*harness_db_connect(const char *dsn);
/* The same to the runner's database (harness_env()'s pg_dsn). */
PGconn	*harness_db_runner(void);
void	harness_db_exec(PGconn *conn, const char *sql);
/* The same with n text parameters. */
void	harness_db_execv(PGconn *conn, const char *sql, int n,
	    const char *const *values);
long long harness_db_count(PGconn *conn, const char *sql);
/*
 * A metrics segment for this process (64 step labels, 4 stripes, the
 * default compensation buckets), as the kore parent makes one.
 */
void	harness_metrics_up(void);

/*
 * 0 if this process's saga_active_total{status}, saga_compensation_pending
 * and _oldest_seconds equal a full count of saga_instance (the oldest
 * within 2 s); otherwise -1 and the first difference in why.
 */
int	harness_gauges_check(PGconn *conn, char *why, size_t len);
/*
 * The string components.kafka.details.<key> of the service's
 * /actuator/health into buf; -1 when there is none (or no answer).
 */
int	harness_kafka_detail(const struct harness_env *env, const char *key,
	    char *buf, size_t len);
/*
 * text (an exposition, freed) with the samples of the _age_seconds
 * gauges, which depend on the clock, replaced by "AGE"; a new string.
 */
char	*harness_mask_ages(char *text);
/* Sum of every series of metric name in a live scrape; -1 on error. */
double	harness_metric(const struct harness_env *env, const char *name);
/* The pid of kore worker id (1..N) of the running service, or -1. */
pid_t	harness_worker_pid(const struct harness_env *env, int id);
/*
 * How many threads kore worker id has, when every one of them runs
 * under scheduling policy (SCHED_*).  Otherwise -1 and why, in why.
 */
int	harness_worker_policy_check(const struct harness_env *env, int id,
	    int policy, char *why, size_t len);

/* Run argv, output appended to logpath (NULL: inherit); exit status. */
int	harness_run(char *const argv[], int as_postgres, const char *logpath);

#endif
