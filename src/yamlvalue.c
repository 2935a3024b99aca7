/*
 * yamlvalue: the typed scalars of the configuration file, read from
 * YAML nodes (see yamlvalue.h).
 */

#include <ctype.h>
#include <string.h>

#include <yaml.h>

#include "duration.h"
#include "yamlvalue.h"
#include "yamlwalk.h"

static int	has_control(const char *);

int
yamlvalue_string(struct yamlwalk *w, const yaml_node_t *v, char *dst,
    size_t size, yamlvalue_check check)
{
	const char	*s, *why;
	size_t		len;

	if (yamlwalk_scalar(w, v, "a string", &s) == -1)
		return (-1);

	len = v->data.scalar.length;
	if (len > size - 1) {
		return (yamlwalk_error(w, v,
		    "too long (%zu bytes, at most %zu)", len, size - 1));
	}
	if (has_control(s)) {
		return (yamlwalk_error(w, v, "bad value %s: must not "
		    "contain control characters", yamlwalk_quote(w, s)));
	}
	if (check != NULL && (why = check(s)) != NULL)
		return (yamlwalk_error(w, v, "bad value %s: %s",
		    yamlwalk_quote(w, s), why));

	memcpy(dst, s, len + 1);
	return (0);
}

/* Plain true or false only: YAML 1.1's yes/no/on/off are errors. */
int
yamlvalue_bool(struct yamlwalk *w, const yaml_node_t *v, int *dst)
{
	const char	*s;

	if (yamlwalk_scalar(w, v, "true or false", &s) == -1)
		return (-1);
	if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (strcmp(s, "true") != 0 && strcmp(s, "false") != 0))
		return (yamlwalk_type_error(w, v, "true or false"));

	*dst = strcmp(s, "true") == 0;
	return (0);
}

int
yamlvalue_uint(struct yamlwalk *w, const yaml_node_t *v, unsigned long min,
    unsigned long max, unsigned int *dst)
{
	const char		*s, *p;
	unsigned long long	n;

	if (yamlwalk_scalar(w, v, "an integer", &s) == -1)
		return (-1);

	p = s;
	if (*p == '+')
		p++;
	if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    !isdigit((unsigned char)*p))
		return (yamlwalk_type_error(w, v, "an integer"));

	/* Stop adding digits past max: no overflow, still out of range. */
	for (n = 0; isdigit((unsigned char)*p) && n <= max; p++)
		n = n * 10 + (unsigned long long)(*p - '0');
	while (isdigit((unsigned char)*p))
		p++;
	if (*p != '\0')
		return (yamlwalk_type_error(w, v, "an integer"));

	if (n < min || n > max) {
		return (yamlwalk_error(w, v,
		    "must be between %lu and %lu, got %s", min, max, s));
	}

	*dst = (unsigned int)n;
	return (0);
}

int
yamlvalue_positive(struct yamlwalk *w, const yaml_node_t *v, double *dst)
{
	double		d;

	if (yamlwalk_number(w, v, &d) == -1)
		return (-1);

	if (d <= 0) {
		return (yamlwalk_error(w, v,
		    "must be greater than 0, got %s",
		    (const char *)v->data.scalar.value));
	}

	*dst = d;
	return (0);
}

int
yamlvalue_duration(struct yamlwalk *w, const yaml_node_t *v,
    unsigned int min, unsigned int *dst)
{
	const char	*s;
	unsigned int	secs;
	char		least[32];

	if (yamlwalk_scalar(w, v, "a duration", &s) == -1)
		return (-1);

	if (duration_parse(s, &secs) == -1) {
		return (yamlwalk_error(w, v,
		    "bad duration %s (use e.g. 30s, 5m, 1h)",
		    yamlwalk_quote(w, s)));
	}

	if (secs < min) {
		duration_format(min, least, sizeof(least));
		return (yamlwalk_error(w, v,
		    "must be at least %s, got %s", least,
		    yamlwalk_quote(w, s)));
	}

	*dst = secs;
	return (0);
}

/* A percentage of good events: a number strictly between 0 and 100. */
int
yamlvalue_percent(struct yamlwalk *w, const yaml_node_t *v, double *dst)
{
	double		d;

	if (yamlwalk_number(w, v, &d) == -1)
		return (-1);

	if (d <= 0 || d >= 100) {
		return (yamlwalk_error(w, v, "must be a percentage "
		    "greater than 0 and less than 100, got %s",
		    (const char *)v->data.scalar.value));
	}

	*dst = d;
	return (0);
}

/* A latency threshold: 250ms, 0.5s, 30s, 2m. */
int
yamlvalue_latency(struct yamlwalk *w, const yaml_node_t *v, double *dst)
{
	const char	*s;
	double		d;

	if (yamlwalk_scalar(w, v, "a latency", &s) == -1)
		return (-1);

	if (duration_parse_latency(s, &d) == -1) {
		return (yamlwalk_error(w, v, "bad latency %s (use e.g. "
		    "250ms, 0.5s, 30s, 2m; greater than 0)",
		    yamlwalk_quote(w, s)));
	}

	*dst = d;
	return (0);
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (1);
	}

	return (0);
}
