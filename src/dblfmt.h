/*
 * dblfmt: the shortest decimal form of a double that reads back as the
 * very same double.
 *
 * The form is printf's %.Pg with the smallest precision P (1..17) for
 * which strtod() gives v back, so a value written by one part of the
 * service (a metric sample, an event's metadata, a generated alert
 * threshold) and read by any other is never rounded and never longer
 * than it needs to be.  NaN and the infinities are written "NaN",
 * "+Inf" and "-Inf", as the Prometheus text format spells them.
 *
 * Callers add their own conventions around it: the exposition writes
 * integers as integers, JSON appends ".0" to a real without a point,
 * the generated YAML writes integers plainly.  Depends on nothing.
 */

#ifndef SAGA_DBLFMT_H
#define SAGA_DBLFMT_H

#include <stddef.h>

/* Large enough for any value: sign, 17 digits, point, exponent. */
#define DBLFMT_MAX	32

/* Write v into buf (len bytes, at least DBLFMT_MAX); its length. */
size_t	dblfmt_shortest(char *buf, size_t len, double v);

#endif /* !SAGA_DBLFMT_H */
