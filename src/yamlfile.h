/*
 * yamlfile: a YAML file read into one libyaml document.
 *
 * This module owns everything between a path and a document whose nodes
 * know where they were written: opening and reading the file, and
 * composing its text with libyaml.  What the document means is the
 * caller's (config.c walks it against its key tables); the nodes keep
 * their start marks, so the caller can name the line and column of
 * whatever it refuses.
 *
 * A file must be a regular file of at most 1 MiB holding at most one
 * YAML document; an empty file, or one with only comments, holds none
 * (root is NULL) and is not an error.  Failures are messages in err:
 * "file: cannot open: why", "file: too large (...)" and, for the text,
 * "file:line:column: syntax error: what" or "file:line:column: only one
 * YAML document is allowed".  Lines and columns are 1-based; a column
 * counts characters, not bytes, also where libyaml's reader stops on a
 * byte that is not UTF-8.
 *
 * Running out of memory is not a fault of the file: it ends the process
 * (xalloc.h).  Depends on xalloc and libyaml only.
 */

#ifndef SAGA_YAMLFILE_H
#define SAGA_YAMLFILE_H

#include <stddef.h>

#include <yaml.h>

/* The largest file read, in bytes. */
#define YAMLFILE_MAX		(1024 * 1024)

struct yamlfile {
	yaml_document_t	 doc;
	yaml_node_t	*root;		/* NULL: the file holds no document */
};

/*
 * Read path into yf.  Returns 0, then yamlfile_free() releases yf; or
 * -1 with the message in err (errlen bytes; err may be NULL), and there
 * is nothing to release.
 */
int	yamlfile_load(struct yamlfile *yf, const char *path, char *err,
	    size_t errlen);
void	yamlfile_free(struct yamlfile *yf);

#endif /* !SAGA_YAMLFILE_H */
