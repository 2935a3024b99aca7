/*
 * storeconn: a store, the PostgreSQL connection of one applier lane, of
 * the consumer's gauge refresh or of an HTTP worker's manual PATCH.
 *
 * A struct store is one libpq connection, synchronous, used by one
 * thread at a time (a lane's, the consumer's, a handler's task, or a
 * test's).  It has no kore dependency.  Opening it applies the schema
 * migrations (schema.h), so whatever holds a store may write rows of the
 * current schema.  A connection that broke (the server restarted, a
 * network cut) is re-established at the start of the next statement's
 * call; a transaction left open by a failure is rolled back there too.
 *
 * What a store does lives in the modules above this one, each with its
 * own header: the batch transaction (store.h), the dead letters of a
 * batch (deadletter.h), the saga rows (sagarows.h), the manual
 * transition (transition.h), the gauge refresh (gauges.h) and the
 * COMMIT whose tally is counted exactly once (tallycommit.h).  They
 * reach the connection through the private header storeconn_private.h;
 * everything else holds a struct store only as a pointer, through this
 * header.
 */

#ifndef SAGA_STORECONN_H
#define SAGA_STORECONN_H

#include <stddef.h>

struct store;

/*
 * Connect (dsn is a libpq connection string or URI) and apply the schema
 * migrations (schema.h).  NULL with a message in err on failure.
 */
struct store	*store_open(const char *dsn, char *err, size_t errlen);
void		 store_close(struct store *);

/*
 * Events older than seconds, of sagas without a row, are rejected as
 * "expired" (store.h); 0, the default, keeps every event.
 */
void		 store_expire_after(struct store *, unsigned int seconds);

/*
 * Check the connection with a trivial query and reconnect if it is
 * broken.  Returns 0 if the store is usable now, -1 if not.
 */
int		 store_ping(struct store *);

/*
 * Tests only: hook is called at each point of a COMMIT that carries a
 * tally (tallycommit.h), with the backend's pid and the connection's
 * socket, so a test can drop the connection or end the process exactly
 * there.
 */
enum store_fault {
	STORE_FAULT_COMMIT_SEND,	/* token in the slot, COMMIT unsent */
	STORE_FAULT_COMMIT_SENT,	/* sent, no result read yet */
	STORE_FAULT_COMMITTED		/* COMMIT seen, not counted yet */
};

void		 store_fault_hook(struct store *,
		    void (*hook)(enum store_fault, int pid, int sock, void *),
		    void *arg);

#endif /* !SAGA_STORECONN_H */
