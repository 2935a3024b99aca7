/*
 * Every manifest of deploy/ against the published schemas and types
 * (issue #16).  Run from the repository root after `make validate-deps`
 * (make test does it): Node and the npm packages of tests/validate.
 *
 *  - every .yaml of deploy/kubernetes/ (hand-written and generated) and
 *    deploy/secret.example.yaml: tests/validate/validate.mjs, the JSON
 *    schemas of kubernetes-models and @kubernetes-models/prometheus-
 *    operator (types, enums, patterns, required fields);
 *  - the same files: tests/validate/typecheck.mjs, `tsc --noEmit`
 *    against the kinds' TypeScript interfaces of the same packages (a
 *    field the kind does not have is refused, as kubectl's strict
 *    validation refuses it), and every dashboard in a ConfigMap against
 *    @grafana/schema's Dashboard type;
 *  - deploy/kustomization.yaml lists exactly the files of
 *    deploy/kubernetes/, and the Secret example is the Secret the
 *    Deployment reads (its name, namespace and keys);
 *  - mutated copies of each file (a field of the wrong type, a misspelt
 *    field; for the dashboard, inside its JSON) are refused, each with
 *    the diagnostic naming the mutation: the checks can fail.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <yaml.h>

#include "yamldoc.h"

#define K8S_GLOB	"deploy/kubernetes/*.yaml"
#define SECRET_EXAMPLE	"deploy/secret.example.yaml"
#define KUSTOMIZATION	"deploy/kustomization.yaml"
#define DEPLOYMENT	"deploy/kubernetes/deployment.yaml"
#define DASHBOARD	"deploy/kubernetes/grafana-dashboard-configmap.yaml"
#define VALIDATE	"tests/validate/validate.mjs"
#define TYPECHECK	"tests/validate/typecheck.mjs"
#define MUTATE		"tests/validate/mutate.mjs"
#define NODE_MODULES	"tests/validate/node_modules/.package-lock.json"
#define FILES_MAX	32
#define DOCS_MAX	8

/* One mutation: the file, where, the new value, which checker must
 * refuse the copy and what its line must say. */
struct mutation {
	const char	*file;
	const char	*path;
	const char	*json;
	const char	*checker;
	const char	*says;
	const char	*what;	/* the line's object, after the file name */
};

static const struct mutation mutations[] = {
	{ DEPLOYMENT, "spec/replicas", "\"two\"", VALIDATE,
	  "spec/replicas must be integer", "apps/v1 Deployment" },
	{ DEPLOYMENT, "spec/template/spec/containers/0/imagePulPolicy",
	  "\"Always\"", TYPECHECK, "'\"imagePulPolicy\"' does not exist",
	  "apps/v1 Deployment" },
	{ "deploy/kubernetes/service.yaml", "spec/ports/0/port", "\"http\"",
	  VALIDATE, "spec/ports/0/port must be integer", "v1 Service" },
	{ "deploy/kubernetes/service.yaml", "spec/selectr", "{}", TYPECHECK,
	  "'\"selectr\"' does not exist", "v1 Service" },
	{ "deploy/kubernetes/configmap.yaml", "data/saga-tracker.yaml", "5",
	  VALIDATE, "must be string", "v1 ConfigMap" },
	{ "deploy/kubernetes/configmap.yaml", "metadata/lables", "{}",
	  TYPECHECK, "'\"lables\"' does not exist", "v1 ConfigMap" },
	{ SECRET_EXAMPLE, "stringData/db-dsn", "5", VALIDATE,
	  "must be string", "v1 Secret" },
	{ SECRET_EXAMPLE, "stringdata", "{}", TYPECHECK,
	  "'\"stringdata\"' does not exist", "v1 Secret" },
	{ "deploy/kubernetes/prometheus-rules.yaml", "spec/groups/0/interval",
	  "\"five minutes\"", VALIDATE, "spec/groups/0/interval must match",
	  "monitoring.coreos.com/v1 PrometheusRule" },
	{ "deploy/kubernetes/prometheus-rules.yaml",
	  "spec/groups/0/rules/0/expresion", "\"up\"", TYPECHECK,
	  "'\"expresion\"' does not exist",
	  "monitoring.coreos.com/v1 PrometheusRule" },
	{ "deploy/kubernetes/service-monitor.yaml",
	  "spec/endpoints/0/interval", "\"fifteen\"", VALIDATE,
	  "spec/endpoints/0/interval must match",
	  "monitoring.coreos.com/v1 ServiceMonitor" },
	{ "deploy/kubernetes/service-monitor.yaml", "spec/endpoints/0/pth",
	  "\"/metrics\"", TYPECHECK, "'\"pth\"' does not exist",
	  "monitoring.coreos.com/v1 ServiceMonitor" },
	{ "deploy/kubernetes/alertmanager-config.yaml", "spec/route/groupBy",
	  "\"alertname\"", VALIDATE, "spec/route/groupBy must be array",
	  "monitoring.coreos.com/v1alpha1 AlertmanagerConfig" },
	{ "deploy/kubernetes/alertmanager-config.yaml", "spec/route/reciever",
	  "\"slack\"", TYPECHECK, "'\"reciever\"' does not exist",
	  "monitoring.coreos.com/v1alpha1 AlertmanagerConfig" },
	{ DASHBOARD, "data/saga-tracker.json#panels/0/gridPos/h", "\"8\"",
	  TYPECHECK, "Type 'string' is not assignable to type 'number'",
	  "v1 ConfigMap saga-tracker-dashboard saga-tracker.json" },
	{ DASHBOARD, "data/saga-tracker.json#panels/0/titel", "\"x\"",
	  TYPECHECK, "'\"titel\"' does not exist",
	  "v1 ConfigMap saga-tracker-dashboard saga-tracker.json" },
	{ DASHBOARD, "data/saga-tracker.json#graphTooltip", "7", TYPECHECK,
	  "Type '7' is not assignable to type",
	  "v1 ConfigMap saga-tracker-dashboard saga-tracker.json" },
	{ DASHBOARD, "data/saga-tracker.json#time/from", "false", TYPECHECK,
	  "Type 'boolean' is not assignable to type 'string'",
	  "v1 ConfigMap saga-tracker-dashboard saga-tracker.json" },
};

#define N_MUTATIONS	(sizeof(mutations) / sizeof(mutations[0]))

static char	tmpdir[64];

static void
setup(void)
{
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_manifests.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp");
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

static void
teardown(void)
{
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(manifests, .init = setup, .fini = teardown, .timeout = 300);

/* argv's exit status; its stdout in *out (malloc'd), stderr appended. */
static int
run(char *const argv[], char **out)
{
	char	 path[PATH_MAX];
	FILE	*fp;
	long	 len;
	pid_t	 pid;
	int	 status, fd;

	cr_assert_lt((size_t)snprintf(path, sizeof(path), "%s/out", tmpdir),
	    sizeof(path));
	pid = fork();
	cr_assert_neq(pid, -1, "fork");
	if (pid == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "%s: killed", argv[1]);
	cr_assert_neq(WEXITSTATUS(status), 127, "%s: cannot run", argv[0]);

	fp = fopen(path, "r");
	cr_assert_not_null(fp);
	cr_assert_eq(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	rewind(fp);
	*out = calloc(1, (size_t)len + 1);
	cr_assert_not_null(*out);
	cr_assert_eq(fread(*out, 1, (size_t)len, fp), (size_t)len);
	(void)fclose(fp);

	return (WEXITSTATUS(status));
}

/* node SCRIPT on files[0..n). */
static int
node(const char *script, char *const files[], size_t n, char **out)
{
	char	*argv[FILES_MAX + 3];
	size_t	 i;

	cr_assert_eq(access(NODE_MODULES, F_OK), 0, "the validator's "
	    "packages are missing: make validate-deps (make test does it)");
	cr_assert_leq(n, FILES_MAX);
	argv[0] = "node";
	argv[1] = (char *)script;
	for (i = 0; i < n; i++)
		argv[i + 2] = files[i];
	argv[n + 2] = NULL;

	return (run(argv, out));
}

/* The .yaml files of deploy/kubernetes/ and the Secret example. */
static size_t
manifests(glob_t *g, char *files[])
{
	size_t	 i;

	cr_assert_eq(glob(K8S_GLOB, 0, NULL, g), 0, "no %s", K8S_GLOB);
	cr_assert_lt(g->gl_pathc, FILES_MAX);
	for (i = 0; i < g->gl_pathc; i++)
		files[i] = g->gl_pathv[i];
	files[i++] = SECRET_EXAMPLE;

	return (i);
}

static size_t
count_lines(const char *text, const char *prefix)
{
	const char	*p;
	size_t		 n, len;

	len = strlen(prefix);
	for (n = 0, p = text; p != NULL && *p != '\0';
	    p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, len) == 0)
			n++;
	}

	return (n);
}

/* The line of out that starts with prefix, copied into line. */
static int
find_line(const char *out, const char *prefix, char *line, size_t len)
{
	const char	*p, *end;
	size_t		 n;

	for (p = out; p != NULL && *p != '\0';
	    p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		end = strchr(p, '\n');
		n = end ? (size_t)(end - p) : strlen(p);
		if (n >= len)
			n = len - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		return (1);
	}

	return (0);
}

static size_t
documents(char *const files[], size_t n)
{
	struct ydoc	 docs[DOCS_MAX];
	size_t		 i, j, k, total;

	for (total = 0, i = 0; i < n; i++) {
		k = ydoc_load_all(docs, DOCS_MAX, files[i]);
		for (j = 0; j < k; j++)
			ydoc_free(&docs[j]);
		total += k;
	}

	return (total);
}

Test(manifests, every_manifest_fits_its_published_schema)
{
	glob_t	 g;
	char	*files[FILES_MAX], *out;
	size_t	 n, docs;

	n = manifests(&g, files);
	docs = documents(files, n);
	cr_assert_geq(docs, 8, "expected the hand-written and the generated "
	    "manifests and the Secret example, found %zu documents", docs);
	cr_assert_eq(node(VALIDATE, files, n, &out), 0, "%s", out);
	cr_assert_eq(count_lines(out, "ok "), docs, "%s", out);
	free(out);
	globfree(&g);
}

Test(manifests, every_manifest_has_only_declared_fields_and_types)
{
	glob_t	 g;
	char	*files[FILES_MAX], *out, line[1024];
	size_t	 n, docs;

	n = manifests(&g, files);
	docs = documents(files, n);
	cr_assert_eq(node(TYPECHECK, files, n, &out), 0, "%s", out);
	/* Each object, and the dashboard inside its ConfigMap. */
	cr_assert_eq(count_lines(out, "ok "), docs + 1, "%s", out);
	cr_assert(find_line(out, "ok " DASHBOARD " v1 ConfigMap "
	    "saga-tracker-dashboard saga-tracker.json", line, sizeof(line)),
	    "the dashboard was not type-checked:\n%s", out);
	free(out);
	globfree(&g);
}

/* The example is the Secret the Deployment's secretKeyRefs read. */
Test(manifests, secret_example_is_the_secret_the_deployment_reads)
{
	struct ydoc	 dep, sec;
	yaml_node_t	*env, *ref, *data;
	const char	*name, *key;
	size_t		 i, refs;

	ydoc_load(&dep, DEPLOYMENT);
	ydoc_load(&sec, SECRET_EXAMPLE);
	cr_assert_str_eq(ystr(yget(&sec, sec.root, "kind")), "Secret");
	cr_assert_str_eq(ystr(ypath(&sec, sec.root, "metadata.namespace")),
	    ystr(ypath(&dep, dep.root, "metadata.namespace")),
	    "%s: not in the Deployment's namespace", SECRET_EXAMPLE);
	name = ystr(ypath(&sec, sec.root, "metadata.name"));
	data = yget(&sec, sec.root, "stringData");
	cr_assert_not_null(data, "%s: no stringData", SECRET_EXAMPLE);

	env = ypath(&dep, dep.root, "spec.template.spec.containers.0.env");
	for (refs = 0, i = 0; i < ylen(env); i++) {
		ref = ypath(&dep, yat(&dep, env, i), "valueFrom.secretKeyRef");
		if (ref == NULL)
			continue;
		refs++;
		cr_assert_str_eq(ystr(yget(&dep, ref, "name")), name,
		    "%s reads Secret %s, the example is %s", DEPLOYMENT,
		    ystr(yget(&dep, ref, "name")), name);
		key = ystr(yget(&dep, ref, "key"));
		cr_assert_not_null(yget(&sec, data, key), "%s: no key %s, "
		    "which %s reads", SECRET_EXAMPLE, key, DEPLOYMENT);
	}
	cr_assert_geq(refs, 1, "%s reads no Secret", DEPLOYMENT);
	cr_assert_eq(data->data.mapping.pairs.top -
	    data->data.mapping.pairs.start, (long)refs, "%s: keys the "
	    "Deployment does not read", SECRET_EXAMPLE);
	ydoc_free(&dep);
	ydoc_free(&sec);
}

/* kubectl apply -k deploy/ applies every manifest, and nothing else. */
Test(manifests, kustomization_lists_every_manifest_once)
{
	struct ydoc	 k;
	yaml_node_t	*res;
	glob_t		 g;
	char		 path[PATH_MAX];
	size_t		 i, j;
	int		 found;

	ydoc_load(&k, KUSTOMIZATION);
	cr_assert_str_eq(ystr(yget(&k, k.root, "apiVersion")),
	    "kustomize.config.k8s.io/v1beta1");
	cr_assert_str_eq(ystr(yget(&k, k.root, "kind")), "Kustomization");
	res = yget(&k, k.root, "resources");
	cr_assert_eq(glob(K8S_GLOB, 0, NULL, &g), 0);
	cr_assert_eq(ylen(res), g.gl_pathc, "%s: %zu resources, %zu files "
	    "match %s", KUSTOMIZATION, ylen(res), g.gl_pathc, K8S_GLOB);
	for (i = 0; i < g.gl_pathc; i++) {
		for (found = 0, j = 0; j < ylen(res); j++) {
			(void)snprintf(path, sizeof(path), "deploy/%s",
			    ystr(yat(&k, res, j)));
			found += strcmp(path, g.gl_pathv[i]) == 0;
		}
		cr_assert_eq(found, 1, "%s: %s listed %d times",
		    KUSTOMIZATION, g.gl_pathv[i], found);
	}
	globfree(&g);
	ydoc_free(&k);
}

/* Each mutated copy is refused, by the checker named, saying why. */
Test(manifests, mutated_manifests_and_dashboard_are_refused)
{
	char		 copies[N_MUTATIONS][PATH_MAX], *files[N_MUTATIONS];
	char		 prefix[PATH_MAX + 256], line[4096];
	char		*out[2], *argv[7];
	const char	*checkers[2] = { VALIDATE, TYPECHECK }, *base;
	size_t		 i, c, n;

	for (i = 0; i < N_MUTATIONS; i++) {
		base = strrchr(mutations[i].file, '/') + 1;
		cr_assert_lt((size_t)snprintf(copies[i], sizeof(copies[i]),
		    "%s/m%02zu-%s", tmpdir, i, base), sizeof(copies[i]));
		argv[0] = "node";
		argv[1] = MUTATE;
		argv[2] = (char *)mutations[i].file;
		argv[3] = copies[i];
		argv[4] = (char *)mutations[i].path;
		argv[5] = (char *)mutations[i].json;
		argv[6] = NULL;
		cr_assert_eq(run(argv, &out[0]), 0, "%s", out[0]);
		free(out[0]);
	}

	/* One run of each checker over every copy it must refuse. */
	for (c = 0; c < 2; c++) {
		for (n = 0, i = 0; i < N_MUTATIONS; i++) {
			if (strcmp(mutations[i].checker, checkers[c]) == 0)
				files[n++] = copies[i];
		}
		cr_assert_eq(node(checkers[c], files, n, &out[c]), 1,
		    "%s accepted every mutated copy:\n%s", checkers[c],
		    out[c]);
	}
	for (i = 0; i < N_MUTATIONS; i++) {
		c = strcmp(mutations[i].checker, VALIDATE) == 0 ? 0 : 1;
		cr_assert_lt((size_t)snprintf(prefix, sizeof(prefix),
		    "FAIL %s %s", copies[i], mutations[i].what),
		    sizeof(prefix));
		cr_assert(find_line(out[c], prefix, line, sizeof(line)),
		    "%s %s = %s was not refused by %s:\n%s",
		    mutations[i].file, mutations[i].path, mutations[i].json,
		    mutations[i].checker, out[c]);
		cr_assert_not_null(strstr(line, mutations[i].says),
		    "%s %s = %s: refused, but not saying \"%s\": %s",
		    mutations[i].file, mutations[i].path, mutations[i].json,
		    mutations[i].says, line);
	}
	free(out[0]);
	free(out[1]);
}
