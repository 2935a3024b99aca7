/*
 * rfc3339: RFC 3339 date-time text to and from UTC milliseconds since the
 * epoch.  See rfc3339.h for what is accepted.
 *
 * Owns: the proleptic Gregorian calendar arithmetic and the range of
 * instants that can be printed with a four-digit year.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rfc3339.h"

#define MS_PER_DAY		86400000LL
#define TIME_MIN		(-62135596800000LL)	/* 0001-01-01 */
#define TIME_MAX		253402300799999LL	/* 9999-12-31 */

struct time_parts {
	int			y;
	int			mo;
	int			d;
	int			h;
	int			mi;
	int			sec;
	int			frac;	/* milliseconds */
	int			off;	/* minutes east of UTC */
};

static int	is_year_leap(int);
static int	month_days(int, int);
static int64_t	days_since_year0(int, int, int);
static int	num(const char **, int, int *);
static int	sep(const char **, const char *);
static const char *parse_offset(const char **, int *);
static const char *time_syntax(const char *, struct time_parts *);
static const char *time_range(const struct time_parts *);

static const int cumulative_days[12] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
};

static int
is_year_leap(int y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

static int
month_days(int y, int m)
{
	if (m == 2)
		return (is_year_leap(y) ? 29 : 28);
	if (m == 4 || m == 6 || m == 9 || m == 11)
		return (30);

	return (31);
}

/* Days from 0000-01-01 (proleptic Gregorian) to y-m-d; y >= 0. */
static int64_t
days_since_year0(int y, int m, int d)
{
	int64_t		days, leaps;

	/* Leap years in [0, y): year 0 is one. */
	leaps = (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
	days = (int64_t)y * 365 + leaps + cumulative_days[m - 1] + d - 1;
	if (m > 2 && is_year_leap(y))
		days++;

	return (days);
}

/* Exactly n decimal digits. */
static int
num(const char **p, int n, int *v)
{
	*v = 0;
	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return (-1);
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}

	return (0);
}

/* One character out of set. */
static int
sep(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return (-1);
	(*p)++;

	return (0);
}

/* Z or +hh:mm / -hh:mm, as minutes east of UTC; NULL or the problem. */
static const char *
parse_offset(const char **p, int *minutes)
{
	int		sign, h, m;

	if (**p == '\0')
		return ("missing time offset (Z or +hh:mm)");
	if (sep(p, "Zz") == 0) {
		*minutes = 0;
		return (NULL);
	}

	sign = (**p == '-') ? -1 : 1;
	if (sep(p, "+-") == -1 || num(p, 2, &h) == -1 || sep(p, ":") == -1 ||
	    num(p, 2, &m) == -1)
		return ("expected time offset Z or +hh:mm");
	if (h > 23 || m > 59)
		return ("time offset out of range");

	*minutes = sign * (h * 60 + m);

	return (NULL);
}

/* Split an RFC 3339 date-time into its fields; NULL or the problem. */
static const char *
time_syntax(const char *s, struct time_parts *tp)
{
	const char	*p, *err;
	int		digits;

	p = s;
	tp->frac = 0;

	if (num(&p, 4, &tp->y) == -1 || sep(&p, "-") == -1 ||
	    num(&p, 2, &tp->mo) == -1 || sep(&p, "-") == -1 ||
	    num(&p, 2, &tp->d) == -1)
		return ("expected date YYYY-MM-DD");
	if (sep(&p, "Tt") == -1)
		return ("expected 'T' and a time after the date");
	if (num(&p, 2, &tp->h) == -1 || sep(&p, ":") == -1 ||
	    num(&p, 2, &tp->mi) == -1 || sep(&p, ":") == -1 ||
	    num(&p, 2, &tp->sec) == -1)
		return ("expected time hh:mm:ss");

	if (sep(&p, ".") == 0) {
		for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 3)
				tp->frac = tp->frac * 10 + (*p - '0');
		}
		if (digits == 0)
			return ("expected digits after '.'");
		for (; digits < 3; digits++)
			tp->frac *= 10;
	}

	if ((err = parse_offset(&p, &tp->off)) != NULL)
		return (err);
	if (*p != '\0')
		return ("unexpected characters after the time offset");

	return (NULL);
}

/* Calendar and clock ranges; NULL or the problem. */
static const char *
time_range(const struct time_parts *tp)
{
	int		utcmin;

	utcmin = ((tp->h * 60 + tp->mi - tp->off) % 1440 + 1440) % 1440;

	if (tp->mo < 1 || tp->mo > 12)
		return ("month out of range 01..12");
	if (tp->d < 1 || tp->d > month_days(tp->y, tp->mo))
		return ("day out of range for the month");
	if (tp->h > 23)
		return ("hour out of range 00..23");
	if (tp->mi > 59)
		return ("minute out of range 00..59");
	if (tp->sec > 60 || (tp->sec == 60 && utcmin != 1439))
		return ("second out of range 00..59");

	return (NULL);
}

/*
 * Parse an RFC 3339 date-time into UTC milliseconds since the epoch.
 * Returns 0, or -1 with *why (if not NULL) naming the problem.
 */
int
rfc3339_parse(const char *s, int64_t *ms, const char **why)
{
	struct time_parts	tp;
	const char		*err;
	int64_t			days, t;
	int			sec;

	if ((err = time_syntax(s, &tp)) == NULL)
		err = time_range(&tp);

	if (err == NULL) {
		/* A leap second counts as :59 of its minute. */
		sec = tp.sec == 60 ? 59 : tp.sec;
		days = days_since_year0(tp.y, tp.mo, tp.d) -
		    days_since_year0(1970, 1, 1);
		t = days * MS_PER_DAY + ((int64_t)(tp.h * 60 + tp.mi -
		    tp.off) * 60 + sec) * 1000 + tp.frac;
		if (t < TIME_MIN || t > TIME_MAX)
			err = "outside 0001-01-01..9999-12-31 in UTC";
	}

	if (err != NULL) {
		if (why != NULL)
			*why = err;
		return (-1);
	}
	*ms = t;

	return (0);
}

/*
 * Format UTC milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ".  Returns 0, or
 * -1 if buf is shorter than RFC3339_BUFLEN or the year is not 1..9999.
 */
int
rfc3339_format(int64_t ms, char *buf, size_t len)
{
	int64_t		days, rem;
	int		y, m;

	if (len < RFC3339_BUFLEN || ms < TIME_MIN || ms > TIME_MAX)
		return (-1);

	days = ms / MS_PER_DAY;
	rem = ms % MS_PER_DAY;
	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	days += days_since_year0(1970, 1, 1);

	y = (int)(days * 400 / 146097);
	while (y < 9999 && days_since_year0(y + 1, 1, 1) <= days)
		y++;
	while (y > 0 && days_since_year0(y, 1, 1) > days)
		y--;
	days -= days_since_year0(y, 1, 1);

	for (m = 1; m < 12 && days >= month_days(y, m); m++)
		days -= month_days(y, m);

	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    y, m, (int)days + 1, (int)(rem / 3600000),
	    (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
	    (int)(rem % 1000));

	return (0);
}
