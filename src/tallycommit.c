/*
 * tallycommit: the COMMIT whose tally is counted exactly once, and the
 * resolution of one whose result was not seen.  See tallycommit.h.
 *
 * The token travels as a text parameter, an int8 in decimal: tokens
 * are random 64-bit values, stored as the signed int8 with the same
 * bits.
 */

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "outcome.h"
#include "pgarray.h"
#include "pgerr.h"
#include "pipeline.h"
#include "storeconn.h"
#include "storeconn_private.h"
#include "tallycommit.h"

static const char sql_insert_outcome[] =
	"INSERT INTO saga_batch_outcome (token, deltas) "
	"VALUES ($1::int8, $2::text)";

/* A tombstone, unless the token's transaction wrote the row (outcome.h). */
static const char sql_outcome_probe[] =
	"INSERT INTO saga_batch_outcome (token, deltas) "
	"VALUES ($1::int8, NULL) ON CONFLICT (token) DO NOTHING";

static const char sql_outcome_read[] =
	"SELECT deltas FROM saga_batch_outcome WHERE token = $1::int8";

static void	token_params(struct pgarray_params *, char *, size_t,
		    uint64_t, const char *);
static void	tallycommit_sent(void *);
static int	tallycommit_settle(struct store *, PGresult *, uint64_t, char *,
		    size_t);

/*
 * Queue the tally into p under a new token, unless it counts nothing,
 * and put the token in the slot: from now on the slot stands for the
 * COMMIT that follows (outcome.h).  t and num must live until p ran.
 */
void
tallycommit_queue(struct store *s, struct pipeline *p, struct outcome *o,
    struct pgarray_params *t, char *num, size_t numlen)
{
	uint64_t	token;

	if (outcome_empty(o))
		return;

	token = outcome_token_new();
	token_params(t, num, numlen, token, outcome_format(o));
	(void)pipeline_add(p, "insert_outcome", sql_insert_outcome, t,
	    PGRES_COMMAND_OK);
	atomic_store(&s->slot->token, token);
	store_fault(s, STORE_FAULT_COMMIT_SEND);
}

/* Add COMMIT to p and run it all; the fault hook sees it sent. */
int
tallycommit_run(struct store *s, struct pipeline *p, char *err, size_t errlen)
{
	int		rc;

	(void)pipeline_add(p, "commit", "COMMIT", NULL, PGRES_COMMAND_OK);
	if (s->fault != NULL) {
		p->sent = tallycommit_sent;
		p->sent_arg = s;
	}
	rc = pipeline_run(p, err, errlen);
	pipeline_clear(p);

	return (rc);
}

/*
 * A COMMIT's result was seen: count the tally, then forget the token.
 * Dying in between counts the tally again (outcome.h).
 */
void
tallycommit_counted(struct store *s, struct outcome *o)
{
	if (outcome_empty(o))
		return;

	store_fault(s, STORE_FAULT_COMMITTED);
	outcome_count(o);
	atomic_store(&s->slot->token, 0);
}

static void
tallycommit_sent(void *arg)
{
	struct store	*s = arg;

	if (atomic_load(&s->slot->token) != 0)
		store_fault(s, STORE_FAULT_COMMIT_SENT);
}

/* Text parameters $1 (the token, as int8) and $2 (may be NULL). */
static void
token_params(struct pgarray_params *x, char *num, size_t numlen,
    uint64_t token, const char *text)
{
	memset(x, 0, sizeof(*x));
	(void)snprintf(num, numlen, "%" PRId64, (int64_t)token);
	x->values[0] = num;
	x->values[1] = text;
	x->n = text != NULL ? 2 : 1;
}

/* outcome_read's answer: count what committed, forget the token. */
static int
tallycommit_settle(struct store *s, PGresult *res, uint64_t token, char *err,
    size_t errlen)
{
	struct outcome	o;
	int		rc;
	char		why[256];

	rc = 0;
	outcome_init(&o);
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		if ((rc = outcome_parse(&o, PQgetvalue(res, 0, 0), why,
		    sizeof(why))) == 0)
			outcome_count(&o);
		else
			pgerr_format(err, errlen, "outcome_read: token %" PRId64
			    ": not counted: %s", (int64_t)token, why);
	}
	outcome_free(&o);
	atomic_store(&s->slot->token, 0);

	return (rc);
}

/* If the slot holds a token, find out whether it committed. */
int
tallycommit_resolve(struct store *s, char *err, size_t errlen)
{
	struct pipeline		 p;
	struct pgarray_params	 t;
	uint64_t		 token;
	int			 rc, read;
	char			 num[STORE_NUM_LEN], why[512];

	if ((token = atomic_load(&s->slot->token)) == 0)
		return (0);

	token_params(&t, num, sizeof(num), token, NULL);
	pipeline_init(&p, s->conn);
	(void)pipeline_add(&p, "outcome_probe", sql_outcome_probe, &t,
	    PGRES_COMMAND_OK);
	read = pipeline_add(&p, "outcome_read", sql_outcome_read, &t,
	    PGRES_TUPLES_OK);
	if ((rc = pipeline_run(&p, why, sizeof(why))) == 0)
		rc = tallycommit_settle(s, p.stmts[read].res, token, err,
		    errlen);
	else
		pgerr_format(err, errlen, "%s (token %" PRId64 " of a COMMIT "
		    "not seen)", why, (int64_t)token);
	pipeline_clear(&p);

	return (rc);
}

int
store_outcome_slot(struct store *s, struct outcome_slot *slot, char *err,
    size_t errlen)
{
	s->slot = slot != NULL ? slot : &s->own;
	if (atomic_load(&s->slot->token) == 0)
		return (0);
	if (store_usable(s, err, errlen) == -1)
		return (-1);

	return (tallycommit_resolve(s, err, errlen));
}

