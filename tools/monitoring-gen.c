/*
 * monitoring-gen: monitoring as code for saga-tracker (issue #6).
 *
 *	monitoring-gen [-c config] [-o deploydir] [-r runbookdir]
 *
 * Reads the service's own configuration (default conf/saga-tracker.yaml)
 * with the service's own loader, src/config.c, so every threshold lives
 * in one place, and writes:
 *
 *	deploydir/kubernetes/prometheus-rules.yaml	  PrometheusRule
 *	deploydir/prometheus/saga-tracker-rules.yml	  same groups, plain
 *	deploydir/kubernetes/grafana-dashboard-configmap.yaml
 *	deploydir/kubernetes/service-monitor.yaml
 *	deploydir/alertmanager/alertmanager.yml
 *	runbookdir/<Alert>.md				  one per alert
 *
 * deploydir defaults to deploy, runbookdir to runbooks.  One line per
 * file written goes to stdout.  The output depends on the configuration
 * alone (no time stamps), so a fresh run over a checkout must change
 * nothing.  A configuration the service would refuse is refused with
 * the service's message, "file:line:col: key.path: what", and exit 1;
 * nothing is written then.
 */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "jsonalloc.h"
#include "monitoring.h"

#define DEFAULT_CONFIG		"conf/saga-tracker.yaml"
#define DEFAULT_DEPLOY_DIR	"deploy"
#define DEFAULT_RUNBOOK_DIR	"runbooks"

static void	usage(void) __attribute__((noreturn));
static int	render(const struct config *, struct mon_output *,
		    const char *, const char *, char *, size_t);

int
main(int argc, char *argv[])
{
	struct config		 cfg;
	struct mon_output	 out;
	const char		*path, *deploy, *runbooks;
	char			 err[MON_ERR_MAX];
	int			 ch, rc;

	path = DEFAULT_CONFIG;
	deploy = DEFAULT_DEPLOY_DIR;
	runbooks = DEFAULT_RUNBOOK_DIR;

	while ((ch = getopt(argc, argv, "c:o:r:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			deploy = optarg;
			break;
		case 'r':
			runbooks = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* The service's out-of-memory policy, jansson's allocations too. */
	jsonalloc_install();

	/* Exactly what the service prints when it refuses the file. */
	if (config_load(&cfg, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return (1);
	}

	mon_output_init(&out);
	rc = render(&cfg, &out, deploy, runbooks, err, sizeof(err));
	if (rc == 0)
		rc = mon_output_write(&out, err, sizeof(err));
	mon_output_free(&out);

	if (rc == -1) {
		fprintf(stderr, "monitoring-gen: %s\n", err);
		return (1);
	}

	return (0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: monitoring-gen [-c config] [-o deploydir] "
	    "[-r runbookdir]\n");
	exit(1);
}

static int
render(const struct config *cfg, struct mon_output *out, const char *deploy,
    const char *runbooks, char *err, size_t len)
{
	mon_rules_render(cfg, out, deploy);
	mon_dashboard_render(cfg, out, deploy);
	mon_scrape_render(cfg, out, deploy);
	if (mon_alertmanager_render(cfg, out, deploy, err, len) == -1)
		return (-1);
	mon_runbooks_render(cfg, out, runbooks);

	return (0);
}
