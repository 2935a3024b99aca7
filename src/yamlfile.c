/*
 * yamlfile: a YAML file read into one libyaml document (see yamlfile.h).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "errmsg.h"
#include "xalloc.h"
#include "yamlfile.h"

static int	read_file(const char *, char **, size_t *, char *, size_t);
static int	check_file(const char *, FILE *, struct stat *, char *,
		    size_t);
static int	compose(struct yamlfile *, const char *, const char *,
		    size_t, char *, size_t);
static int	extra_document(yaml_parser_t *, const char *,
		    const char *, char *, size_t);
static int	syntax_error(const char *, const char *,
		    yaml_parser_t *, char *, size_t);
static void	offset_mark(const char *, size_t, size_t, size_t *,
		    size_t *);

int
yamlfile_load(struct yamlfile *yf, const char *path, char *err,
    size_t errlen)
{
	char		*text;
	size_t		len;
	int		rc;

	text = NULL;
	len = 0;
	if (read_file(path, &text, &len, err, errlen) == -1)
		return (-1);
	rc = compose(yf, path, text, len, err, errlen);
	free(text);

	return (rc);
}

void
yamlfile_free(struct yamlfile *yf)
{
	yaml_document_delete(&yf->doc);
	yf->root = NULL;
}

static int
read_file(const char *path, char **out, size_t *outlen, char *err,
    size_t errlen)
{
	FILE		*fp;
	struct stat	st;
	char		*buf;
	size_t		len;

	if ((fp = fopen(path, "r")) == NULL) {
		return (errmsg_set(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno)));
	}

	if (check_file(path, fp, &st, err, errlen) == -1) {
		(void)fclose(fp);
		return (-1);
	}

	buf = xmalloc((size_t)st.st_size + 1, "YAML file");
	len = fread(buf, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		(void)errmsg_set(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		free(buf);
		(void)fclose(fp);
		return (-1);
	}

	(void)fclose(fp);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;

	return (0);
}

static int
check_file(const char *path, FILE *fp, struct stat *st, char *err,
    size_t errlen)
{
	if (fstat(fileno(fp), st) == -1) {
		return (errmsg_set(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno)));
	}
	if (S_ISDIR(st->st_mode)) {
		return (errmsg_set(err, errlen, "%s: cannot open: %s", path,
		    strerror(EISDIR)));
	}
	if (!S_ISREG(st->st_mode)) {
		return (errmsg_set(err, errlen,
		    "%s: cannot open: not a regular file", path));
	}
	if (st->st_size > YAMLFILE_MAX) {
		return (errmsg_set(err, errlen, "%s: too large (%lld bytes, at "
		    "most %d)", path, (long long)st->st_size, YAMLFILE_MAX));
	}

	return (0);
}

/* The one document of text into yf; a second one is an error. */
static int
compose(struct yamlfile *yf, const char *file, const char *text, size_t len,
    char *err, size_t errlen)
{
	yaml_parser_t	parser;
	int		rc;

	if (!yaml_parser_initialize(&parser))
		xalloc_fail("YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

	if (!yaml_parser_load(&parser, &yf->doc)) {
		rc = syntax_error(file, text, &parser, err, errlen);
		yaml_parser_delete(&parser);
		return (rc);
	}

	rc = extra_document(&parser, file, text, err, errlen);
	yaml_parser_delete(&parser);
	if (rc == -1) {
		yaml_document_delete(&yf->doc);
		return (-1);
	}

	yf->root = yaml_document_get_root_node(&yf->doc);
	return (0);
}

static int
extra_document(yaml_parser_t *parser, const char *file,
    const char *text, char *err, size_t errlen)
{
	yaml_document_t	doc;
	yaml_node_t	*root;
	int		rc;

	if (!yaml_parser_load(parser, &doc))
		return (syntax_error(file, text, parser, err, errlen));

	rc = 0;
	if ((root = yaml_document_get_root_node(&doc)) != NULL) {
		rc = errmsg_set(err, errlen,
		    "%s:%zu:%zu: only one YAML document is allowed", file,
		    doc.start_mark.line + 1, doc.start_mark.column + 1);
	}
	yaml_document_delete(&doc);

	return (rc);
}

static int
syntax_error(const char *file, const char *text, yaml_parser_t *p,
    char *err, size_t errlen)
{
	size_t		line, col;

	if (p->error == YAML_MEMORY_ERROR)
		xalloc_fail("YAML document");

	if (p->error == YAML_READER_ERROR) {
		/* The reader decodes ahead: locate the byte ourselves. */
		offset_mark(text, strlen(text), p->problem_offset, &line, &col);
		return (errmsg_set(err, errlen, "%s:%zu:%zu: syntax error: %s",
		    file, line, col, p->problem ? p->problem : "bad input"));
	}

	line = p->problem_mark.line + 1;
	col = p->problem_mark.column + 1;
	if (p->context == NULL) {
		return (errmsg_set(err, errlen, "%s:%zu:%zu: syntax error: %s",
		    file, line, col, p->problem ? p->problem : "bad input"));
	}

	return (errmsg_set(err, errlen,
	    "%s:%zu:%zu: syntax error: %s (%s at %zu:%zu)",
	    file, line, col, p->problem ? p->problem : "bad input",
	    p->context, p->context_mark.line + 1,
	    p->context_mark.column + 1));
}

static void
offset_mark(const char *text, size_t len, size_t offset, size_t *line,
    size_t *col)
{
	size_t		i;

	*line = 1;
	*col = 1;
	for (i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}
