/*
 * yamldoc: YAML documents for the test suites: load a file or text,
 * walk by key, index and dotted path, compare nodes.
 *
 * A thin layer over libyaml's document API.  The loaders fail the
 * current Criterion test (cr_assert) on an unreadable file, a parse
 * error or an empty document; the walkers take and return NULL for
 * "absent", so lookups chain without checks in between.
 */

#ifndef SAGA_YAMLDOC_H
#define SAGA_YAMLDOC_H

#include <limits.h>
#include <stddef.h>

#include <yaml.h>

struct ydoc {
	yaml_document_t	 doc;
	yaml_node_t	*root;
	char		 file[PATH_MAX];	/* for messages */
};

void		 ydoc_load(struct ydoc *, const char *);
void		 ydoc_load_text(struct ydoc *, const char *);
size_t		 ydoc_load_all(struct ydoc *, size_t, const char *);
void		 ydoc_free(struct ydoc *);

yaml_node_t	*yget(struct ydoc *, yaml_node_t *, const char *);
yaml_node_t	*yat(struct ydoc *, yaml_node_t *, size_t);
yaml_node_t	*ypath(struct ydoc *, yaml_node_t *, const char *);
size_t		 ylen(const yaml_node_t *);
const char	*ystr(const yaml_node_t *);
int		 ytrue(const yaml_node_t *);
long		 ylong(const yaml_node_t *);

int		 ynode_eq(struct ydoc *, yaml_node_t *, struct ydoc *,
		    yaml_node_t *);
int		 ynode_eq_except(struct ydoc *, yaml_node_t *, struct ydoc *,
		    yaml_node_t *, const char *);

#endif /* SAGA_YAMLDOC_H */
