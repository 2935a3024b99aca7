/*
 * pgcopy: binary COPY rows and their sending (see pgcopy.h; the format
 * is that of PostgreSQL's "COPY" page, "Binary Format").
 */

#include <stdio.h>
#include <string.h>

#include "pgbin.h"
#include "pgcopy.h"
#include "pgerr.h"

/* "PGCOPY\n\377\r\n\0", then the flags and the extension length. */
#define PGCOPY_SIGNATURE	"PGCOPY\n\377\r\n"
#define PGCOPY_SIGNATURE_LEN	11

/* What one PQputCopyData() call hands libpq. */
#define PGCOPY_CHUNK		65536

static int	pgcopy_data(PGconn *, const struct strbuf *);
static int	pgcopy_result(PGconn *, struct pgcopy *, char *, size_t);
static void	pgcopy_failed(struct pgcopy *, const PGresult *);

void
pgcopy_init(struct pgcopy *c, uint16_t nfields)
{
	memset(c, 0, sizeof(*c));
	strbuf_init(&c->buf, 4096);
	c->nfields = nfields;
	strbuf_add(&c->buf, PGCOPY_SIGNATURE, PGCOPY_SIGNATURE_LEN);
	pgbin_put32(&c->buf, 0);
	pgbin_put32(&c->buf, 0);
}

struct strbuf *
pgcopy_row(struct pgcopy *c)
{
	pgbin_put16(&c->buf, c->nfields);
	c->rows++;

	return (&c->buf);
}

/* The rows and the trailer, a chunk at a time.  0, or -1. */
static int
pgcopy_data(PGconn *conn, const struct strbuf *b)
{
	size_t		off, n;

	for (off = 0; off < b->len; off += n) {
		n = b->len - off < PGCOPY_CHUNK ? b->len - off : PGCOPY_CHUNK;
		if (PQputCopyData(conn, b->data + off, (int)n) != 1)
			return (-1);
	}

	return (0);
}

/* Keep the SQLSTATE of a failed result (none: the connection's). */
static void
pgcopy_failed(struct pgcopy *c, const PGresult *res)
{
	const char	*state;

	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	(void)snprintf(c->sqlstate, sizeof(c->sqlstate), "%s",
	    state != NULL ? state : "");
}

/* The COPY's result, then the end of results.  0, or -1 with err. */
static int
pgcopy_result(PGconn *conn, struct pgcopy *c, char *err, size_t errlen)
{
	PGresult	*res;
	int		 rc;

	rc = -1;
	if ((res = PQgetResult(conn)) != NULL &&
	    PQresultStatus(res) == PGRES_COMMAND_OK)
		rc = 0;
	else {
		pgerr_format(err, errlen, "%s", PQerrorMessage(conn));
		pgcopy_failed(c, res);
	}
	while (res != NULL) {
		PQclear(res);
		res = PQgetResult(conn);
	}

	return (rc);
}

int
pgcopy_send(PGconn *conn, const char *sql, struct pgcopy *c, char *err,
    size_t errlen)
{
	PGresult	*res;

	pgbin_put16(&c->buf, (uint16_t)-1);
	c->sqlstate[0] = '\0';

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		pgerr_format(err, errlen, "%s", PQerrorMessage(conn));
		pgcopy_failed(c, res);
		PQclear(res);
		return (-1);
	}
	PQclear(res);

	if (pgcopy_data(conn, &c->buf) == -1) {
		pgerr_format(err, errlen, "%s", PQerrorMessage(conn));
		(void)PQputCopyEnd(conn, "sending the rows failed");
		(void)pgcopy_result(conn, c, err, 0);
		return (-1);
	}
	if (PQputCopyEnd(conn, NULL) != 1) {
		pgerr_format(err, errlen, "%s", PQerrorMessage(conn));
		return (-1);
	}

	return (pgcopy_result(conn, c, err, errlen));
}

void
pgcopy_free(struct pgcopy *c)
{
	strbuf_free(&c->buf);
	memset(c, 0, sizeof(*c));
}
