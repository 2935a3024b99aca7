/*
 * yamlwalk: a walk through a libyaml document that knows where it is.
 *
 * This module owns the wording of what is wrong with a document's nodes
 * and where: "file:line:column: key.path: problem", the line and column
 * 1-based from the node's start mark, the key path the walk has come
 * down ("alerts.failure_spike.for", "routing.critical[1]").  What a node
 * should be is the caller's (config.c and its key tables): it pushes a
 * key or an index before it looks at a node and pops it after, and asks
 * for the node as a scalar, a number or a list, each of which is either
 * there or a message naming the node.
 *
 * The document's own conventions live here too, so that every key reads
 * them alike: a plain "", "~" or null (also Null, NULL) is no value,
 * a number is a plain scalar ("10", "0.5", "1e3", never the quoted
 * "10"), a scalar with a NUL byte is refused, and a value quoted into a
 * message is cut at 48 bytes with anything unprintable shown as '?'.
 *
 * Functions that fail return -1 after writing the message to err (err
 * may be NULL), so a caller returns what they return.  Depends on
 * libyaml only.
 */

#ifndef SAGA_YAMLWALK_H
#define SAGA_YAMLWALK_H

#include <stddef.h>

#include <yaml.h>

#define YAMLWALK_PATH_MAX	128
#define YAMLWALK_QUOTE_MAX	48
/* The longest problem; the message adds the file, position and path. */
#define YAMLWALK_PROBLEM_MAX	512

struct yamlwalk {
	const char	*file;
	yaml_document_t	*doc;
	char		*err;
	size_t		 errlen;
	char		 path[YAMLWALK_PATH_MAX];	/* "": the root */
	char		 quoted[YAMLWALK_QUOTE_MAX + 32];
};

void		 yamlwalk_init(struct yamlwalk *w, const char *file,
		    yaml_document_t *doc, char *err, size_t errlen);

/* Add a key or [index] to the path; yamlwalk_pop() takes what returns. */
size_t		 yamlwalk_push_key(struct yamlwalk *w, const char *name,
		    size_t len);
size_t		 yamlwalk_push_index(struct yamlwalk *w, size_t index);
void		 yamlwalk_pop(struct yamlwalk *w, size_t saved);

/* The problem at node, with the position and the path: always -1. */
int		 yamlwalk_error(struct yamlwalk *w, const yaml_node_t *node,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "missing value (expected X)" or "expected X, got Y": always -1. */
int		 yamlwalk_type_error(struct yamlwalk *w,
		    const yaml_node_t *node, const char *expected);

int		 yamlwalk_scalar(struct yamlwalk *w, const yaml_node_t *node,
		    const char *expected, const char **value);
int		 yamlwalk_number(struct yamlwalk *w, const yaml_node_t *node,
		    double *value);
/* A list of min to max items, called what in the message. */
int		 yamlwalk_sequence(struct yamlwalk *w,
		    const yaml_node_t *node, const char *what,
		    unsigned long min, unsigned long max);

int		 yamlwalk_is_null(const yaml_node_t *node);
/* Whether an earlier key of map equals the key of pair. */
int		 yamlwalk_key_is_duplicate(struct yamlwalk *w,
		    const yaml_node_t *map, const yaml_node_pair_t *pair);

/* For a message; valid until the next call of either on w. */
const char	*yamlwalk_describe(struct yamlwalk *w,
		    const yaml_node_t *node);
const char	*yamlwalk_quote(struct yamlwalk *w, const char *s);

#endif /* !SAGA_YAMLWALK_H */
