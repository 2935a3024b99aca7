/*
 * duration: durations ("1h30m") and latencies ("250ms") as written in
 * the configuration file (see duration.h).
 */

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

#define LATENCY_MAX_SEC		86400

struct duration_unit {
	char			unit;
	unsigned int		seconds;
};

/* Largest first; parsing requires units in this order. */
static const struct duration_unit duration_units[] = {
	{ 'd',	86400 },
	{ 'h',	3600 },
	{ 'm',	60 },
	{ 's',	1 },
};

#define DURATION_UNITS	\
    (sizeof(duration_units) / sizeof(duration_units[0]))

int
duration_parse(const char *text, unsigned int *seconds)
{
	const char		*p;
	unsigned long long	total, n;
	size_t			i, last;

	if (text == NULL || *text == '\0')
		return (-1);

	/* Zero needs no unit; any other bare number is an error. */
	if (strcmp(text, "0") == 0) {
		*seconds = 0;
		return (0);
	}

	total = 0;
	last = DURATION_UNITS;
	p = text;

	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return (-1);
		for (n = 0; isdigit((unsigned char)*p); p++) {
			n = n * 10 + (unsigned long long)(*p - '0');
			if (n > UINT_MAX)
				return (-1);
		}
		for (i = 0; i < DURATION_UNITS; i++) {
			if (duration_units[i].unit == *p)
				break;
		}
		/* Each unit once, largest first: "1h30m", never "30m1h". */
		if (i == DURATION_UNITS ||
		    (last != DURATION_UNITS && i <= last))
			return (-1);
		last = i;
		p++;
		total += n * duration_units[i].seconds;
		if (total > UINT_MAX)
			return (-1);
	}

	*seconds = (unsigned int)total;
	return (0);
}

void
duration_format(unsigned int seconds, char *buf, size_t len)
{
	size_t		i, off;
	unsigned int	v;
	int		n;

	if (buf == NULL || len == 0)
		return;

	if (seconds == 0) {
		(void)snprintf(buf, len, "0s");
		return;
	}

	buf[0] = '\0';
	off = 0;
	for (i = 0; i < DURATION_UNITS; i++) {
		v = seconds / duration_units[i].seconds;
		seconds %= duration_units[i].seconds;
		if (v == 0)
			continue;
		n = snprintf(buf + off, len - off, "%u%c", v,
		    duration_units[i].unit);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
}

/* digits [. digits] then ms, s or m; more than 0 and at most a day. */
int
duration_parse_latency(const char *text, double *seconds)
{
	char		num[32];
	size_t		len;
	double		d, scale;

	len = strspn(text, "0123456789.");
	if (len == 0 || len >= sizeof(num) ||
	    !isdigit((unsigned char)text[0]))
		return (-1);
	memcpy(num, text, len);
	num[len] = '\0';
	/* Digits and points, a digit first: a number has one point. */
	if (strchr(num, '.') != strrchr(num, '.'))
		return (-1);

	if (strcmp(text + len, "ms") == 0)
		scale = 0.001;
	else if (strcmp(text + len, "s") == 0)
		scale = 1;
	else if (strcmp(text + len, "m") == 0)
		scale = 60;
	else
		return (-1);

	d = strtod(num, NULL) * scale;
	if (!(d > 0) || d > LATENCY_MAX_SEC)
		return (-1);

	*seconds = d;
	return (0);
}
