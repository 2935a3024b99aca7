/*
 * deadletter: the invalid payloads of a batch into saga_event_rejected.
 * See deadletter.h.
 *
 * A dead letter's columns travel as a VALUES list, six parameters a
 * row, the raw payload as a binary bytea parameter (it need not be
 * text, nor UTF-8); the time it was received as UTC milliseconds,
 * converted on the server, exactly, by MS_TO_TS.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "batch.h"
#include "deadletter.h"
#include "saga.h"
#include "storeconn.h"
#include "storeconn_private.h"
#include "xalloc.h"

#define DEADLETTER_PARAMS	6
#define DEADLETTER_CHUNK	1000	/* rows per insert_rejected */

/* One insert_rejected statement: a VALUES row per dead letter. */
struct reject_params {
	char			 *sql;
	const char		**values;
	int			 *lengths;
	int			 *formats;
	char			(*nums)[STORE_NUM_LEN];
};

static const char sql_reject_head[] =
	"INSERT INTO saga_event_rejected (raw, reason, detail,"
	" kafka_partition, kafka_offset, received_at) "
	"SELECT v.raw, v.reason, v.detail, v.part, v.off, "
	MS_TO_TS("v.received") " FROM (VALUES ";

static const char sql_reject_tail[] =
	") AS v(raw, reason, detail, part, off, received) "
	"ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING "
	"RETURNING kafka_partition, kafka_offset";

static int	 insert_chunk(struct store *, struct batch *, size_t,
		    size_t, char *, size_t);
static char	*reject_sql(size_t);
static void	 reject_params_free(struct reject_params *);
static void	 reject_params_row(struct reject_params *, size_t,
		    const struct item *);
static void	 reject_params_build(struct reject_params *,
		    const struct batch *, size_t, size_t);

int
deadletter_insert(struct store *s, struct batch *b, char *err, size_t errlen)
{
	size_t		i, start, rows;

	for (start = 0; start < b->nbad; start = i) {
		/* A chunk of first occurrences; repeats are left out. */
		for (rows = 0, i = start; i < b->nbad && rows <
		    DEADLETTER_CHUNK; i++) {
			if (!b->bad[i]->dup)
				rows++;
		}
		if (rows > 0 && insert_chunk(s, b, start, rows, err,
		    errlen) == -1)
			return (-1);
	}

	return (0);
}

static char *
reject_sql(size_t rows)
{
	char		*sql;
	size_t		 i, cap, len;
	int		 p;

	cap = sizeof(sql_reject_head) + sizeof(sql_reject_tail) + rows * 128;
	sql = xmalloc(cap, "reject_sql");

	len = (size_t)snprintf(sql, cap, "%s", sql_reject_head);
	for (i = 0; i < rows; i++) {
		p = (int)(i * DEADLETTER_PARAMS);
		len += (size_t)snprintf(sql + len, cap - len,
		    "%s($%d::bytea, $%d::text, $%d::text, $%d::int4, "
		    "$%d::int8, $%d::int8)", i > 0 ? ", " : "",
		    p + 1, p + 2, p + 3, p + 4, p + 5, p + 6);
	}
	(void)snprintf(sql + len, cap - len, "%s", sql_reject_tail);

	return (sql);
}

static void
reject_params_free(struct reject_params *rp)
{
	free(rp->sql);
	free(rp->values);
	free(rp->lengths);
	free(rp->formats);
	free(rp->nums);
	memset(rp, 0, sizeof(*rp));
}

/* Parameters of row r: raw (binary), reason, detail, origin, time. */
static void
reject_params_row(struct reject_params *rp, size_t r, const struct item *it)
{
	const struct store_msg	*m;
	size_t			 k;

	m = it->msg;
	k = r * DEADLETTER_PARAMS;
	rp->values[k] = m->payload != NULL ? m->payload : "";
	rp->lengths[k] = (int)m->len;
	rp->formats[k] = 1;
	rp->values[k + 1] = saga_reject_reason_name(it->reason);
	rp->values[k + 2] = it->detail;

	(void)snprintf(rp->nums[3 * r], STORE_NUM_LEN, "%" PRId32,
	    m->partition);
	(void)snprintf(rp->nums[3 * r + 1], STORE_NUM_LEN, "%" PRId64,
	    m->offset);
	(void)snprintf(rp->nums[3 * r + 2], STORE_NUM_LEN, "%" PRId64,
	    m->received_ms);
	rp->values[k + 3] = rp->nums[3 * r];
	rp->values[k + 4] = rp->nums[3 * r + 1];
	rp->values[k + 5] = rp->nums[3 * r + 2];
}

/* Statement and parameters for `rows` first occurrences from bad[start]. */
static void
reject_params_build(struct reject_params *rp, const struct batch *b,
    size_t start, size_t rows)
{
	size_t		i, r, k;

	memset(rp, 0, sizeof(*rp));
	k = rows * DEADLETTER_PARAMS;
	rp->sql = reject_sql(rows);
	rp->values = xcalloc(k, sizeof(*rp->values), "insert_rejected");
	rp->lengths = xcalloc(k, sizeof(*rp->lengths), "insert_rejected");
	rp->formats = xcalloc(k, sizeof(*rp->formats), "insert_rejected");
	rp->nums = xcalloc(rows * 3, sizeof(*rp->nums), "insert_rejected");

	for (i = start, r = 0; r < rows; i++) {
		if (!b->bad[i]->dup)
			reject_params_row(rp, r++, b->bad[i]);
	}
}

/* Insert `rows` first occurrences from bad[start]; mark the new ones. */
static int
insert_chunk(struct store *s, struct batch *b, size_t start,
    size_t rows, char *err, size_t errlen)
{
	struct reject_params	 rp;
	PGresult		*res;
	struct item		*it;
	int			 j;

	reject_params_build(&rp, b, start, rows);

	res = store_query(s, "insert_rejected", rp.sql,
	    (int)(rows * DEADLETTER_PARAMS), rp.values, rp.lengths,
	    rp.formats, PGRES_TUPLES_OK, err, errlen);
	reject_params_free(&rp);
	if (res == NULL)
		return (-1);

	for (j = 0; j < PQntuples(res); j++) {
		it = batch_find_bad(b,
		    (int32_t)strtol(PQgetvalue(res, j, 0), NULL, 10),
		    strtoll(PQgetvalue(res, j, 1), NULL, 10));
		if (it != NULL)
			it->stored = 1;
	}
	PQclear(res);

	return (0);
}

