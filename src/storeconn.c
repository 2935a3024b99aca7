/*
 * storeconn: the connection of a store, and the five ways the modules
 * above it run statements on it (storeconn_private.h).  See storeconn.h.
 *
 * The connection's options are set before the DSN's, which may override
 * them: a name that pg_stat_activity shows, a connect timeout, UTF-8,
 * and TCP keepalives, so that a server that went away under an idle
 * lane is noticed in about a minute, not at the kernel's two hours.
 */

#include <stdlib.h>

#include <libpq-fe.h>

#include "metrics.h"
#include "pgerr.h"
#include "schema.h"
#include "storeconn.h"
#include "storeconn_private.h"
#include "xalloc.h"

static void	store_notice(void *, const char *);

/* NOTICEs ("relation already exists, skipping") are not for stderr. */
static void
store_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

struct store *
store_open(const char *dsn, char *err, size_t errlen)
{
	struct store		*s;
	static const char *const keys[] = {
		"application_name", "connect_timeout", "client_encoding",
		"keepalives", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "dbname", NULL
	};
	const char		*values[] = {
		"saga-tracker", "10", "UTF8", "1", "30", "10", "3", dsn, NULL
	};

	s = xcalloc(1, sizeof(*s), "store_open");
	s->slot = &s->own;

	/* Keywords before dbname are defaults the DSN may override. */
	s->conn = PQconnectdbParams(keys, values, 1);
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
		pgerr_format(err, errlen, "connect: %s", s->conn != NULL ?
		    PQerrorMessage(s->conn) : "out of memory");
		store_close(s);
		return (NULL);
	}
	(void)PQsetNoticeProcessor(s->conn, store_notice, NULL);

	if (schema_migrate(s->conn, err, errlen) == -1) {
		store_close(s);
		return (NULL);
	}

	return (s);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;

	if (s->conn != NULL)
		PQfinish(s->conn);
	free(s);
}

void
store_expire_after(struct store *s, unsigned int seconds)
{
	s->expire_sec = seconds;
}

/*
 * Run one parameterised statement, observe its duration as query `name`
 * and check the result status.  NULL with "name: message" in err.
 */
PGresult *
store_query(struct store *s, const char *name, const char *sql, int nparams,
    const char *const *values, const int *lengths, const int *formats,
    ExecStatusType want, char *err, size_t errlen)
{
	PGresult	*res;
	double		 t0;

	t0 = metrics_now();
	res = PQexecParams(s->conn, sql, nparams, NULL, values, lengths,
	    formats, 0);
	metrics_db_observe(name, metrics_now() - t0);

	if (PQresultStatus(res) != want) {
		pgerr_format(err, errlen, "%s: %s", name,
		    PQerrorMessage(s->conn));
		PQclear(res);
		return (NULL);
	}

	return (res);
}

int
store_copy(struct store *s, const char *name, const char *sql,
    struct pgcopy *c, char *err, size_t errlen)
{
	char		msg[512];
	double		t0;
	int		rc;

	t0 = metrics_now();
	rc = pgcopy_send(s->conn, sql, c, msg, sizeof(msg));
	metrics_db_observe(name, metrics_now() - t0);
	if (rc == -1)
		pgerr_format(err, errlen, "%s: %s", name, msg);

	return (rc);
}

int
store_command(struct store *s, const char *name, const char *sql,
    char *err, size_t errlen)
{
	PGresult	*res;

	res = store_query(s, name, sql, 0, NULL, NULL, NULL, PGRES_COMMAND_OK,
	    err, errlen);
	if (res == NULL)
		return (-1);
	PQclear(res);

	return (0);
}

/* Reconnect a broken connection; end a transaction left open. */
int
store_usable(struct store *s, char *err, size_t errlen)
{
	if (PQstatus(s->conn) != CONNECTION_OK) {
		PQreset(s->conn);
		if (PQstatus(s->conn) != CONNECTION_OK) {
			pgerr_format(err, errlen, "reconnect: %s",
			    PQerrorMessage(s->conn));
			return (-1);
		}
	}

	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		store_rollback(s);

	return (0);
}

void
store_rollback(struct store *s)
{
	PGresult	*res;

	if (PQstatus(s->conn) != CONNECTION_OK)
		return;

	switch (PQtransactionStatus(s->conn)) {
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		res = PQexec(s->conn, "ROLLBACK");
		PQclear(res);
		break;
	default:
		break;
	}
}

int
store_ping(struct store *s)
{
	PGresult	*res;
	int		 tries;

	for (tries = 0; tries < 2; tries++) {
		if (store_usable(s, NULL, 0) == -1)
			return (-1);

		res = store_query(s, "ping", "SELECT 1", 0, NULL, NULL, NULL,
		    PGRES_TUPLES_OK, NULL, 0);
		if (res != NULL) {
			PQclear(res);
			return (0);
		}

		/* The server may have gone away under an idle connection. */
		PQreset(s->conn);
	}

	return (PQstatus(s->conn) == CONNECTION_OK ? 0 : -1);
}

void
store_fault(struct store *s, enum store_fault point)
{
	if (s->fault != NULL)
		s->fault(point, PQbackendPID(s->conn), PQsocket(s->conn),
		    s->fault_arg);
}

void
store_fault_hook(struct store *s,
    void (*hook)(enum store_fault, int, int, void *), void *arg)
{
	s->fault = hook;
	s->fault_arg = arg;
}

