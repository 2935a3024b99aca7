/*
 * harness: throwaway PostgreSQL, mock broker and service for the
 * integration suites (see harness.h).
 */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <math.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "harness.h"
#include "metrics.h"
#include "saga.h"

#define HARNESS_WAIT_MS		20000

/* harness_yaml_edit()'s copy of the YAML, per runner pid. */
#define HARNESS_YAML_TMP	"/tmp/saga-harness-%d.yaml"

static struct harness_env	*harness_started = NULL;
static pid_t			 harness_owner = 0;

static void	harness_die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static int	harness_postgres_ids(uid_t *, gid_t *);
static void	harness_child_fail(const char *)
		    __attribute__((noreturn));
static void	harness_pg_bindir(char *, size_t);
static void	harness_pg_up(struct harness_env *);
static void	harness_pg_createdb(struct harness_env *);
static void	harness_broker_up(struct harness_env *);
static pid_t	harness_spawn(char *const [], const char *, const char *);
static void	harness_stop_pid(pid_t, int);
static void	harness_export(const struct harness_env *);
static void	harness_getenv(const char *, char *, size_t);
static void	harness_atexit(void);
static void	harness_tail(const char *);

static void
harness_die(const char *fmt, ...)
{
	va_list		ap;

	fprintf(stderr, "harness: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");

	if (harness_started != NULL)
		harness_down(harness_started);
	exit(1);
}

void
harness_sleep_ms(int ms)
{
	struct timespec		ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	(void)nanosleep(&ts, NULL);
}

int
harness_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len;
	int			fd, port;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		harness_die("socket: %s", strerror(errno));

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(sin);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		harness_die("bind to a free port: %s", strerror(errno));

	port = ntohs(sin.sin_port);
	close(fd);

	return (port);
}

/*
 * The postgres user's ids, looked up before fork(): the suites have
 * threads (Criterion's, the sanitizers'), and a child of fork() may only
 * make async-signal-safe calls; getpwnam() takes locks and allocates,
 * and under AddressSanitizer a child once hung in it for good.
 */
static int
harness_postgres_ids(uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	if ((pw = getpwnam("postgres")) == NULL)
		return (-1);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;

	return (0);
}

/* In the child of fork(): async-signal-safe calls only. */
static void
harness_child_fail(const char *msg)
{
	(void)write(STDERR_FILENO, msg, strlen(msg));
	_exit(127);
}

int
harness_run(char *const argv[], int as_postgres, const char *logpath)
{
	pid_t		pid;
	uid_t		uid;
	gid_t		gid;
	int		status, fd;

	as_postgres = as_postgres && geteuid() == 0;
	if (as_postgres && harness_postgres_ids(&uid, &gid) == -1) {
		fprintf(stderr, "harness: no postgres user\n");
		return (-1);
	}
	if ((pid = fork()) == -1)
		return (-1);
	if (pid == 0) {
		if (logpath != NULL && (fd = open(logpath,
		    O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if (as_postgres && (setgroups(0, NULL) == -1 ||
		    setgid(gid) == -1 || setuid(uid) == -1))
			harness_child_fail("harness: cannot become postgres\n");
		execvp(argv[0], argv);
		harness_child_fail("harness: exec failed\n");
	}

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			return (-1);
	}

	return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Start argv in its own process group, output to logpath. */
static pid_t
harness_spawn(char *const argv[], const char *cwd, const char *logpath)
{
	pid_t		pid;
	int		fd;

	if ((pid = fork()) == -1)
		harness_die("fork: %s", strerror(errno));
	if (pid != 0)
		return (pid);

	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (cwd != NULL && chdir(cwd) == -1) {
		fprintf(stderr, "harness: chdir %s: %s\n", cwd,
		    strerror(errno));
		_exit(127);
	}
	if (logpath != NULL) {
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd == -1) {
			fprintf(stderr, "harness: %s: %s\n", logpath,
			    strerror(errno));
			_exit(127);
		}
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		close(fd);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void
harness_stop_pid(pid_t pid, int wait_ms)
{
	int		status, waited;

	if (pid <= 0)
		return;

	(void)kill(-pid, SIGTERM);
	(void)kill(pid, SIGTERM);
	/* A test may have left it stopped (SIGSTOP): let it see SIGTERM. */
	(void)kill(pid, SIGCONT);
	for (waited = 0; waited < wait_ms; waited += 50) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		harness_sleep_ms(50);
	}
	if (waited >= wait_ms) {
		fprintf(stderr, "harness: pid %d ignored SIGTERM for %d ms, "
		    "killing it\n", (int)pid, wait_ms);
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
	}
	/* Whatever the group still holds (kore workers) goes too. */
	(void)kill(-pid, SIGKILL);
}

static void
harness_tail(const char *path)
{
	char		*argv[] = { "tail", "-n", "40", (char *)path, NULL };

	fprintf(stderr, "---- %s ----\n", path);
	(void)harness_run(argv, 0, NULL);
	fprintf(stderr, "----\n");
}

/* --- PostgreSQL --------------------------------------------------------- */

static void
harness_pg_bindir(char *buf, size_t len)
{
	FILE		*fp;
	size_t		 n;

	if ((fp = popen("pg_config --bindir", "r")) == NULL ||
	    fgets(buf, (int)len, fp) == NULL)
		harness_die("pg_config --bindir failed (is libpq-dev there?)");
	pclose(fp);

	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
}

static void
harness_pg_up(struct harness_env *env)
{
	struct passwd	*pw;
	char		 bindir[HARNESS_PATH], initdb[2 * HARNESS_PATH];
	char		 data[2 * HARNESS_PATH], log[2 * HARNESS_PATH];

	(void)snprintf(env->pg_dir, sizeof(env->pg_dir), "%s/pg", env->dir);
	if (mkdir(env->pg_dir, 0700) == -1)
		harness_die("mkdir %s: %s", env->pg_dir, strerror(errno));
	if (geteuid() == 0) {
		if ((pw = getpwnam("postgres")) == NULL)
			harness_die("no postgres user: install postgresql");
		if (chown(env->pg_dir, pw->pw_uid, pw->pw_gid) == -1)
			harness_die("chown %s: %s", env->pg_dir,
			    strerror(errno));
	}

	harness_pg_bindir(bindir, sizeof(bindir));
	(void)snprintf(initdb, sizeof(initdb), "%s/initdb", bindir);
	(void)snprintf(data, sizeof(data), "%s/data", env->pg_dir);
	(void)snprintf(log, sizeof(log), "%s/initdb.log", env->dir);

	{
		char *argv[] = { initdb, "-D", data, "-A", "trust",
		    "-U", "postgres", "-E", "UTF8", "--no-locale",
		    "--no-sync", NULL };
		if (harness_run(argv, 1, log) != 0) {
			harness_tail(log);
			harness_die("initdb -D %s failed", data);
		}
	}

	env->pg_port = harness_free_port();
	env->what |= HARNESS_PG;
	if (harness_pg_start_again(env) != 0)
		harness_die("PostgreSQL did not start on port %d",
		    env->pg_port);

	(void)snprintf(env->pg_dsn, sizeof(env->pg_dsn),
	    "host=127.0.0.1 port=%d dbname=saga user=postgres "
	    "connect_timeout=3", env->pg_port);
	harness_pg_createdb(env);
}

static void
harness_pg_createdb(struct harness_env *env)
{
	PGconn		*conn;
	PGresult	*res;
	char		 dsn[256];

	(void)snprintf(dsn, sizeof(dsn), "host=127.0.0.1 port=%d "
	    "dbname=postgres user=postgres connect_timeout=3", env->pg_port);
	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		harness_die("connect %s: %s", dsn, PQerrorMessage(conn));

	res = PQexec(conn, "CREATE DATABASE saga");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		harness_die("CREATE DATABASE saga: %s", PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
}

static int
harness_pg_ctl(const struct harness_env *env, int start)
{
	char		bindir[HARNESS_PATH], pgctl[2 * HARNESS_PATH];
	char		data[2 * HARNESS_PATH], log[2 * HARNESS_PATH];
	char		ctl_log[2 * HARNESS_PATH], opts[2 * HARNESS_PATH];

	harness_pg_bindir(bindir, sizeof(bindir));
	(void)snprintf(pgctl, sizeof(pgctl), "%s/pg_ctl", bindir);
	(void)snprintf(data, sizeof(data), "%s/data", env->pg_dir);
	(void)snprintf(log, sizeof(log), "%s/postgres.log", env->pg_dir);
	(void)snprintf(ctl_log, sizeof(ctl_log), "%s/pg_ctl.log", env->dir);
	(void)snprintf(opts, sizeof(opts), "-p %d -k %s "
	    "-c listen_addresses=127.0.0.1 -c fsync=off "
	    "-c synchronous_commit=off -c full_page_writes=off",
	    env->pg_port, env->pg_dir);

	if (start) {
		char *argv[] = { pgctl, "-D", data, "-l", log, "-o", opts,
		    "-w", "-t", "30", "start", NULL };
		return (harness_run(argv, 1, ctl_log));
	} else {
		char *argv[] = { pgctl, "-D", data, "-m", "fast", "-w",
		    "-t", "30", "stop", NULL };
		return (harness_run(argv, 1, ctl_log));
	}
}

int
harness_pg_start_again(const struct harness_env *env)
{
	return (harness_pg_ctl(env, 1));
}

int
harness_pg_stop(const struct harness_env *env)
{
	return (harness_pg_ctl(env, 0));
}

/* --- mock broker ------------------------------------------------------- */

static void
harness_broker_up(struct harness_env *env)
{
	FILE		*fp;
	char		 tool[2 * HARNESS_PATH], file[2 * HARNESS_PATH];
	char		 log[2 * HARNESS_PATH], parts[16];
	int		 waited;
	size_t		 n;

	(void)snprintf(tool, sizeof(tool), "%s/.build/tools/mock-broker",
	    env->root);
	(void)snprintf(file, sizeof(file), "%s/bootstrap", env->dir);
	(void)snprintf(log, sizeof(log), "%s/broker.log", env->dir);
	(void)unlink(file);

	if (env->broker_partitions <= 0)
		env->broker_partitions = 4;
	(void)snprintf(parts, sizeof(parts), "%d", env->broker_partitions);
	{
		char *argv[] = { tool, "-p", parts, "-f", file, NULL, NULL,
		    NULL };
		if (env->broker_extra[0] != '\0') {
			argv[5] = "-T";
			argv[6] = env->broker_extra;
		}
		env->broker_pid = harness_spawn(argv, NULL, log);
	}
	env->what |= HARNESS_BROKER;

	for (waited = 0; waited < HARNESS_WAIT_MS; waited += 50) {
		if ((fp = fopen(file, "r")) != NULL) {
			if (fgets(env->broker_bootstrap,
			    sizeof(env->broker_bootstrap), fp) != NULL) {
				fclose(fp);
				n = strlen(env->broker_bootstrap);
				if (n > 0 && env->broker_bootstrap[n - 1] ==
				    '\n') {
					env->broker_bootstrap[n - 1] = '\0';
					return;
				}
			} else {
				fclose(fp);
			}
		}
		harness_sleep_ms(50);
	}

	harness_tail(log);
	harness_die("mock broker wrote no bootstrap address to %s", file);
}

/* --- the service ------------------------------------------------------- */

void
harness_kore_conf(const struct harness_env *env, const char *path, int port)
{
	FILE		*in, *out;
	char		 src[2 * HARNESS_PATH], line[512], cb[128], *p;

	(void)snprintf(src, sizeof(src), "%s/conf/saga-tracker.conf",
	    env->root);
	if ((in = fopen(src, "r")) == NULL)
		harness_die("%s: %s", src, strerror(errno));
	if ((out = fopen(path, "w")) == NULL)
		harness_die("%s: %s", path, strerror(errno));

	while (fgets(line, sizeof(line), in) != NULL) {
		p = line + strspn(line, " \t");
		/* The port changes; the connect callback stays. */
		if (strncmp(p, "bind", 4) == 0 &&
		    isspace((unsigned char)p[4])) {
			cb[0] = '\0';
			(void)sscanf(p, "bind %*s %*s %127s", cb);
			fprintf(out, "\tbind 127.0.0.1 %d %s\n", port, cb);
		} else if (strncmp(p, "load", 4) == 0 &&
		    isspace((unsigned char)p[4])) {
			fprintf(out, "load %s/.build/saga-tracker/"
			    "saga-tracker.so\n", env->root);
		} else
			fputs(line, out);
	}

	/* Next to the conf, not in whatever directory kore starts in. */
	fprintf(out, "pidfile %s.pid\n", path);

	fclose(in);
	if (fclose(out) != 0)
		harness_die("%s: %s", path, strerror(errno));
}

void
harness_yaml_edit(struct harness_env *env, const char *match,
    const char *line)
{
	FILE		*in, *out;
	const char	*root;
	char		 path[2 * HARNESS_PATH], buf[512];
	int		 found;

	/* Before harness_up() the root is not known yet. */
	if ((root = env->root)[0] == '\0' &&
	    (root = getenv("SAGA_TEST_ROOT")) == NULL)
		root = ".";
	(void)snprintf(path, sizeof(path), "%s/conf/saga-tracker.yaml", root);
	(void)snprintf(env->service_yaml, sizeof(env->service_yaml),
	    HARNESS_YAML_TMP, (int)getpid());
	if ((in = fopen(path, "r")) == NULL)
		harness_die("%s: %s", path, strerror(errno));
	if ((out = fopen(env->service_yaml, "w")) == NULL)
		harness_die("%s: %s", env->service_yaml, strerror(errno));

	found = 0;
	while (fgets(buf, sizeof(buf), in) != NULL) {
		if (!found && strstr(buf, match) != NULL) {
			fprintf(out, "%s\n", line);
			found = 1;
		} else {
			fputs(buf, out);
		}
	}
	fclose(in);
	if (fclose(out) != 0)
		harness_die("%s: %s", env->service_yaml, strerror(errno));
	if (!found)
		harness_die("%s: no line with '%s'", path, match);
}

void
harness_suite_up(struct harness_env *env, int what,
    void (*before)(struct harness_env *),
    void (*after)(struct harness_env *))
{
	if (before != NULL)
		before(env);
	harness_up(env, what);
	if (after != NULL)
		after(env);
}

void
harness_suite_down(struct harness_env *env)
{
	char		tmp[64];

	harness_down(env);
	(void)snprintf(tmp, sizeof(tmp), HARNESS_YAML_TMP, (int)getpid());
	if (strcmp(env->service_yaml, tmp) == 0)
		(void)unlink(env->service_yaml);
}

char *
harness_read_file(const char *path, size_t *len)
{
	FILE		*fp;
	char		*buf, *nbuf;
	size_t		 got, cap, n;
	int		 saved;

	/* Read to the end: /proc files have no size to trust. */
	if ((fp = fopen(path, "r")) == NULL)
		return (NULL);
	buf = NULL;
	got = cap = 0;
	do {
		if (cap - got < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				saved = errno;
				free(buf);
				(void)fclose(fp);
				errno = saved;
				return (NULL);
			}
			buf = nbuf;
		}
		n = fread(buf + got, 1, cap - got - 1, fp);
		got += n;
	} while (n > 0);
	if (ferror(fp)) {
		free(buf);
		(void)fclose(fp);
		errno = EIO;
		return (NULL);
	}
	(void)fclose(fp);
	buf[got] = '\0';
	if (len != NULL)
		*len = got;

	return (buf);
}

char *
harness_mask_ages(char *text)
{
	const char	*names[] = { "\nsaga_tracker_consumer_lag_age_seconds ",
			    "\nsaga_tracker_gauges_age_seconds " };
	char		*p, *end, *out;
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((p = strstr(text, names[i])) == NULL ||
		    (end = strchr(p += strlen(names[i]), '\n')) == NULL)
			harness_die("no sample of %s", names[i] + 1);
		if (asprintf(&out, "%.*sAGE%s", (int)(p - text), text,
		    end) == -1)
			harness_die("asprintf: %s", strerror(errno));
		free(text);
		text = out;
	}

	return (text);
}

int
harness_kafka_detail(const struct harness_env *env, const char *key,
    char *buf, size_t len)
{
	struct harness_reply	 r;
	json_t			*doc, *v;
	int			 rc;

	if (harness_http(env->service_port, "GET", "/actuator/health", NULL,
	    NULL, &r) == -1)
		return (-1);
	doc = json_loads(r.body, 0, NULL);
	harness_reply_free(&r);
	v = json_object_get(json_object_get(json_object_get(
	    json_object_get(doc, "components"), "kafka"), "details"), key);
	rc = -1;
	if (json_is_string(v)) {
		(void)snprintf(buf, len, "%s", json_string_value(v));
		rc = 0;
	}
	json_decref(doc);

	return (rc);
}

void
harness_service_start(struct harness_env *env)
{
	struct harness_reply	r;
	char			conf[2 * HARNESS_PATH], log[2 * HARNESS_PATH];
	int			waited, status;

	/* One directory per start: a test may start it more than once. */
	env->service_port = harness_free_port();
	(void)snprintf(env->service_dir, sizeof(env->service_dir),
	    "%s/svc-%d", env->dir, env->service_port);
	if (mkdir(env->service_dir, 0755) == -1)
		harness_die("mkdir %s: %s", env->service_dir, strerror(errno));
	if (env->service_yaml[0] == '\0')
		(void)snprintf(env->service_yaml, sizeof(env->service_yaml),
		    "%s/conf/saga-tracker.yaml", env->root);

	(void)snprintf(conf, sizeof(conf), "%s/kore.conf", env->service_dir);
	(void)snprintf(log, sizeof(log), "%s/kore.log", env->service_dir);
	harness_kore_conf(env, conf, env->service_port);

	setenv("SAGA_TRACKER_CONFIG", env->service_yaml, 1);
	if (env->what & HARNESS_PG)
		setenv("SAGA_TRACKER_DB_DSN", env->pg_dsn, 1);
	if (env->what & HARNESS_BROKER)
		setenv("SAGA_TRACKER_KAFKA_BROKERS", env->broker_bootstrap, 1);
	setenv("SAGA_TRACKER_INTERNAL_TOKEN", "test-internal-token", 1);

	{
		char *argv[] = { "kore", "-fnrc", conf, NULL };
		env->service_pid = harness_spawn(argv, env->service_dir, log);
	}
	env->what |= HARNESS_SERVICE;

	for (waited = 0; waited < HARNESS_WAIT_MS; waited += 100) {
		if (waitpid(env->service_pid, &status, WNOHANG) ==
		    env->service_pid) {
			env->service_pid = 0;
			harness_tail(log);
			harness_die("kore exited during start-up");
		}
		if (harness_http(env->service_port, "GET",
		    "/actuator/health/liveness", NULL, NULL, &r) == 0) {
			status = r.status;
			harness_reply_free(&r);
			if (status == 200)
				return;
		}
		harness_sleep_ms(100);
	}

	harness_tail(log);
	harness_die("service did not answer on port %d", env->service_port);
}

/* --- life cycle -------------------------------------------------------- */

static void
harness_export(const struct harness_env *env)
{
	char		buf[32];

	setenv("HARNESS_ROOT", env->root, 1);
	(void)snprintf(buf, sizeof(buf), "%d", env->what);
	setenv("HARNESS_WHAT", buf, 1);
	setenv("HARNESS_DIR", env->dir, 1);
	setenv("HARNESS_PG_DIR", env->pg_dir, 1);
	(void)snprintf(buf, sizeof(buf), "%d", env->pg_port);
	setenv("HARNESS_PG_PORT", buf, 1);
	setenv("HARNESS_PG_DSN", env->pg_dsn, 1);
	setenv("HARNESS_BROKER", env->broker_bootstrap, 1);
	(void)snprintf(buf, sizeof(buf), "%d", (int)env->broker_pid);
	setenv("HARNESS_BROKER_PID", buf, 1);
	(void)snprintf(buf, sizeof(buf), "%d", env->broker_partitions);
	setenv("HARNESS_BROKER_PARTITIONS", buf, 1);
	(void)snprintf(buf, sizeof(buf), "%d", (int)env->service_pid);
	setenv("HARNESS_SERVICE_PID", buf, 1);
	(void)snprintf(buf, sizeof(buf), "%d", env->service_port);
	setenv("HARNESS_SERVICE_PORT", buf, 1);
	setenv("HARNESS_SERVICE_DIR", env->service_dir, 1);
}

static void
harness_getenv(const char *name, char *buf, size_t len)
{
	const char	*v;

	if ((v = getenv(name)) == NULL)
		v = "";
	(void)snprintf(buf, len, "%s", v);
}

void
harness_env(struct harness_env *env)
{
	char		buf[32];

	memset(env, 0, sizeof(*env));
	harness_getenv("HARNESS_ROOT", env->root, sizeof(env->root));
	harness_getenv("HARNESS_WHAT", buf, sizeof(buf));
	env->what = atoi(buf);
	harness_getenv("HARNESS_DIR", env->dir, sizeof(env->dir));
	harness_getenv("HARNESS_PG_DIR", env->pg_dir, sizeof(env->pg_dir));
	harness_getenv("HARNESS_PG_PORT", buf, sizeof(buf));
	env->pg_port = atoi(buf);
	harness_getenv("HARNESS_PG_DSN", env->pg_dsn, sizeof(env->pg_dsn));
	harness_getenv("HARNESS_BROKER", env->broker_bootstrap,
	    sizeof(env->broker_bootstrap));
	harness_getenv("HARNESS_BROKER_PID", buf, sizeof(buf));
	env->broker_pid = atoi(buf);
	harness_getenv("HARNESS_BROKER_PARTITIONS", buf, sizeof(buf));
	env->broker_partitions = atoi(buf);
	harness_getenv("HARNESS_SERVICE_PID", buf, sizeof(buf));
	env->service_pid = atoi(buf);
	harness_getenv("HARNESS_SERVICE_PORT", buf, sizeof(buf));
	env->service_port = atoi(buf);
	harness_getenv("HARNESS_SERVICE_DIR", env->service_dir,
	    sizeof(env->service_dir));
}

static void
harness_atexit(void)
{
	if (harness_started != NULL && getpid() == harness_owner)
		harness_down(harness_started);
}

void
harness_up(struct harness_env *env, int what)
{
	const char	*root;
	char		 real[PATH_MAX];

	if ((root = getenv("SAGA_TEST_ROOT")) == NULL &&
	    (root = getenv("HARNESS_ROOT")) == NULL)
		root = ".";
	if (realpath(root, real) == NULL)
		harness_die("%s: %s", root, strerror(errno));
	if (strlen(real) >= sizeof(env->root))
		harness_die("%s: path too long", real);
	(void)snprintf(env->root, sizeof(env->root), "%s", real);

	/* Only the runner cleans up, never a forked test process. */
	env->what = 0;
	harness_owner = getpid();
	harness_started = env;
	atexit(harness_atexit);

	(void)snprintf(env->dir, sizeof(env->dir), "/tmp/saga-it-XXXXXX");
	if (mkdtemp(env->dir) == NULL || chmod(env->dir, 0755) == -1)
		harness_die("mkdtemp %s: %s", env->dir, strerror(errno));

	if (what & HARNESS_PG)
		harness_pg_up(env);
	if (what & HARNESS_BROKER)
		harness_broker_up(env);
	if (what & HARNESS_SERVICE)
		harness_service_start(env);

	harness_export(env);
	fprintf(stderr, "harness: postgres :%d, broker %s, service :%d\n",
	    env->pg_port, env->broker_bootstrap[0] ? env->broker_bootstrap :
	    "-", env->service_port);
}

int
harness_service_stop(struct harness_env *env, int *exit_status,
    int *elapsed_ms)
{
	int		status, waited;

	if (env->service_pid <= 0)
		return (-1);

	(void)kill(env->service_pid, SIGTERM);
	for (waited = 0; waited < 60000; waited += 20) {
		if (waitpid(env->service_pid, &status, WNOHANG) ==
		    env->service_pid)
			break;
		harness_sleep_ms(20);
	}
	*elapsed_ms = waited;
	if (waited >= 60000) {
		(void)kill(-env->service_pid, SIGKILL);
		(void)waitpid(env->service_pid, &status, 0);
		env->service_pid = 0;
		return (-1);
	}

	/* Workers left behind by a parent that quit would show here. */
	(void)kill(-env->service_pid, SIGKILL);
	env->service_pid = 0;
	env->what &= ~HARNESS_SERVICE;
	*exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);

	return (0);
}

void
harness_down(struct harness_env *env)
{
	char		*argv[] = { "rm", "-rf", NULL, NULL };

	harness_started = NULL;
	if (env->what & HARNESS_SERVICE) {
		harness_stop_pid(env->service_pid, 15000);
		env->service_pid = 0;
	}
	if (env->what & HARNESS_BROKER) {
		harness_stop_pid(env->broker_pid, 5000);
		env->broker_pid = 0;
	}
	if (env->what & HARNESS_PG)
		(void)harness_pg_stop(env);
	if (env->dir[0] != '\0' && getenv("HARNESS_KEEP") == NULL) {
		argv[2] = env->dir;
		(void)harness_run(argv, 0, NULL);
	}
	env->what = 0;
}

/* --- a small HTTP/1.1 client --------------------------------------------- */

int
harness_http(int port, const char *method, const char *path,
    const char *headers, const char *body, struct harness_reply *r)
{
	char		*buf;
	size_t		 len, cap, blen;
	int		 rc;

	blen = body != NULL ? strlen(body) : 0;
	cap = strlen(path) + (headers ? strlen(headers) : 0) + blen + 256;
	buf = malloc(cap);
	len = (size_t)snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: localhost"
	    "\r\nConnection: close\r\n%s", method, path,
	    headers != NULL ? headers : "");
	if (body != NULL)
		len += (size_t)snprintf(buf + len, cap - len,
		    "Content-Length: %zu\r\n", blen);
	len += (size_t)snprintf(buf + len, cap - len, "\r\n%s",
	    body != NULL ? body : "");

	rc = harness_http_raw(port, buf, len, r);
	free(buf);

	return (rc);
}

int
harness_http_raw(int port, const char *request, size_t reqlen,
    struct harness_reply *r)
{
	struct sockaddr_in	sin;
	struct timeval		tv;
	char			*buf, *sep, *nbuf;
	size_t			len, cap;
	ssize_t			n;
	int			fd;

	memset(r, 0, sizeof(*r));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return (-1);
	tv.tv_sec = 15;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, request, reqlen) != (ssize_t)reqlen) {
		close(fd);
		return (-1);
	}

	cap = 8192;
	buf = malloc(cap);
	len = 0;
	for (;;) {
		if (cap - len < 4096) {
			cap *= 2;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				free(buf);
				close(fd);
				return (-1);
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';

	if ((sep = strstr(buf, "\r\n\r\n")) == NULL ||
	    sscanf(buf, "HTTP/1.%*c %d", &r->status) != 1) {
		free(buf);
		return (-1);
	}
	*sep = '\0';
	r->headers = strdup(buf);
	r->body_len = len - (size_t)(sep + 4 - buf);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, sep + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);

	return (0);
}

int
harness_problem_check(const struct harness_reply *r, int status,
    const char *needle, char *why, size_t len)
{
	json_t		*doc;
	const char	*detail;
	char		 ctype[128];
	int		 rc;

	if (r->status != status) {
		(void)snprintf(why, len, "status %d, want %d: %s", r->status,
		    status, r->body);
		return (-1);
	}
	if (harness_reply_header(r, "content-type", ctype,
	    sizeof(ctype)) == NULL ||
	    strcmp(ctype, "application/problem+json") != 0) {
		(void)snprintf(why, len, "%d: content-type is not "
		    "application/problem+json", status);
		return (-1);
	}
	if ((doc = json_loads(r->body, 0, NULL)) == NULL) {
		(void)snprintf(why, len, "%d: body not JSON: %s", status,
		    r->body);
		return (-1);
	}

	rc = -1;
	detail = json_string_value(json_object_get(doc, "detail"));
	if (!json_is_string(json_object_get(doc, "type")) ||
	    json_string_length(json_object_get(doc, "title")) == 0 ||
	    json_integer_value(json_object_get(doc, "status")) != status)
		(void)snprintf(why, len, "%d: no type, title or status: %s",
		    status, r->body);
	else if (detail == NULL)
		(void)snprintf(why, len, "%d: no detail: %s", status, r->body);
	else if (needle != NULL && strstr(detail, needle) == NULL)
		(void)snprintf(why, len, "%d: detail '%s' does not name '%s'",
		    status, detail, needle);
	else
		rc = 0;
	json_decref(doc);

	return (rc);
}

void
harness_reply_free(struct harness_reply *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *
harness_reply_header(const struct harness_reply *r, const char *name,
    char *buf, size_t len)
{
	const char	*p, *end;
	size_t		 nlen, vlen;

	nlen = strlen(name);
	for (p = strstr(r->headers, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nlen) != 0 || p[2 + nlen] != ':')
			continue;
		p += 2 + nlen + 1;
		p += strspn(p, " ");
		if ((end = strstr(p, "\r\n")) == NULL)
			end = p + strlen(p);
		vlen = (size_t)(end - p);
		if (vlen >= len)
			vlen = len - 1;
		memcpy(buf, p, vlen);
		buf[vlen] = '\0';
		return (buf);
	}

	return (NULL);
}

/* --- Kafka, database and scrape probes ------------------------------------ */

static void
harness_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *arg)
{
	int		*failed = arg;

	(void)rk;
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		fprintf(stderr, "harness: delivery failed: %s\n",
		    rd_kafka_err2str(m->err));
		(*failed)++;
	}
}

int
harness_produce(const struct harness_env *env, const char *topic,
    char *const keys[], char *const payloads[], size_t n)
{
	rd_kafka_conf_t		*conf;
	rd_kafka_t		*rk;
	rd_kafka_resp_err_t	 err;
	char			 errstr[256];
	size_t			 i;
	int			 failed;

	failed = 0;
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers",
	    env->broker_bootstrap, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		return (-1);
	(void)rd_kafka_conf_set(conf, "linger.ms", "5", errstr,
	    sizeof(errstr));
	rd_kafka_conf_set_dr_msg_cb(conf, harness_on_delivery);
	rd_kafka_conf_set_opaque(conf, &failed);
	if ((rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
	    sizeof(errstr))) == NULL)
		return (-1);

	for (i = 0; i < n; i++) {
		do {
			err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
			    RD_KAFKA_V_KEY(keys ? keys[i] : NULL,
			    keys && keys[i] ? strlen(keys[i]) : 0),
			    RD_KAFKA_V_VALUE(payloads[i], strlen(payloads[i])),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			    RD_KAFKA_V_END);
			if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				rd_kafka_poll(rk, 50);
		} while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
			failed++;
		rd_kafka_poll(rk, 0);
	}

	if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		failed++;
	rd_kafka_destroy(rk);

	return (failed == 0 ? 0 : -1);
}

int
harness_produce_sagas(const struct harness_env *env, const char *topic,
    const char *prefix, int n)
{
	char		**keys, **payloads;
	int		  i, rc;

	keys = calloc((size_t)n + 1, sizeof(char *));
	payloads = calloc((size_t)n + 1, sizeof(char *));
	if (keys == NULL || payloads == NULL)
		harness_die("produce: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		if (asprintf(&keys[i], "%s-%d", prefix, i) == -1 ||
		    asprintf(&payloads[i], "{\"eventId\":\"%s-e\","
		    "\"sagaId\":\"%s\",\"step\":\"STOCK_RESERVE\",\"status\":"
		    "\"STARTED\",\"occurredAt\":\"2026-11-27T08:00:00Z\"}",
		    keys[i], keys[i]) == -1)
			harness_die("produce: %s", strerror(errno));
	}
	rc = harness_produce(env, topic, keys, payloads, (size_t)n);
	for (i = 0; i < n; i++) {
		free(keys[i]);
		free(payloads[i]);
	}
	free(keys);
	free(payloads);

	return (rc);
}

int64_t
harness_committed(const struct harness_env *env, const char *group,
    const char *topic)
{
	rd_kafka_conf_t				*conf;
	rd_kafka_t				*rk;
	const struct rd_kafka_metadata		*md;
	rd_kafka_topic_partition_list_t		*parts;
	char					 errstr[256];
	int64_t					 sum;
	int					 i, p;

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers",
	    env->broker_bootstrap, errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", group, errstr,
	    sizeof(errstr)) != RD_KAFKA_CONF_OK)
		return (-1);
	if ((rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr,
	    sizeof(errstr))) == NULL)
		return (-1);

	sum = -1;
	parts = rd_kafka_topic_partition_list_new(8);
	if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) != 0)
		goto done;
	for (i = 0; i < md->topic_cnt; i++) {
		if (strcmp(md->topics[i].topic, topic) != 0)
			continue;
		for (p = 0; p < md->topics[i].partition_cnt; p++)
			rd_kafka_topic_partition_list_add(parts, topic,
			    md->topics[i].partitions[p].id);
	}
	rd_kafka_metadata_destroy(md);

	if (rd_kafka_committed(rk, parts, 10000) != 0)
		goto done;
	sum = 0;
	for (i = 0; i < parts->cnt; i++) {
		if (parts->elems[i].offset > 0)
			sum += parts->elems[i].offset;
	}

done:
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_destroy(rk);

	return (sum);
}

int64_t
harness_pg_int(const struct harness_env *env, const char *sql)
{
	PGconn		*conn;
	PGresult	*res;
	int64_t		 v;

	conn = PQconnectdb(env->pg_dsn);
	if (PQstatus(conn) != CONNECTION_OK) {
		PQfinish(conn);
		return (-1);
	}

	v = -1;
	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		fprintf(stderr, "harness: %s: %s\n", sql,
		    PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);

	return (v);
}

static void
harness_pg_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

PGconn *
harness_db_connect(const char *dsn)
{
	PGconn		*conn;

	conn = PQconnectdb(dsn);
	if (PQstatus(conn) != CONNECTION_OK)
		harness_die("connect %s: %s", dsn, PQerrorMessage(conn));
	(void)PQsetNoticeProcessor(conn, harness_pg_quiet, NULL);

	return (conn);
}

PGconn *
harness_db_runner(void)
{
	struct harness_env	env;

	harness_env(&env);

	return (harness_db_connect(env.pg_dsn));
}

void
harness_db_exec(PGconn *conn, const char *sql)
{
	harness_db_execv(conn, sql, 0, NULL);
}

void
harness_db_execv(PGconn *conn, const char *sql, int n,
    const char *const *values)
{
	PGresult	*res;

	res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		harness_die("%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
}

long long
harness_db_count(PGconn *conn, const char *sql)
{
	PGresult	*res;
	long long	 n;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1)
		harness_die("%s: %s", sql, PQerrorMessage(conn));
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

	return (n);
}

void
harness_db_fresh(const char *name, char *dsn, size_t len)
{
	struct harness_env	 env;
	PGconn			*conn;
	char			 admin[256], sql[256];

	harness_env(&env);
	(void)snprintf(admin, sizeof(admin), "host=127.0.0.1 port=%d "
	    "dbname=postgres user=postgres connect_timeout=3", env.pg_port);
	conn = harness_db_connect(admin);
	(void)snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS t_%s", name);
	harness_db_exec(conn, sql);
	(void)snprintf(sql, sizeof(sql), "CREATE DATABASE t_%s", name);
	harness_db_exec(conn, sql);
	PQfinish(conn);

	(void)snprintf(dsn, len, "host=127.0.0.1 port=%d dbname=t_%s "
	    "user=postgres connect_timeout=3", env.pg_port, name);
}

int64_t
harness_now_ms(void)
{
	struct timespec		ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
harness_metrics_up(void)
{
	static const double	buckets[] = {
		0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600
	};
	struct metrics_params	p;
	char			err[256];

	memset(&p, 0, sizeof(p));
	p.max_step_labels = 64;
	p.max_stripes = 4;
	p.version = "test";
	p.compensation_buckets = buckets;
	p.compensation_bucket_count = sizeof(buckets) / sizeof(buckets[0]);
	if (metrics_segment_create(&p, err, sizeof(err)) == -1)
		harness_die("metrics_segment_create: %s", err);
}

/* The value of the gauge of family (label value a, or none). */
static double
harness_gauge(enum metrics_family family, const char *a)
{
	struct metrics_series	s;

	if (metrics_series_lookup(family, a != NULL ? &a : NULL, &s) == -1)
		return (NAN);

	return (metrics_gauge_value(s));
}

int
harness_gauges_check(PGconn *conn, char *why, size_t len)
{
	int64_t			 full[SAGA_STATUS_COUNT];
	enum saga_status	 st;
	PGresult		*res;
	double			 oldest, v;
	int			 i;

	memset(full, 0, sizeof(full));
	res = PQexec(conn, "SELECT status, count(*) FROM saga_instance "
	    "GROUP BY status");
	for (i = 0; i < PQntuples(res); i++) {
		if (saga_status_parse(PQgetvalue(res, i, 0), &st) == 0)
			full[st] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	}
	PQclear(res);
	oldest = (double)harness_db_count(conn, "SELECT coalesce(extract("
	    "epoch FROM now() - min(coalesce(failed_at, updated_at))), 0)"
	    "::int8 FROM saga_instance WHERE status IN ('FAILED', "
	    "'COMPENSATING')");

	for (i = 0; i < SAGA_STATUS_COUNT; i++) {
		v = harness_gauge(METRICS_SAGA_ACTIVE, saga_status_name(i));
		if (v != (double)full[i]) {
			(void)snprintf(why, len, "saga_active_total{%s} %.0f, "
			    "a full count says %lld", saga_status_name(i), v,
			    (long long)full[i]);
			return (-1);
		}
	}
	v = harness_gauge(METRICS_PENDING, NULL);
	if (v != (double)(full[SAGA_FAILED] + full[SAGA_COMPENSATING])) {
		(void)snprintf(why, len, "saga_compensation_pending %.0f, a "
		    "full count says %lld", v, (long long)(full[SAGA_FAILED] +
		    full[SAGA_COMPENSATING]));
		return (-1);
	}
	v = harness_gauge(METRICS_PENDING_OLDEST, NULL);
	if (fabs(v - oldest) > 2.0) {
		(void)snprintf(why, len, "saga_compensation_pending_oldest_"
		    "seconds %.3f, a full scan says %.0f", v, oldest);
		return (-1);
	}

	return (0);
}

double
harness_metric(const struct harness_env *env, const char *name)
{
	struct harness_reply	 r;
	const char		*line, *sp;
	size_t			 nlen;
	double			 sum;

	if (harness_http(env->service_port, "GET", "/actuator/prometheus",
	    NULL, NULL, &r) != 0 || r.status != 200)
		return (-1);

	sum = 0;
	nlen = strlen(name);
	for (line = r.body; line != NULL && *line != '\0';
	    line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, name, nlen) != 0 ||
		    (line[nlen] != '{' && line[nlen] != ' '))
			continue;
		if ((sp = strchr(line, ' ')) != NULL && line[nlen] == '{')
			sp = strstr(line, "} ") ? strstr(line, "} ") + 1 : sp;
		if (sp != NULL)
			sum += strtod(sp + 1, NULL);
	}
	harness_reply_free(&r);

	return (sum);
}

pid_t
harness_worker_pid(const struct harness_env *env, int id)
{
	DIR		*dir;
	struct dirent	*de;
	FILE		*fp;
	char		 path[300], want[32], buf[256];
	pid_t		 found;
	int		 ppid;
	size_t		 n;

	if ((dir = opendir("/proc")) == NULL)
		return (-1);

	found = -1;
	/* kore retitles its processes "kore [wrk N]". */
	(void)snprintf(want, sizeof(want), "kore [wrk %d]", id);
	while (found == -1 && (de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(fp, "%*d %*s %*c %d", &ppid) != 1)
			ppid = 0;
		fclose(fp);
		if (ppid != env->service_pid)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/cmdline",
		    de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		if (strncmp(buf, want, strlen(want)) == 0)
			found = (pid_t)atoi(de->d_name);
	}
	closedir(dir);

	return (found);
}

int
harness_worker_policy_check(const struct harness_env *env, int id,
    int policy, char *why, size_t len)
{
	DIR		*dir;
	struct dirent	*de;
	char		 path[64];
	pid_t		 pid;
	int		 n, threads, p;

	if ((pid = harness_worker_pid(env, id)) == -1) {
		(void)snprintf(why, len, "no kore worker %d", id);
		return (-1);
	}
	(void)snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((dir = opendir(path)) == NULL) {
		(void)snprintf(why, len, "%s: %s", path, strerror(errno));
		return (-1);
	}

	n = threads = 0;
	while ((de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		/* A thread that ended since readdir() is not counted. */
		if ((p = sched_getscheduler((pid_t)atoi(de->d_name))) == -1)
			continue;
		threads++;
		if (p == policy)
			n++;
	}
	closedir(dir);

	if (threads == 0 || n != threads) {
		(void)snprintf(why, len, "worker %d (pid %d): %d of %d threads "
		    "under policy %d", id, (int)pid, n, threads, policy);
		return (-1);
	}

	return (threads);
}
