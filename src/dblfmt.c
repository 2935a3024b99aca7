/*
 * dblfmt: shortest round-trip formatting of doubles (see dblfmt.h).
 *
 * Trying every precision from 1 costs up to 17 snprintf() and strtod()
 * calls per value, and the metrics exposition writes many values.  For
 * a normal double, %.15g reads back whenever a shorter precision does
 * (every decimal of up to DBL_DIG = 15 significant digits survives the
 * trip through a double, and rounding v to 15 digits then lands on that
 * same decimal), and %g drops the trailing zeros, so it already has
 * the digits of the shortest form.  Only its notation can differ: %g
 * switches to an exponent when the exponent reaches the precision, so
 * a value such as 1e+10 is written 10000000000 at precision 15.  Such
 * a result (no point, no exponent, a trailing zero) is written again
 * at its own number of significant digits.  Subnormals have fewer
 * bits than DBL_DIG assumes; they take the long way.
 */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dblfmt.h"

static int	dblfmt_digits(const char *);

/* Significant digits of a %g result in fixed notation without a point. */
static int
dblfmt_digits(const char *s)
{
	size_t		len;

	if (*s == '-')
		s++;
	len = strlen(s);
	while (len > 1 && s[len - 1] == '0')
		len--;

	return ((int)len);
}

size_t
dblfmt_shortest(char *buf, size_t len, double v)
{
	int		prec, n;

	if (isnan(v))
		n = snprintf(buf, len, "NaN");
	else if (isinf(v))
		n = snprintf(buf, len, "%sInf", v > 0 ? "+" : "-");
	else if (v != 0 && fabs(v) < DBL_MIN) {
		for (prec = 1; prec < 17; prec++) {
			n = snprintf(buf, len, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		n = snprintf(buf, len, "%.*g", prec, v);
	} else {
		n = snprintf(buf, len, "%.*g", DBL_DIG, v);
		if (strtod(buf, NULL) == v) {
			if (v != 0 && strpbrk(buf, ".e") == NULL &&
			    buf[n - 1] == '0')
				n = snprintf(buf, len, "%.*g",
				    dblfmt_digits(buf), v);
		} else {
			n = snprintf(buf, len, "%.*g", DBL_DIG + 1, v);
			if (strtod(buf, NULL) != v)
				n = snprintf(buf, len, "%.*g", DBL_DIG + 2, v);
		}
	}

	if (n < 0)
		n = 0;
	if (len == 0)
		return (0);
	if ((size_t)n >= len)
		n = (int)len - 1;

	return ((size_t)n);
}
