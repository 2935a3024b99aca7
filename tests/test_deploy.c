/*
 * Tests for the deployment files (issue #7): deploy/Dockerfile and the
 * hand-written manifests in deploy/kubernetes/.  Run from the
 * repository root.
 *
 * No API server is available to `kubectl apply --dry-run=server`, and
 * Debian's kubectl cannot validate offline, so these structural checks
 * are the schema check: every manifest parses and names itself, and
 * the pieces agree with each other and with the sources of truth:
 *
 *  - conf/saga-tracker.conf (kore): probe paths are routes that answer
 *    GET, the container port named http is the `bind` port;
 *  - conf/saga-tracker.yaml: the ConfigMap's copy loads with the
 *    service's own config_load() and equals it in every key but
 *    kafka.brokers; the namespace is monitoring.service_namespace and
 *    the DSN variable is postgres.dsn_env;
 *  - consumer.h: the grace period outlasts the consumer's close
 *    (CONSUMER_SESSION_MS, the session.timeout.ms it sets);
 *  - the generated ServiceMonitor selects the Service and its port;
 *  - deploy/README.md documents the Secret the Deployment references;
 *  - the Dockerfile: bookworm stages, unprivileged numeric USER, no
 *    HEALTHCHECK, no -dev package in the final stage, and the packages
 *    it installs there provide every library `ldd` lists for the
 *    built binary (dpkg -S, following Depends for indirect ones).
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <yaml.h>

#include "config.h"
#include "consumer.h"
#include "harness.h"
#include "yamldoc.h"

#define K8S_GLOB	"deploy/kubernetes/*.yaml"
#define KORE_CONF	"conf/saga-tracker.conf"
#define SERVICE_YAML	"conf/saga-tracker.yaml"
#define PROD_CONF	".build/prod/saga-tracker/conf/saga-tracker.conf"
#define DOCKERFILE	"deploy/Dockerfile"
#define README		"deploy/README.md"
#define VERSION_FILE	"VERSION"
#define APP_NAME	"saga-tracker"
#define CONFIG_ENV	"SAGA_TRACKER_CONFIG"
#define TOKEN_ENV	"SAGA_TRACKER_INTERNAL_TOKEN"
#define NAME_LABEL	"app.kubernetes.io/name"

#define DOCS_MAX	32
#define ROUTES_MAX	64
#define INSNS_MAX	128
#define PKGS_MAX	64
#define LIBS_MAX	128
#define NAME_MAX_LEN	128

/* Binaries that may have been built, best first. */
static const char *binaries[] = {
	".build/prod/saga-tracker/saga-tracker",
	".build/saga-tracker/saga-tracker",
	".build/saga-tracker/saga-tracker.so",
	NULL
};

/* Never acceptable in the final stage of the image. */
static const char *build_only[] = {
	"build-essential", "gcc", "cc", "make", "kore", "dpkg-dev",
	"libc6-dev", "pkg-config", NULL
};

struct obj {
	struct ydoc	*y;
	yaml_node_t	*root;
};

struct route {
	char		path[256];
	char		methods[128];	/* "" = every method */
};

struct kore_conf {
	struct route	routes[ROUTES_MAX];
	size_t		nroutes;
	long		port;
};

struct insn {
	char		 cmd[16];	/* upper case */
	char		*args;
	int		 stage;
};

struct dockerfile {
	struct insn	insns[INSNS_MAX];
	size_t		ninsns;
	int		nstages;
	char		*text;
};

struct pkglist {
	char		names[PKGS_MAX][NAME_MAX_LEN];
	size_t		n;
};

static struct ydoc	docs[DOCS_MAX];
static size_t		ndocs;

static void	setup(void);
static void	teardown(void);
static void	append(char *, size_t, const char *);
static char	*slurp(const char *);
static char	*capture(char *const []);
static void	load_manifests(void);
static struct obj find_kind(const char *);
static struct obj find_named(const char *, const char *);
static yaml_node_t *pod_spec(struct obj);
static yaml_node_t *container(struct obj);
static yaml_node_t *named(struct ydoc *, yaml_node_t *, const char *);
static const char *env_value(struct obj, const char *);
static struct obj config_map(struct obj, const char **);
static yaml_node_t *env_secret(struct obj, const char *);
static int	labels_cover(struct ydoc *, yaml_node_t *, struct ydoc *,
		    yaml_node_t *);
static void	load_kore_conf(struct kore_conf *);
static const struct route *find_route(const struct kore_conf *,
		    const char *);
static void	load_service_config(struct config *);
static void	load_dockerfile(struct dockerfile *);
static void	dockerfile_free(struct dockerfile *);
static const struct insn *last_insn(const struct dockerfile *, int,
		    const char *);
static void	apt_packages(const struct dockerfile *, int,
		    struct pkglist *);
static int	pkg_listed(const struct pkglist *, const char *);
static long	prestop_sleep(struct obj);
static const char *binary_path(void);
static size_t	ldd_paths(const char *, char [][PATH_MAX], size_t);
static size_t	needed_names(const char *, char [][NAME_MAX_LEN], size_t);
static void	owner_packages(char [][PATH_MAX], size_t,
		    char [][NAME_MAX_LEN]);
static void	dependency_closure(struct pkglist *);

TestSuite(deploy, .init = setup, .fini = teardown, .timeout = 20);

/* ---------------------------------------------------------------- */
/* plumbing								*/

static void
setup(void)
{
	load_manifests();
}

static void
teardown(void)
{
	size_t		i;

	for (i = 0; i < ndocs; i++)
		ydoc_free(&docs[i]);
	ndocs = 0;
}

/* strlcat(3), which glibc 2.36 lacks; truncation is a test failure. */
static void
append(char *dst, size_t size, const char *src)
{
	size_t		len;

	len = strlen(dst);
	cr_assert_lt(len + strlen(src), size, "append: %s", src);
	memcpy(dst + len, src, strlen(src) + 1);
}

static char *
slurp(const char *path)
{
	char		*buf;

	buf = harness_read_file(path, NULL);
	cr_assert_not_null(buf, "%s: %s", path, strerror(errno));

	return (buf);
}

/* Run argv without a shell; its stdout, whatever its exit status. */
static char *
capture(char *const argv[])
{
	char		*buf;
	size_t		 len, cap;
	ssize_t		 r;
	pid_t		 pid;
	int		 fds[2], status;

	cr_assert_eq(pipe(fds), 0, "pipe");
	pid = fork();
	cr_assert_neq(pid, -1, "fork");
	if (pid == 0) {
		(void)close(fds[0]);
		(void)dup2(fds[1], STDOUT_FILENO);
		(void)freopen("/dev/null", "w", stderr);
		execvp(argv[0], argv);
		_exit(127);
	}
	(void)close(fds[1]);

	cap = 65536;
	len = 0;
	buf = malloc(cap);
	cr_assert_not_null(buf);
	for (;;) {
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		r = read(fds[0], buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	(void)close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(!(WIFEXITED(status) && WEXITSTATUS(status) == 127),
	    "%s: cannot run", argv[0]);

	return (buf);
}

/* Every document of every manifest. */
static void
load_manifests(void)
{
	glob_t		g;
	size_t		i;

	cr_assert_eq(glob(K8S_GLOB, 0, NULL, &g), 0, "no %s", K8S_GLOB);
	for (i = 0; i < g.gl_pathc; i++)
		ndocs += ydoc_load_all(docs + ndocs, DOCS_MAX - ndocs,
		    g.gl_pathv[i]);
	globfree(&g);
}

static struct obj
find_kind(const char *kind)
{
	struct obj	 o;
	size_t		 i, found;

	memset(&o, 0, sizeof(o));
	for (i = 0, found = 0; i < ndocs; i++) {
		yaml_node_t *root = yaml_document_get_root_node(&docs[i].doc);

		if (ystr(yget(&docs[i], root, "kind")) != NULL &&
		    strcmp(ystr(yget(&docs[i], root, "kind")), kind) == 0) {
			o.y = &docs[i];
			o.root = root;
			found++;
		}
	}
	cr_assert_eq(found, 1, "expected exactly one %s in %s, found %zu",
	    kind, K8S_GLOB, found);

	return (o);
}

static struct obj
find_named(const char *kind, const char *name)
{
	struct obj	 o;
	yaml_node_t	*root;
	size_t		 i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < ndocs; i++) {
		root = yaml_document_get_root_node(&docs[i].doc);
		if (ystr(yget(&docs[i], root, "kind")) == NULL ||
		    strcmp(ystr(yget(&docs[i], root, "kind")), kind) != 0 ||
		    ystr(ypath(&docs[i], root, "metadata.name")) == NULL ||
		    strcmp(ystr(ypath(&docs[i], root, "metadata.name")),
		    name) != 0)
			continue;
		o.y = &docs[i];
		o.root = root;
		return (o);
	}
	cr_assert_fail("no %s named %s in %s", kind, name, K8S_GLOB);

	return (o);
}

static yaml_node_t *
pod_spec(struct obj dep)
{
	yaml_node_t	*spec;

	spec = ypath(dep.y, dep.root, "spec.template.spec");
	cr_assert_not_null(spec, "%s: no spec.template.spec", dep.y->file);

	return (spec);
}

/* The one container. */
static yaml_node_t *
container(struct obj dep)
{
	yaml_node_t	*list;

	list = yget(dep.y, pod_spec(dep), "containers");
	cr_assert_eq(ylen(list), 1, "%s: expected one container",
	    dep.y->file);

	return (yat(dep.y, list, 0));
}

/* The element of a sequence of mappings whose "name" is name. */
static yaml_node_t *
named(struct ydoc *y, yaml_node_t *seq, const char *name)
{
	yaml_node_t	*n;
	size_t		 i;

	for (i = 0; i < ylen(seq); i++) {
		n = yat(y, seq, i);
		if (ystr(yget(y, n, "name")) != NULL &&
		    strcmp(ystr(yget(y, n, "name")), name) == 0)
			return (n);
	}

	return (NULL);
}

static const char *
env_value(struct obj dep, const char *name)
{
	yaml_node_t	*e;

	e = named(dep.y, yget(dep.y, container(dep), "env"), name);
	cr_assert_not_null(e, "%s: no env %s", dep.y->file, name);

	return (ystr(yget(dep.y, e, "value")));
}

/* The secretKeyRef of env name; it must have no literal value. */
static yaml_node_t *
env_secret(struct obj dep, const char *name)
{
	yaml_node_t	*e, *ref;

	e = named(dep.y, yget(dep.y, container(dep), "env"), name);
	cr_assert_not_null(e, "%s: no env %s", dep.y->file, name);
	cr_assert_null(yget(dep.y, e, "value"),
	    "%s: env %s must come from the Secret, not a value", dep.y->file,
	    name);
	ref = ypath(dep.y, e, "valueFrom.secretKeyRef");
	cr_assert_not_null(ref, "%s: env %s has no secretKeyRef", dep.y->file,
	    name);
	cr_assert_not_null(ystr(yget(dep.y, ref, "name")));
	cr_assert_not_null(ystr(yget(dep.y, ref, "key")));

	return (ref);
}

/*
 * The ConfigMap mounted where SAGA_TRACKER_CONFIG points, and the key
 * projected to that file.
 */
static struct obj
config_map(struct obj dep, const char **keyp)
{
	yaml_node_t	*c, *mount, *vol, *items, *item;
	const char	*path, *dir, *key, *file;
	size_t		 i, dlen;

	c = container(dep);
	path = env_value(dep, CONFIG_ENV);
	cr_assert_not_null(path, "%s: %s has no value", dep.y->file,
	    CONFIG_ENV);
	cr_assert_eq(*path, '/', "%s: %s must be absolute", dep.y->file,
	    CONFIG_ENV);

	mount = NULL;
	dlen = 0;
	for (i = 0; i < ylen(yget(dep.y, c, "volumeMounts")); i++) {
		mount = yat(dep.y, yget(dep.y, c, "volumeMounts"), i);
		dir = ystr(yget(dep.y, mount, "mountPath"));
		dlen = strlen(dir);
		if (strncmp(path, dir, dlen) == 0 && path[dlen] == '/' &&
		    strchr(path + dlen + 1, '/') == NULL)
			break;
		mount = NULL;
	}
	cr_assert_not_null(mount, "%s: no volume mounted at the directory "
	    "of %s", dep.y->file, path);
	cr_assert_null(yget(dep.y, mount, "subPath"));
	file = path + dlen + 1;

	vol = named(dep.y, yget(dep.y, pod_spec(dep), "volumes"),
	    ystr(yget(dep.y, mount, "name")));
	cr_assert_not_null(ypath(dep.y, vol, "configMap.name"),
	    "%s: %s is not a ConfigMap volume", dep.y->file,
	    ystr(yget(dep.y, mount, "name")));

	key = file;
	items = ypath(dep.y, vol, "configMap.items");
	if (items != NULL) {
		key = NULL;
		for (i = 0; i < ylen(items); i++) {
			item = yat(dep.y, items, i);
			if (strcmp(ystr(yget(dep.y, item, "path")), file) == 0)
				key = ystr(yget(dep.y, item, "key"));
		}
		cr_assert_not_null(key, "%s: no item projects %s", dep.y->file,
		    file);
	}
	*keyp = key;

	return (find_named("ConfigMap", ystr(ypath(dep.y, vol,
	    "configMap.name"))));
}

/* Every label of sel (a mapping) is in labels with the same value. */
static int
labels_cover(struct ydoc *ysel, yaml_node_t *sel, struct ydoc *ylab,
    yaml_node_t *labels)
{
	yaml_node_pair_t	*p;
	const char		*k, *v, *have;

	if (sel == NULL || sel->type != YAML_MAPPING_NODE ||
	    sel->data.mapping.pairs.top == sel->data.mapping.pairs.start)
		return (0);
	for (p = sel->data.mapping.pairs.start;
	    p < sel->data.mapping.pairs.top; p++) {
		k = ystr(yaml_document_get_node(&ysel->doc, p->key));
		v = ystr(yaml_document_get_node(&ysel->doc, p->value));
		have = ystr(yget(ylab, labels, k));
		if (k == NULL || v == NULL || have == NULL ||
		    strcmp(v, have) != 0)
			return (0);
	}

	return (1);
}

/* Routes, their `restrict` methods and the bind port of the kore conf. */
static void
load_kore_conf(struct kore_conf *kc)
{
	char		*text, *line, *p, *tok[8];
	size_t		 n, i;

	memset(kc, 0, sizeof(*kc));
	kc->port = -1;
	text = slurp(KORE_CONF);
	p = text;
	while ((line = strsep(&p, "\n")) != NULL) {
		if (strchr(line, '#') != NULL)
			*strchr(line, '#') = '\0';
		n = 0;
		while (n < 8 && (tok[n] = strsep(&line, " \t")) != NULL) {
			if (*tok[n] != '\0')
				n++;
		}
		if (n >= 3 && strcmp(tok[0], "bind") == 0) {
			cr_assert_eq(kc->port, -1, "%s: more than one bind",
			    KORE_CONF);
			kc->port = strtol(tok[2], NULL, 10);
		} else if (n >= 3 && strcmp(tok[0], "route") == 0) {
			cr_assert_lt(kc->nroutes, ROUTES_MAX);
			(void)snprintf(kc->routes[kc->nroutes++].path,
			    sizeof(kc->routes[0].path), "%s", tok[1]);
		} else if (n >= 3 && strcmp(tok[0], "restrict") == 0) {
			for (i = 0; i < kc->nroutes; i++) {
				if (strcmp(kc->routes[i].path, tok[1]) != 0)
					continue;
				for (size_t j = 2; j < n; j++) {
					append(kc->routes[i].methods,
					    sizeof(kc->routes[i].methods), " ");
					append(kc->routes[i].methods,
					    sizeof(kc->routes[i].methods),
					    tok[j]);
				}
			}
		}
	}
	free(text);
	cr_assert_gt(kc->port, 0, "%s: no bind port", KORE_CONF);
	cr_assert_gt(kc->nroutes, 0, "%s: no routes", KORE_CONF);
}

/* An exact (non-regex) route for path that answers GET. */
static const struct route *
find_route(const struct kore_conf *kc, const char *path)
{
	size_t		i;

	for (i = 0; i < kc->nroutes; i++) {
		if (strcmp(kc->routes[i].path, path) != 0)
			continue;
		if (kc->routes[i].methods[0] != '\0' &&
		    strstr(kc->routes[i].methods, " get") == NULL)
			return (NULL);
		return (&kc->routes[i]);
	}

	return (NULL);
}

static void
load_service_config(struct config *cfg)
{
	char		err[CONFIG_ERR_MAX];

	cr_assert_eq(config_load(cfg, SERVICE_YAML, err, sizeof(err)), 0,
	    "%s", err);
}

/*
 * Logical instructions of the Dockerfile: continuation lines joined,
 * comment lines dropped (also inside a continuation, as Docker does).
 */
static void
load_dockerfile(struct dockerfile *df)
{
	char		*p, *line, *logical, *s;
	size_t		 len, cap, l;
	int		 cont;

	memset(df, 0, sizeof(*df));
	df->text = slurp(DOCKERFILE);
	df->nstages = 0;
	cap = strlen(df->text) + 1;
	logical = NULL;
	len = 0;
	cont = 0;
	p = df->text;
	while ((line = strsep(&p, "\n")) != NULL) {
		s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '#' || (*s == '\0' && !cont))
			continue;
		if (!cont) {
			logical = malloc(cap);
			cr_assert_not_null(logical);
			len = 0;
		}
		l = strlen(s);
		while (l > 0 && isspace((unsigned char)s[l - 1]))
			l--;
		cont = (l > 0 && s[l - 1] == '\\');
		if (cont)
			l--;
		memcpy(logical + len, s, l);
		len += l;
		logical[len++] = ' ';
		logical[len] = '\0';
		if (cont)
			continue;

		cr_assert_lt(df->ninsns, INSNS_MAX);
		s = logical;
		l = strcspn(s, " \t");
		cr_assert_lt(l, sizeof(df->insns[0].cmd), "%s: %s", DOCKERFILE,
		    logical);
		for (size_t i = 0; i < l; i++)
			df->insns[df->ninsns].cmd[i] =
			    (char)toupper((unsigned char)s[i]);
		if (strcmp(df->insns[df->ninsns].cmd, "FROM") == 0)
			df->nstages++;
		df->insns[df->ninsns].stage = df->nstages - 1;
		s += l;
		while (isspace((unsigned char)*s))
			s++;
		memmove(logical, s, strlen(s) + 1);
		df->insns[df->ninsns++].args = logical;
		logical = NULL;
	}
	cr_assert(!cont, "%s: ends inside a continuation", DOCKERFILE);
}

static void
dockerfile_free(struct dockerfile *df)
{
	size_t		i;

	for (i = 0; i < df->ninsns; i++)
		free(df->insns[i].args);
	free(df->text);
}

static const struct insn *
last_insn(const struct dockerfile *df, int stage, const char *cmd)
{
	const struct insn	*found;
	size_t			 i;

	found = NULL;
	for (i = 0; i < df->ninsns; i++) {
		if (df->insns[i].stage == stage &&
		    strcmp(df->insns[i].cmd, cmd) == 0)
			found = &df->insns[i];
	}

	return (found);
}

/* Packages named by `apt-get install` in the RUN lines of a stage. */
static void
apt_packages(const struct dockerfile *df, int stage, struct pkglist *pl)
{
	char		*copy, *p, *tok;
	size_t		 i;
	int		 in;

	memset(pl, 0, sizeof(*pl));
	for (i = 0; i < df->ninsns; i++) {
		if (df->insns[i].stage != stage ||
		    strcmp(df->insns[i].cmd, "RUN") != 0)
			continue;
		copy = strdup(df->insns[i].args);
		cr_assert_not_null(copy);
		p = copy;
		in = 0;
		while ((tok = strsep(&p, " \t")) != NULL) {
			if (*tok == '\0')
				continue;
			if (strcmp(tok, "&&") == 0 || strcmp(tok, "||") == 0 ||
			    strcmp(tok, ";") == 0 || strcmp(tok, "|") == 0) {
				in = 0;
				continue;
			}
			if (strcmp(tok, "install") == 0) {
				in = 1;
				continue;
			}
			if (!in || *tok == '-')
				continue;
			tok[strcspn(tok, "=;")] = '\0';
			cr_assert_lt(pl->n, PKGS_MAX);
			(void)snprintf(pl->names[pl->n++],
			    sizeof(pl->names[0]), "%s", tok);
		}
		free(copy);
	}
}

static int
pkg_listed(const struct pkglist *pl, const char *name)
{
	size_t		i;

	for (i = 0; i < pl->n; i++) {
		if (strcmp(pl->names[i], name) == 0)
			return (1);
	}

	return (0);
}

/* Seconds of a preStop `sleep N`, 0 without one. */
static long
prestop_sleep(struct obj dep)
{
	yaml_node_t	*cmd;
	size_t		 i;

	cmd = ypath(dep.y, container(dep), "lifecycle.preStop.exec.command");
	for (i = 0; i + 1 < ylen(cmd); i++) {
		if (ystr(yat(dep.y, cmd, i)) != NULL &&
		    strstr(ystr(yat(dep.y, cmd, i)), "sleep") != NULL)
			return (ylong(yat(dep.y, cmd, i + 1)));
	}

	return (0);
}

static const char *
binary_path(void)
{
	size_t		i;

	for (i = 0; binaries[i] != NULL; i++) {
		if (access(binaries[i], R_OK) == 0)
			return (binaries[i]);
	}
	cr_assert_fail("no built binary (%s, or %s): run `make app` (or "
	    "`make prod`) first", binaries[0], binaries[2]);

	return (NULL);
}

/* Resolved paths of every library ldd lists, vdso excluded. */
static size_t
ldd_paths(const char *bin, char paths[][PATH_MAX], size_t max)
{
	char		*out, *p, *line, *arrow, *argv[3];
	size_t		 n;

	argv[0] = "ldd";
	argv[1] = (char *)bin;
	argv[2] = NULL;
	out = capture(argv);
	n = 0;
	p = out;
	while ((line = strsep(&p, "\n")) != NULL) {
		cr_assert(strstr(line, "not found") == NULL, "ldd %s: %s", bin,
		    line);
		if ((arrow = strstr(line, "=> /")) != NULL)
			line = arrow + 3;
		while (isspace((unsigned char)*line))
			line++;
		if (*line != '/')
			continue;
		line[strcspn(line, " (")] = '\0';
		cr_assert_lt(n, max);
		(void)snprintf(paths[n++], PATH_MAX, "%s", line);
	}
	free(out);
	cr_assert_gt(n, 2, "ldd %s: nothing listed", bin);

	return (n);
}

/* DT_NEEDED entries: the libraries the binary links itself. */
static size_t
needed_names(const char *bin, char names[][NAME_MAX_LEN], size_t max)
{
	char		*out, *p, *line, *s, *argv[4];
	size_t		 n;

	argv[0] = "readelf";
	argv[1] = "-d";
	argv[2] = (char *)bin;
	argv[3] = NULL;
	out = capture(argv);
	n = 0;
	p = out;
	while ((line = strsep(&p, "\n")) != NULL) {
		if (strstr(line, "(NEEDED)") == NULL ||
		    (s = strchr(line, '[')) == NULL)
			continue;
		s++;
		s[strcspn(s, "]")] = '\0';
		cr_assert_lt(n, max);
		(void)snprintf(names[n++], NAME_MAX_LEN, "%s", s);
	}
	free(out);
	cr_assert_gt(n, 0, "readelf -d %s: no NEEDED entries", bin);

	return (n);
}

/*
 * The package owning each path (dpkg -S), trying the /usr and the
 * non-/usr spelling of merged-/usr paths.  "" if none owns it.
 */
static void
owner_packages(char paths[][PATH_MAX], size_t n, char pkgs[][NAME_MAX_LEN])
{
	static char	 alt[LIBS_MAX][PATH_MAX];
	char		**argv, *out, *p, *line, *sep;
	size_t		 i, argc;

	argv = calloc(2 * n + 3, sizeof(*argv));
	cr_assert_not_null(argv);
	argc = 0;
	argv[argc++] = "dpkg";
	argv[argc++] = "-S";
	for (i = 0; i < n; i++) {
		pkgs[i][0] = '\0';
		argv[argc++] = paths[i];
		cr_assert_lt(strlen(paths[i]) + 4, PATH_MAX);
		if (strncmp(paths[i], "/usr/", 5) == 0) {
			memcpy(alt[i], paths[i] + 4, strlen(paths[i] + 4) + 1);
		} else {
			memcpy(alt[i], "/usr", 4);
			memcpy(alt[i] + 4, paths[i], strlen(paths[i]) + 1);
		}
		argv[argc++] = alt[i];
	}
	argv[argc] = NULL;
	out = capture(argv);

	p = out;
	while ((line = strsep(&p, "\n")) != NULL) {
		if ((sep = strstr(line, ": /")) == NULL)
			continue;
		*sep = '\0';
		line[strcspn(line, ":")] = '\0';
		for (i = 0; i < n; i++) {
			if (pkgs[i][0] == '\0' &&
			    (strcmp(sep + 2, paths[i]) == 0 ||
			    strcmp(sep + 2, alt[i]) == 0))
				(void)snprintf(pkgs[i], NAME_MAX_LEN, "%s",
				    line);
		}
	}
	free(out);
	free(argv);
}

/* Add to pl every installed package its packages depend on. */
static void
dependency_closure(struct pkglist *pl)
{
	char		*out, *p, *line, *tab, *dep, *alt, *argv[5];
	char		*names[4096], *deps[4096];
	size_t		 n, i, k;
	int		 grew;

	argv[0] = "dpkg-query";
	argv[1] = "-W";
	argv[2] = "-f=${db:Status-Abbrev}\t${Package}\t${Depends}, "
	    "${Pre-Depends}\n";
	argv[3] = NULL;
	out = capture(argv);
	n = 0;
	p = out;
	while ((line = strsep(&p, "\n")) != NULL && n < 4096) {
		if (strncmp(line, "ii", 2) != 0 ||
		    (tab = strchr(line, '\t')) == NULL)
			continue;
		names[n] = tab + 1;
		if ((tab = strchr(names[n], '\t')) == NULL)
			continue;
		*tab = '\0';
		deps[n++] = tab + 1;
	}

	do {
		grew = 0;
		for (i = 0; i < n; i++) {
			if (!pkg_listed(pl, names[i]))
				continue;
			line = strdup(deps[i]);
			cr_assert_not_null(line);
			p = line;
			while ((dep = strsep(&p, ",")) != NULL) {
				/* Every alternative that is installed. */
				while ((alt = strsep(&dep, "|")) != NULL) {
					while (isspace((unsigned char)*alt))
						alt++;
					alt[strcspn(alt, " (:")] = '\0';
					for (k = 0; k < n; k++) {
						if (strcmp(names[k], alt) == 0)
							break;
					}
					if (k == n || pkg_listed(pl, alt))
						continue;
					cr_assert_lt(pl->n, PKGS_MAX);
					(void)snprintf(pl->names[pl->n++],
					    NAME_MAX_LEN, "%s", alt);
					grew = 1;
				}
			}
			free(line);
		}
	} while (grew);
	free(out);
}

/* ---------------------------------------------------------------- */
/* manifests								*/

Test(deploy, every_manifest_parses_and_names_itself)
{
	yaml_node_t	*root;
	const char	*fields[] = { "apiVersion", "kind", "metadata.name" };
	size_t		 i, j;

	cr_assert_geq(ndocs, 6, "expected the generated and the hand-written "
	    "manifests, found %zu documents", ndocs);
	for (i = 0; i < ndocs; i++) {
		root = yaml_document_get_root_node(&docs[i].doc);
		cr_assert_eq(root->type, YAML_MAPPING_NODE, "%s: not a mapping",
		    docs[i].file);
		for (j = 0; j < sizeof(fields) / sizeof(fields[0]); j++) {
			cr_assert(ystr(ypath(&docs[i], root, fields[j])) !=
			    NULL && *ystr(ypath(&docs[i], root, fields[j])) !=
			    '\0', "%s: no %s", docs[i].file, fields[j]);
		}
		cr_assert(strcmp(ystr(yget(&docs[i], root, "kind")),
		    "Secret") != 0, "%s: a Secret must not be committed",
		    docs[i].file);
	}
}

Test(deploy, service_objects_live_in_service_namespace)
{
	struct config	 cfg;
	const char	*kinds[] = { "Deployment", "Service" };
	const char	*key;
	struct obj	 o;
	size_t		 i;

	load_service_config(&cfg);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		o = find_kind(kinds[i]);
		cr_assert_str_eq(ystr(ypath(o.y, o.root, "metadata.namespace")),
		    cfg.monitoring.service_namespace, "%s: %s namespace",
		    o.y->file, kinds[i]);
	}
	o = config_map(find_kind("Deployment"), &key);
	cr_assert_str_eq(ystr(ypath(o.y, o.root, "metadata.namespace")),
	    cfg.monitoring.service_namespace, "%s: ConfigMap namespace",
	    o.y->file);
}

Test(deploy, probes_are_kore_routes_on_the_http_port)
{
	struct kore_conf	 kc;
	struct obj		 dep;
	yaml_node_t		*c, *port, *probe;
	const char		*probes[] = { "startupProbe", "livenessProbe",
				    "readinessProbe" };
	const char		*path;
	size_t			 i;

	load_kore_conf(&kc);
	dep = find_kind("Deployment");
	c = container(dep);

	port = named(dep.y, yget(dep.y, c, "ports"), "http");
	cr_assert_not_null(port, "%s: no container port named http",
	    dep.y->file);
	cr_assert_eq(ylong(yget(dep.y, port, "containerPort")), kc.port,
	    "%s: containerPort %s, %s binds %ld", dep.y->file,
	    ystr(yget(dep.y, port, "containerPort")), KORE_CONF, kc.port);

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		probe = ypath(dep.y, c, probes[i]);
		cr_assert_not_null(probe, "%s: no %s", dep.y->file, probes[i]);
		path = ystr(ypath(dep.y, probe, "httpGet.path"));
		cr_assert_not_null(path, "%s: %s is not httpGet", dep.y->file,
		    probes[i]);
		cr_assert_not_null(find_route(&kc, path), "%s: %s path %s is "
		    "not a GET route of %s", dep.y->file, probes[i], path,
		    KORE_CONF);
		cr_assert_str_eq(ystr(ypath(dep.y, probe, "httpGet.port")),
		    "http", "%s: %s port", dep.y->file, probes[i]);
	}
	cr_assert_str_eq(ystr(ypath(dep.y, c, "livenessProbe.httpGet.path")),
	    "/actuator/health/liveness");
	cr_assert_str_eq(ystr(ypath(dep.y, c, "readinessProbe.httpGet.path")),
	    "/actuator/health/readiness");
}

Test(deploy, pod_runs_unprivileged_on_a_read_only_root)
{
	struct obj	 dep;
	yaml_node_t	*pod, *c, *drop, *mount, *vol;
	const char	*profile;
	size_t		 i;
	int		 all;

	dep = find_kind("Deployment");
	pod = pod_spec(dep);
	c = container(dep);

	cr_assert(ytrue(ypath(dep.y, pod, "securityContext.runAsNonRoot")) ||
	    ytrue(ypath(dep.y, c, "securityContext.runAsNonRoot")),
	    "%s: runAsNonRoot", dep.y->file);
	cr_assert(ytrue(ypath(dep.y, c,
	    "securityContext.readOnlyRootFilesystem")),
	    "%s: readOnlyRootFilesystem", dep.y->file);
	cr_assert_str_eq(ystr(ypath(dep.y, c,
	    "securityContext.allowPrivilegeEscalation")), "false",
	    "%s: allowPrivilegeEscalation", dep.y->file);

	drop = ypath(dep.y, c, "securityContext.capabilities.drop");
	for (i = 0, all = 0; i < ylen(drop); i++)
		all |= strcmp(ystr(yat(dep.y, drop, i)), "ALL") == 0;
	cr_assert(all, "%s: capabilities must drop ALL", dep.y->file);

	profile = ystr(ypath(dep.y, c, "securityContext.seccompProfile.type"));
	if (profile == NULL)
		profile = ystr(ypath(dep.y, pod,
		    "securityContext.seccompProfile.type"));
	cr_assert_not_null(profile, "%s: no seccompProfile", dep.y->file);
	cr_assert_str_eq(profile, "RuntimeDefault");

	/* The single binary writes its conf and pidfile to /tmp. */
	mount = NULL;
	for (i = 0; i < ylen(yget(dep.y, c, "volumeMounts")); i++) {
		mount = yat(dep.y, yget(dep.y, c, "volumeMounts"), i);
		if (strcmp(ystr(yget(dep.y, mount, "mountPath")), "/tmp") == 0)
			break;
		mount = NULL;
	}
	cr_assert_not_null(mount, "%s: /tmp must be a writable volume",
	    dep.y->file);
	cr_assert(!ytrue(yget(dep.y, mount, "readOnly")));
	vol = named(dep.y, yget(dep.y, pod, "volumes"),
	    ystr(yget(dep.y, mount, "name")));
	cr_assert_not_null(yget(dep.y, vol, "emptyDir"),
	    "%s: /tmp must be an emptyDir", dep.y->file);

	cr_assert_not_null(ypath(dep.y, c, "resources.requests.cpu"));
	cr_assert_not_null(ypath(dep.y, c, "resources.requests.memory"));
	cr_assert_not_null(ypath(dep.y, c, "resources.limits.memory"));
	cr_assert_not_null(ypath(dep.y, c, "resources.limits.cpu"));
}

Test(deploy, grace_period_outlasts_the_consumer_close)
{
	struct obj	dep;
	long		grace, need_ms;

	dep = find_kind("Deployment");
	grace = ylong(yget(dep.y, pod_spec(dep),
	    "terminationGracePeriodSeconds"));
	cr_assert_gt(grace, 0, "%s: no terminationGracePeriodSeconds",
	    dep.y->file);

	/* preStop, then the last batch, then leaving the group. */
	need_ms = prestop_sleep(dep) * 1000 + CONSUMER_BATCH_MS +
	    CONSUMER_SESSION_MS;
	cr_assert_gt(grace * 1000, need_ms, "%s: terminationGracePeriodSeconds "
	    "%ld s does not cover preStop + a batch + session.timeout.ms "
	    "(%ld ms)", dep.y->file, grace, need_ms);
}

Test(deploy, secrets_come_from_the_documented_secret)
{
	struct config	 cfg;
	struct obj	 dep;
	yaml_node_t	*db, *token;
	char		*readme, want[256];
	const char	*secret;

	load_service_config(&cfg);
	dep = find_kind("Deployment");
	db = env_secret(dep, cfg.postgres.dsn_env);
	token = env_secret(dep, TOKEN_ENV);
	secret = ystr(yget(dep.y, db, "name"));
	cr_assert_str_eq(ystr(yget(dep.y, token, "name")), secret,
	    "%s: both secrets from one Secret", dep.y->file);

	readme = slurp(README);
	(void)snprintf(want, sizeof(want), "create secret generic %s ",
	    secret);
	cr_assert_not_null(strstr(readme, want), "%s: no `kubectl %s...`",
	    README, want);
	(void)snprintf(want, sizeof(want), "--from-literal=%s=",
	    ystr(yget(dep.y, db, "key")));
	cr_assert_not_null(strstr(readme, want), "%s: no %s", README, want);
	(void)snprintf(want, sizeof(want), "--from-literal=%s=",
	    ystr(yget(dep.y, token, "key")));
	cr_assert_not_null(strstr(readme, want), "%s: no %s", README, want);
	free(readme);
}

Test(deploy, configmap_is_mounted_where_SAGA_TRACKER_CONFIG_points)
{
	struct obj	 cm;
	const char	*key;

	cm = config_map(find_kind("Deployment"), &key);
	cr_assert_not_null(ystr(yget(cm.y, yget(cm.y, cm.root, "data"), key)),
	    "%s: ConfigMap %s has no key %s", cm.y->file,
	    ystr(ypath(cm.y, cm.root, "metadata.name")), key);
}

Test(deploy, configmap_yaml_is_the_service_config_but_brokers)
{
	struct config	 want, got;
	struct ydoc	 a, b;
	struct obj	 cm;
	char		 tmp[] = "/tmp/test_deploy.XXXXXX", err[CONFIG_ERR_MAX];
	const char	*text, *key;
	int		 fd;

	cm = config_map(find_kind("Deployment"), &key);
	text = ystr(yget(cm.y, yget(cm.y, cm.root, "data"), key));
	cr_assert_not_null(text);

	/* The service's own loader accepts it. */
	fd = mkstemp(tmp);
	cr_assert_neq(fd, -1, "mkstemp");
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	(void)close(fd);
	load_service_config(&want);
	cr_assert_eq(config_load(&got, tmp, err, sizeof(err)), 0,
	    "%s: the ConfigMap's %s is refused: %s", cm.y->file, key, err);
	(void)unlink(tmp);
	cr_assert_neq(got.kafka.brokers[0], '\0', "%s: kafka.brokers must "
	    "name the cluster's brokers (\"\" is the local dev broker)",
	    cm.y->file);
	cr_assert_str_eq(got.monitoring.service_namespace,
	    want.monitoring.service_namespace);
	cr_assert_str_eq(got.monitoring.job, want.monitoring.job);
	cr_assert_str_eq(got.kafka.topic, want.kafka.topic);
	cr_assert_str_eq(got.kafka.group, want.kafka.group);
	cr_assert_str_eq(got.postgres.dsn_env, want.postgres.dsn_env);

	/* Key by key, the same document but for kafka.brokers. */
	ydoc_load_text(&a, text);
	ydoc_load(&b, SERVICE_YAML);
	cr_assert(ynode_eq_except(&a, a.root, &b, b.root, "kafka.brokers"),
	    "%s: %s differs from %s in a key other than kafka.brokers",
	    cm.y->file, key, SERVICE_YAML);
	ydoc_free(&a);
	ydoc_free(&b);
}

Test(deploy, service_selects_the_pods_and_the_monitor_selects_it)
{
	struct config	 cfg;
	struct obj	 dep, svc, sm;
	yaml_node_t	*pod_labels, *port, *names, *ep;
	struct kore_conf kc;
	size_t		 i;
	int		 ns_ok;

	load_service_config(&cfg);
	load_kore_conf(&kc);
	dep = find_kind("Deployment");
	svc = find_kind("Service");
	sm = find_kind("ServiceMonitor");
	pod_labels = ypath(dep.y, dep.root, "spec.template.metadata.labels");

	cr_assert(labels_cover(dep.y, ypath(dep.y, dep.root,
	    "spec.selector.matchLabels"), dep.y, pod_labels),
	    "%s: selector does not match the pod labels", dep.y->file);
	cr_assert(labels_cover(svc.y, ypath(svc.y, svc.root, "spec.selector"),
	    dep.y, pod_labels), "%s: selector does not match the pods of %s",
	    svc.y->file, dep.y->file);
	cr_assert_str_eq(ystr(yget(svc.y, ypath(svc.y, svc.root,
	    "metadata.labels"), NAME_LABEL)), APP_NAME);

	port = named(svc.y, ypath(svc.y, svc.root, "spec.ports"), "http");
	cr_assert_not_null(port, "%s: no port named http", svc.y->file);
	cr_assert_str_eq(ystr(yget(svc.y, port, "targetPort")), "http",
	    "%s: targetPort must be the container port name", svc.y->file);
	cr_assert_eq(ylong(yget(svc.y, port, "port")), kc.port);

	/* The generated ServiceMonitor finds it. */
	cr_assert(labels_cover(sm.y, ypath(sm.y, sm.root,
	    "spec.selector.matchLabels"), svc.y, ypath(svc.y, svc.root,
	    "metadata.labels")), "%s does not select the Service of %s",
	    sm.y->file, svc.y->file);
	names = ypath(sm.y, sm.root, "spec.namespaceSelector.matchNames");
	for (i = 0, ns_ok = 0; i < ylen(names); i++)
		ns_ok |= strcmp(ystr(yat(sm.y, names, i)), ystr(ypath(svc.y,
		    svc.root, "metadata.namespace"))) == 0;
	cr_assert(ns_ok, "%s: namespaceSelector misses %s", sm.y->file,
	    ystr(ypath(svc.y, svc.root, "metadata.namespace")));
	cr_assert_geq(ylen(ypath(sm.y, sm.root, "spec.endpoints")), 1);
	for (i = 0; i < ylen(ypath(sm.y, sm.root, "spec.endpoints")); i++) {
		ep = yat(sm.y, ypath(sm.y, sm.root, "spec.endpoints"), i);
		cr_assert_str_eq(ystr(yget(sm.y, ep, "port")), "http");
		cr_assert_not_null(find_route(&kc, ystr(yget(sm.y, ep,
		    "path"))), "%s: scrape path %s is not a route",
		    sm.y->file, ystr(yget(sm.y, ep, "path")));
	}
}

Test(deploy, image_is_this_version)
{
	struct obj	 dep;
	char		*version, want[128];

	dep = find_kind("Deployment");
	version = slurp(VERSION_FILE);
	version[strcspn(version, " \t\r\n")] = '\0';
	(void)snprintf(want, sizeof(want), "%s:%s", APP_NAME, version);
	cr_assert_str_eq(ystr(yget(dep.y, container(dep), "image")), want,
	    "%s: image (what `make image` tags)", dep.y->file);
	free(version);
}

/* ---------------------------------------------------------------- */
/* Dockerfile								*/

Test(deploy, dockerfile_stages_are_bookworm_and_build_the_binary)
{
	struct dockerfile	 df;
	char			 image[128];
	size_t			 i;
	int			 builds;

	load_dockerfile(&df);
	cr_assert_geq(df.nstages, 2, "%s: expected a build and a final stage",
	    DOCKERFILE);
	for (i = 0, builds = 0; i < df.ninsns; i++) {
		if (strcmp(df.insns[i].cmd, "FROM") == 0) {
			(void)snprintf(image, sizeof(image), "%s",
			    df.insns[i].args);
			image[strcspn(image, " \t@")] = '\0';
			cr_assert(strcmp(image, "debian:bookworm") == 0 ||
			    strcmp(image, "debian:bookworm-slim") == 0,
			    "%s: FROM %s is not Debian bookworm", DOCKERFILE,
			    image);
		}
		if (strcmp(df.insns[i].cmd, "RUN") == 0 &&
		    df.insns[i].stage < df.nstages - 1 &&
		    (strstr(df.insns[i].args, "make prod") != NULL ||
		    strstr(df.insns[i].args, "kodev build") != NULL))
			builds = 1;
		cr_assert(strcmp(df.insns[i].cmd, "HEALTHCHECK") != 0,
		    "%s: no HEALTHCHECK: Kubernetes probes the service",
		    DOCKERFILE);
	}
	cr_assert(builds, "%s: no build stage runs make prod or kodev build",
	    DOCKERFILE);
	dockerfile_free(&df);
}

Test(deploy, dockerfile_final_stage_runs_unprivileged)
{
	struct dockerfile	 df;
	struct kore_conf	 kc;
	struct obj		 dep;
	const struct insn	*user, *entry, *expose;
	json_t			*argv, *v;
	json_error_t		 jerr;
	char			 uid[64], flags[64];
	size_t			 i;
	int			 last;

	load_dockerfile(&df);
	load_kore_conf(&kc);
	last = df.nstages - 1;

	user = last_insn(&df, last, "USER");
	cr_assert_not_null(user, "%s: the final stage has no USER",
	    DOCKERFILE);
	(void)snprintf(uid, sizeof(uid), "%s", user->args);
	uid[strcspn(uid, ": \t")] = '\0';
	cr_assert(uid[0] != '\0' && strspn(uid, "0123456789") ==
	    strlen(uid), "%s: USER %s must be numeric (runAsNonRoot can only "
	    "verify a numeric user)", DOCKERFILE, uid);
	cr_assert_neq(strtol(uid, NULL, 10), 0, "%s: USER is root",
	    DOCKERFILE);
	dep = find_kind("Deployment");
	if (ypath(dep.y, pod_spec(dep), "securityContext.runAsUser") != NULL)
		cr_assert_str_eq(ystr(ypath(dep.y, pod_spec(dep),
		    "securityContext.runAsUser")), uid, "%s: runAsUser and "
		    "the image's USER differ", dep.y->file);

	entry = last_insn(&df, last, "ENTRYPOINT");
	cr_assert_not_null(entry, "%s: no ENTRYPOINT", DOCKERFILE);
	argv = json_loads(entry->args, 0, &jerr);
	cr_assert(json_is_array(argv), "%s: ENTRYPOINT must be the exec "
	    "(JSON) form: %s", DOCKERFILE, jerr.text);
	flags[0] = '\0';
	json_array_foreach(argv, i, v) {
		if (i > 0 && json_string_value(v) != NULL &&
		    json_string_value(v)[0] == '-')
			append(flags, sizeof(flags),
			    json_string_value(v) + 1);
	}
	cr_assert(strchr(flags, 'f') != NULL && strchr(flags, 'n') != NULL &&
	    strchr(flags, 'r') != NULL, "%s: ENTRYPOINT needs -f -n -r "
	    "(foreground, no chroot, no privilege drop)", DOCKERFILE);
	json_decref(argv);

	expose = last_insn(&df, last, "EXPOSE");
	cr_assert_not_null(expose, "%s: no EXPOSE", DOCKERFILE);
	cr_assert_eq(strtol(expose->args, NULL, 10), kc.port,
	    "%s: EXPOSE %s, %s binds %ld", DOCKERFILE, expose->args,
	    KORE_CONF, kc.port);
	dockerfile_free(&df);
}

/*
 * The Dockerfile builds with `make prod`; the conf that build bakes in
 * must answer on the pod address and keep its pidfile under /tmp.
 */
Test(deploy, prod_build_bakes_a_container_conf)
{
	FILE		*fp;
	char		 line[512];
	int		 bind, pid, load, built;
	size_t		 i;
	struct dockerfile df;

	load_dockerfile(&df);
	for (i = 0, built = 0; i < df.ninsns; i++) {
		if (df.insns[i].stage != df.nstages - 1 &&
		    strcmp(df.insns[i].cmd, "RUN") == 0 &&
		    strstr(df.insns[i].args, "make prod") != NULL)
			built = 1;
	}
	dockerfile_free(&df);
	cr_assert(built, "%s: the build stage must run `make prod`",
	    DOCKERFILE);

	fp = fopen(PROD_CONF, "r");
	cr_assert_not_null(fp, "%s: run `make prod` first", PROD_CONF);
	bind = pid = load = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		bind |= strstr(line, "bind") != NULL &&
		    strstr(line, "0.0.0.0") != NULL;
		pid |= strncmp(line, "pidfile", 7) == 0 &&
		    strstr(line, "/tmp/") != NULL;
		load |= strncmp(line, "load", 4) == 0;
	}
	fclose(fp);
	cr_assert(bind, "%s must bind 0.0.0.0", PROD_CONF);
	cr_assert(pid, "%s: the pidfile must go to /tmp (read-only root)",
	    PROD_CONF);
	cr_assert(!load, "%s: a single binary has no `load` line", PROD_CONF);
}

Test(deploy, dockerfile_final_stage_has_runtime_packages_only)
{
	struct dockerfile	df;
	struct pkglist		pl;
	size_t			i, j, l;

	load_dockerfile(&df);
	apt_packages(&df, df.nstages - 1, &pl);
	cr_assert_gt(pl.n, 0, "%s: the final stage installs nothing",
	    DOCKERFILE);
	for (i = 0; i < pl.n; i++) {
		l = strlen(pl.names[i]);
		cr_assert(!(l > 4 && strcmp(pl.names[i] + l - 4, "-dev") == 0),
		    "%s: %s in the final stage", DOCKERFILE, pl.names[i]);
		for (j = 0; build_only[j] != NULL; j++) {
			cr_assert_str_neq(pl.names[i], build_only[j],
			    "%s: %s in the final stage", DOCKERFILE,
			    pl.names[i]);
		}
	}
	dockerfile_free(&df);
}

Test(deploy, dockerfile_runtime_packages_provide_every_library)
{
	struct dockerfile	 df;
	struct pkglist		 listed, closure;
	static char		 paths[LIBS_MAX][PATH_MAX];
	static char		 owners[LIBS_MAX][NAME_MAX_LEN];
	static char		 needed[LIBS_MAX][NAME_MAX_LEN];
	const char		*bin, *base;
	size_t			 n, nneeded, i, j;

	bin = binary_path();
	cr_log_info("checking the libraries of %s", bin);
	load_dockerfile(&df);
	apt_packages(&df, df.nstages - 1, &listed);
	closure = listed;
	dependency_closure(&closure);

	n = ldd_paths(bin, paths, LIBS_MAX);
	nneeded = needed_names(bin, needed, LIBS_MAX);
	owner_packages(paths, n, owners);

	for (i = 0; i < n; i++) {
		base = strrchr(paths[i], '/') + 1;
		cr_assert_neq(owners[i][0], '\0', "%s: no package owns %s",
		    bin, paths[i]);
		/* libc6 (libc, libm, ld.so...) is in every base image. */
		if (strcmp(owners[i], "libc6") == 0)
			continue;
		for (j = 0; j < nneeded; j++) {
			if (strcmp(needed[j], base) == 0)
				break;
		}
		if (j < nneeded) {
			cr_assert(pkg_listed(&listed, owners[i]), "%s links %s "
			    "(package %s): install it in the final stage of %s",
			    bin, base, owners[i], DOCKERFILE);
		} else {
			cr_assert(pkg_listed(&closure, owners[i]), "%s needs "
			    "%s (package %s), which no package installed in "
			    "the final stage of %s depends on", bin, base,
			    owners[i], DOCKERFILE);
		}
	}
	dockerfile_free(&df);
}
