/*
 * duration: the spans of time the configuration file writes, as text.
 *
 * This module owns two syntaxes.  A duration is Prometheus's: one or
 * more <digits><unit> with the units d, h, m and s, each at most once
 * and largest first ("90s", "5m", "1h30m", "1d"), or a bare "0"; it is
 * a whole number of seconds that fits an unsigned int.  The alert
 * windows, holds and retention ages are durations, and the monitoring
 * generator prints them back into the rules it writes, so
 * duration_format() writes the canonical form that duration_parse()
 * reads back to the same value (5400 -> "1h30m", 0 -> "0s").
 *
 * A latency is <digits>[.<digits>] followed by ms, s or m ("250ms",
 * "0.5s", "30s", "2m"): a threshold of the latency SLOs, which are
 * bucket bounds and so need fractions of a second.  It must be more
 * than 0 and at most a day.
 *
 * The parsers return 0, or -1 and leave the output untouched; they say
 * nothing more, so each caller words its own message.  Depends on
 * nothing.
 */

#ifndef SAGA_DURATION_H
#define SAGA_DURATION_H

#include <stddef.h>

int	duration_parse(const char *text, unsigned int *seconds);
/* Write seconds as the shortest duration; truncated to fit len. */
void	duration_format(unsigned int seconds, char *buf, size_t len);
int	duration_parse_latency(const char *text, double *seconds);

#endif /* !SAGA_DURATION_H */
