/*
 * metrics_render: the Prometheus text exposition (format 0.0.4) of the
 * metrics in the shared segment (metrics.h), for GET /actuator/prometheus.
 *
 * Every family has its HELP and TYPE lines, even without samples.  The
 * series of a labelled family are the ones used so far, in byte order of
 * their label values, the first label turning slowest, with the "other"
 * value sorted among them.  Histogram buckets are cumulative, and +Inf
 * equals _count.  Whole non-negative values below 2^53 are written as
 * integers, others in the shortest form that reads back as the same
 * double.  A scrape takes no lock: it sums the stripes with relaxed
 * loads while writers go on.
 *
 * It reads the segment only; safe from any thread of any process that
 * inherited it.  No kore dependency.
 */

#ifndef SAGA_METRICS_RENDER_H
#define SAGA_METRICS_RENDER_H

#include <stddef.h>

/*
 * The full exposition, text format 0.0.4, in a malloc'd buffer of *len
 * bytes (NUL terminated, not counted); the caller frees it.  NULL if
 * there is no segment (out of memory ends the process: xalloc.h).
 */
char	*metrics_render(size_t *len);

#endif /* !SAGA_METRICS_RENDER_H */
