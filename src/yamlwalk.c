/*
 * yamlwalk: a walk through a libyaml document that knows where it is
 * (see yamlwalk.h).
 */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yamlwalk.h"

static void	quote_at(char *, size_t, const char *);
static int	is_number(const char *);

void
yamlwalk_init(struct yamlwalk *w, const char *file, yaml_document_t *doc,
    char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->file = file;
	w->doc = doc;
	w->err = err;
	w->errlen = errlen;
}

size_t
yamlwalk_push_key(struct yamlwalk *w, const char *name, size_t len)
{
	size_t		saved, off, i;

	saved = strlen(w->path);
	off = saved;
	if (off > 0 && off < sizeof(w->path) - 1)
		w->path[off++] = '.';

	for (i = 0; i < len && off < sizeof(w->path) - 1; i++)
		w->path[off++] =
		    isprint((unsigned char)name[i]) ? name[i] : '?';
	w->path[off] = '\0';

	return (saved);
}

size_t
yamlwalk_push_index(struct yamlwalk *w, size_t index)
{
	size_t		saved;

	saved = strlen(w->path);
	(void)snprintf(w->path + saved, sizeof(w->path) - saved, "[%zu]",
	    index);

	return (saved);
}

void
yamlwalk_pop(struct yamlwalk *w, size_t saved)
{
	w->path[saved] = '\0';
}

int
yamlwalk_error(struct yamlwalk *w, const yaml_node_t *node,
    const char *fmt, ...)
{
	va_list		args;
	char		msg[YAMLWALK_PROBLEM_MAX];

	if (w->err == NULL || w->errlen == 0)
		return (-1);

	va_start(args, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);

	if (w->path[0] == '\0') {
		(void)snprintf(w->err, w->errlen, "%s:%zu:%zu: %s", w->file,
		    node->start_mark.line + 1, node->start_mark.column + 1,
		    msg);
	} else {
		(void)snprintf(w->err, w->errlen, "%s:%zu:%zu: %s: %s",
		    w->file, node->start_mark.line + 1,
		    node->start_mark.column + 1, w->path, msg);
	}

	return (-1);
}

int
yamlwalk_type_error(struct yamlwalk *w, const yaml_node_t *v,
    const char *expected)
{
	if (yamlwalk_is_null(v))
		return (yamlwalk_error(w, v, "missing value (expected %s)",
		    expected));

	return (yamlwalk_error(w, v, "expected %s, got %s", expected,
	    yamlwalk_describe(w, v)));
}

int
yamlwalk_scalar(struct yamlwalk *w, const yaml_node_t *v,
    const char *expected, const char **out)
{
	if (v->type != YAML_SCALAR_NODE || yamlwalk_is_null(v))
		return (yamlwalk_type_error(w, v, expected));

	if (strlen((const char *)v->data.scalar.value) !=
	    v->data.scalar.length) {
		return (yamlwalk_error(w, v, "bad value: must not contain "
		    "NUL bytes"));
	}

	*out = (const char *)v->data.scalar.value;
	return (0);
}

int
yamlwalk_number(struct yamlwalk *w, const yaml_node_t *v, double *out)
{
	const char	*s;
	double		d;

	if (yamlwalk_scalar(w, v, "a number", &s) == -1)
		return (-1);

	if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !is_number(s))
		return (yamlwalk_type_error(w, v, "a number"));

	errno = 0;
	d = strtod(s, NULL);
	if (errno == ERANGE || !isfinite(d))
		return (yamlwalk_error(w, v, "number out of range, got %s", s));

	*out = d;
	return (0);
}

int
yamlwalk_sequence(struct yamlwalk *w, const yaml_node_t *v, const char *what,
    unsigned long min, unsigned long max)
{
	size_t		count;

	if (v->type != YAML_SEQUENCE_NODE)
		return (yamlwalk_type_error(w, v, "a list"));

	count = (size_t)(v->data.sequence.items.top -
	    v->data.sequence.items.start);
	if (count < min || count > max) {
		return (yamlwalk_error(w, v, "must have %lu to %lu %s, got %zu",
		    min, max, what, count));
	}

	return (0);
}

int
yamlwalk_is_null(const yaml_node_t *v)
{
	const char	*s;

	if (v->type != YAML_SCALAR_NODE ||
	    v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (0);

	s = (const char *)v->data.scalar.value;
	return (strcmp(s, "") == 0 || strcmp(s, "~") == 0 ||
	    strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0);
}

int
yamlwalk_key_is_duplicate(struct yamlwalk *w, const yaml_node_t *map,
    const yaml_node_pair_t *pair)
{
	const yaml_node_pair_t	*prev;
	const yaml_node_t	*k, *pk;

	k = yaml_document_get_node(w->doc, pair->key);
	for (prev = map->data.mapping.pairs.start; prev < pair; prev++) {
		pk = yaml_document_get_node(w->doc, prev->key);
		if (pk->type == YAML_SCALAR_NODE &&
		    pk->data.scalar.length == k->data.scalar.length &&
		    memcmp(pk->data.scalar.value, k->data.scalar.value,
		    k->data.scalar.length) == 0)
			return (1);
	}

	return (0);
}

const char *
yamlwalk_describe(struct yamlwalk *w, const yaml_node_t *v)
{
	static const char	prefix[] = "the quoted string ";

	switch (v->type) {
	case YAML_MAPPING_NODE:
		return ("a mapping");
	case YAML_SEQUENCE_NODE:
		return ("a list");
	case YAML_SCALAR_NODE:
		break;
	default:
		return ("nothing");
	}

	if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return (yamlwalk_quote(w, (const char *)v->data.scalar.value));

	memcpy(w->quoted, prefix, sizeof(prefix) - 1);
	quote_at(w->quoted + sizeof(prefix) - 1,
	    sizeof(w->quoted) - (sizeof(prefix) - 1),
	    (const char *)v->data.scalar.value);

	return (w->quoted);
}

const char *
yamlwalk_quote(struct yamlwalk *w, const char *s)
{
	quote_at(w->quoted, sizeof(w->quoted), s);
	return (w->quoted);
}

/* Quote s for a message: bounded, non-printable bytes shown as '?'. */
static void
quote_at(char *dst, size_t len, const char *s)
{
	size_t		i, off;

	if (len < YAMLWALK_QUOTE_MAX + 6) {
		dst[0] = '\0';
		return;
	}

	off = 0;
	dst[off++] = '\'';
	for (i = 0; s[i] != '\0' && i < YAMLWALK_QUOTE_MAX; i++)
		dst[off++] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(dst + off, "...", 3);
		off += 3;
	}
	dst[off++] = '\'';
	dst[off] = '\0';
}

/* [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)? */
static int
is_number(const char *s)
{
	size_t		digits;

	if (*s == '+' || *s == '-')
		s++;

	for (digits = 0; isdigit((unsigned char)*s); s++)
		digits++;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++)
			digits++;
	}
	if (digits == 0)
		return (0);

	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return (0);
		while (isdigit((unsigned char)*s))
			s++;
	}

	return (*s == '\0');
}
