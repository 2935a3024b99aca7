/*
 * monitoring-runbooks: what the two runbook modules share, the
 * configuration's names, the alerts and SLOs as built for the rules,
 * and the sections every runbook has (header, access, tuning).
 *
 *	monitoring-runbook-sections.c	the sections every runbook has
 *	monitoring-runbooks.c		the four alerts of the design
 *	monitoring-runbooks-more.c	the alerts of issue 15 and the SLO
 *					burn-rate alerts
 *
 * Both alert modules use the sections; only monitoring-runbooks.c calls
 * monitoring-runbooks-more.c, so the modules form no cycle.
 */

#ifndef SAGA_MONITORING_RUNBOOKS_H
#define SAGA_MONITORING_RUNBOOKS_H

#include "monitoring.h"

struct rb {
	const struct config	*cfg;
	struct mon_alert	 alerts[ALERT_COUNT];
	struct mon_slo		 slos[SLO_COUNT];
	const char		*ns;
	const char		*job;
	const char		*topic;
	const char		*group;
};

/* monitoring-runbook-sections.c */
struct strbuf	*rb_new(const struct rb *, struct mon_output *, const char *,
		    const char *, const char *);
struct strbuf	*rb_open(struct rb *, struct mon_output *, const char *,
		    enum mon_alert_id, const char *);
void		 rb_access(struct strbuf *, const struct rb *);
void		 rb_tuning(struct strbuf *, const struct rb *,
		    const char *);

/* monitoring-runbooks-more.c */
void		 mon_runbooks_render_more(struct rb *, struct mon_output *,
		    const char *);

#endif
