/*
 * pgcopy: rows for COPY ... FROM STDIN in PostgreSQL's binary format,
 * built in memory, and the COPY that sends them.
 *
 * COPY writes rows in bulk: the server fills a heap page with several
 * rows at once and logs them as one record, where an INSERT of the same
 * rows takes them one by one.  The binary format needs no quoting and
 * no parsing of numbers or times: a signature and two int32 (flags,
 * header extension: 0), then per row an int16 field count and the
 * fields, each a value of pgbin.h, and an int16 -1 at the end.
 *
 * The caller appends exactly nfields values (pgbin.h) to the buffer
 * pgcopy_row() returns, in the column order of its COPY statement.
 * Memory running out ends the process (xalloc.h), as everywhere.
 */

#ifndef SAGA_PGCOPY_H
#define SAGA_PGCOPY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "strbuf.h"

/* SQLSTATE codes (PostgreSQL's "Error Codes" appendix). */
#define PGCOPY_UNIQUE_VIOLATION	"23505"

struct pgcopy {
	struct strbuf	 buf;
	uint16_t	 nfields;
	size_t		 rows;
	char		 sqlstate[6];	/* of the failure, "" if none */
};

/* An empty COPY of rows of nfields fields. */
void		 pgcopy_init(struct pgcopy *, uint16_t nfields);

/* Start a row: append its fields to the buffer returned. */
struct strbuf	*pgcopy_row(struct pgcopy *);

/*
 * Run sql, a COPY ... FROM STDIN (FORMAT binary), with the rows.  0, or
 * -1 with the server's message in err and its SQLSTATE in c->sqlstate
 * ("" when the connection failed): the COPY is then all undone, with
 * the transaction it is in.
 */
int		 pgcopy_send(PGconn *, const char *sql, struct pgcopy *,
		    char *err, size_t errlen);

void		 pgcopy_free(struct pgcopy *);

#endif /* !SAGA_PGCOPY_H */
