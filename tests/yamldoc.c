/*
 * yamldoc: YAML documents for the test suites: load a file or text,
 * walk by key, index and dotted path, compare nodes (see yamldoc.h).
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <yaml.h>

#include "yamldoc.h"

static void	parse(struct ydoc *, yaml_parser_t *, const char *);
static int	node_eq(struct ydoc *, yaml_node_t *, struct ydoc *,
		    yaml_node_t *, int, const char *, const char *);
static int	map_eq_ordered(struct ydoc *, yaml_node_t *, struct ydoc *,
		    yaml_node_t *);
static int	map_eq_keyed(struct ydoc *, yaml_node_t *, struct ydoc *,
		    yaml_node_t *, const char *, const char *);

/* ---------------------------------------------------------------- */
/* loading								*/

/* The next document of parser into y; root is NULL at stream end. */
static void
parse(struct ydoc *y, yaml_parser_t *parser, const char *name)
{
	cr_assert(yaml_parser_load(parser, &y->doc), "%s:%zu:%zu: %s", name,
	    parser->problem_mark.line + 1, parser->problem_mark.column + 1,
	    parser->problem != NULL ? parser->problem : "?");
	(void)snprintf(y->file, sizeof(y->file), "%s", name);
	y->root = yaml_document_get_root_node(&y->doc);
}

/* The first document of text; it must not be empty. */
void
ydoc_load_text(struct ydoc *y, const char *text)
{
	yaml_parser_t	parser;

	cr_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    strlen(text));
	parse(y, &parser, "<text>");
	yaml_parser_delete(&parser);
	cr_assert_not_null(y->root, "%s: empty YAML document", y->file);
}

/* The first document of the file at path; it must not be empty. */
void
ydoc_load(struct ydoc *y, const char *path)
{
	yaml_parser_t	 parser;
	FILE		*fp;

	fp = fopen(path, "r");
	cr_assert_not_null(fp, "%s: cannot open", path);
	cr_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_file(&parser, fp);
	parse(y, &parser, path);
	yaml_parser_delete(&parser);
	(void)fclose(fp);
	cr_assert_not_null(y->root, "%s: empty YAML document", path);
}

/*
 * Every document of the file at path into ys, at most max - 1 of them
 * (the end of the stream takes a slot too); how many.
 */
size_t
ydoc_load_all(struct ydoc *ys, size_t max, const char *path)
{
	yaml_parser_t	 parser;
	FILE		*fp;
	size_t		 n;

	fp = fopen(path, "r");
	cr_assert_not_null(fp, "%s: cannot open", path);
	cr_assert(yaml_parser_initialize(&parser));
	yaml_parser_set_input_file(&parser, fp);
	for (n = 0;; n++) {
		cr_assert_lt(n, max, "%s: too many documents", path);
		parse(&ys[n], &parser, path);
		if (ys[n].root == NULL) {
			ydoc_free(&ys[n]);
			break;
		}
	}
	yaml_parser_delete(&parser);
	(void)fclose(fp);

	return (n);
}

void
ydoc_free(struct ydoc *y)
{
	yaml_document_delete(&y->doc);
	y->root = NULL;
}

/* ---------------------------------------------------------------- */
/* walking: NULL in, NULL out						*/

/* The value of key in map, a mapping. */
yaml_node_t *
yget(struct ydoc *y, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return (NULL);
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&y->doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return (yaml_document_get_node(&y->doc, p->value));
	}

	return (NULL);
}

/* Item i of seq, a sequence. */
yaml_node_t *
yat(struct ydoc *y, yaml_node_t *seq, size_t i)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE || i >= ylen(seq))
		return (NULL);

	return (yaml_document_get_node(&y->doc,
	    seq->data.sequence.items.start[i]));
}

/*
 * "a.b.0.c": a part of digits indexes a sequence, any other part is a
 * mapping key (without dots).
 */
yaml_node_t *
ypath(struct ydoc *y, yaml_node_t *node, const char *path)
{
	char		 buf[256], *p, *part, *end;
	unsigned long	 i;

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return (NULL);
	p = buf;
	while (node != NULL && (part = strsep(&p, ".")) != NULL) {
		if (node->type == YAML_SEQUENCE_NODE &&
		    isdigit((unsigned char)*part)) {
			i = strtoul(part, &end, 10);
			node = *end == '\0' ? yat(y, node, i) : NULL;
		} else
			node = yget(y, node, part);
	}

	return (node);
}

/* The number of items of seq, a sequence; 0 for anything else. */
size_t
ylen(const yaml_node_t *seq)
{
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return (0);

	return ((size_t)(seq->data.sequence.items.top -
	    seq->data.sequence.items.start));
}

/* The value of a scalar. */
const char *
ystr(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return (NULL);

	return ((const char *)n->data.scalar.value);
}

int
ytrue(const yaml_node_t *n)
{
	return (ystr(n) != NULL && strcmp(ystr(n), "true") == 0);
}

/* A plain integer scalar, or -1. */
long
ylong(const yaml_node_t *n)
{
	const char	*s;
	char		*end;
	long		 v;

	if ((s = ystr(n)) == NULL || !isdigit((unsigned char)*s))
		return (-1);
	v = strtol(s, &end, 10);

	return (*end == '\0' ? v : -1);
}

/* ---------------------------------------------------------------- */
/* comparing								*/

/*
 * Deep equality of a and b.  Mappings pair up in order when ordered,
 * else by key (see map_eq_keyed() for skip and at).
 */
static int
node_eq(struct ydoc *ya, yaml_node_t *a, struct ydoc *yb, yaml_node_t *b,
    int ordered, const char *skip, const char *at)
{
	size_t		i;

	if (a == NULL || b == NULL || a->type != b->type)
		return (0);

	switch (a->type) {
	case YAML_SCALAR_NODE:
		return (strcmp(ystr(a), ystr(b)) == 0);
	case YAML_SEQUENCE_NODE:
		if (ylen(a) != ylen(b))
			return (0);
		for (i = 0; i < ylen(a); i++) {
			if (!node_eq(ya, yat(ya, a, i), yb, yat(yb, b, i),
			    ordered, skip, at))
				return (0);
		}
		return (1);
	case YAML_MAPPING_NODE:
		if (ordered)
			return (map_eq_ordered(ya, a, yb, b));
		return (map_eq_keyed(ya, a, yb, b, skip, at));
	default:
		return (0);
	}
}

/* Pair by pair: keys and values equal, in the same order. */
static int
map_eq_ordered(struct ydoc *ya, yaml_node_t *a, struct ydoc *yb,
    yaml_node_t *b)
{
	yaml_node_pair_t	*pa, *pb;

	pa = a->data.mapping.pairs.start;
	pb = b->data.mapping.pairs.start;
	if (a->data.mapping.pairs.top - pa != b->data.mapping.pairs.top - pb)
		return (0);
	for (; pa < a->data.mapping.pairs.top; pa++, pb++) {
		if (!node_eq(ya, yaml_document_get_node(&ya->doc, pa->key), yb,
		    yaml_document_get_node(&yb->doc, pb->key), 1, NULL, "") ||
		    !node_eq(ya, yaml_document_get_node(&ya->doc, pa->value),
		    yb, yaml_document_get_node(&yb->doc, pb->value), 1, NULL,
		    ""))
			return (0);
	}

	return (1);
}

/*
 * Key by key (scalar keys only), in any order.  The key path skip
 * ("kafka.brokers"; sequence items add no part), if not NULL, is left
 * out but for its key; at is the path of a.
 */
static int
map_eq_keyed(struct ydoc *ya, yaml_node_t *a, struct ydoc *yb,
    yaml_node_t *b, const char *skip, const char *at)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;
	char			 sub[256];
	size_t			 na, nb;

	na = (size_t)(a->data.mapping.pairs.top - a->data.mapping.pairs.start);
	nb = (size_t)(b->data.mapping.pairs.top - b->data.mapping.pairs.start);
	for (p = a->data.mapping.pairs.start;
	    p < a->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&ya->doc, p->key);
		if (ystr(k) == NULL)
			return (0);
		(void)snprintf(sub, sizeof(sub), "%s%s%s", at,
		    *at != '\0' ? "." : "", ystr(k));
		if (skip != NULL && strcmp(sub, skip) == 0) {
			if (yget(yb, b, ystr(k)) == NULL)
				return (0);
			continue;
		}
		if (!node_eq(ya, yaml_document_get_node(&ya->doc, p->value),
		    yb, yget(yb, b, ystr(k)), 0, skip, sub))
			return (0);
	}

	return (na == nb);
}

/* Same structure and values, mapping keys in the same order. */
int
ynode_eq(struct ydoc *ya, yaml_node_t *a, struct ydoc *yb, yaml_node_t *b)
{
	return (node_eq(ya, a, yb, b, 1, NULL, ""));
}

/*
 * Same structure and values, mapping keys in any order, but for the
 * value at key path skip (e.g. "kafka.brokers"), which need only be
 * present in both.
 */
int
ynode_eq_except(struct ydoc *ya, yaml_node_t *a, struct ydoc *yb,
    yaml_node_t *b, const char *skip)
{
	return (node_eq(ya, a, yb, b, 0, skip, ""));
}
