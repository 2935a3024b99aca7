/*
 * stmtcache: which statements each database connection of this worker
 * has prepared, so that an HTTP request's statement is parsed and
 * planned once per connection instead of on every request.
 *
 * For the short statements of the API (one saga by id, a list by
 * orderId) PostgreSQL spends most of its time parsing, analysing and
 * planning the text, not executing it: about 0.4 ms of the 0.5 ms of
 * one saga and its events.  dbquery.c therefore prepares each statement
 * text under a name derived from it (stmtcache_name) the first time a
 * connection runs it and executes the prepared statement afterwards;
 * PostgreSQL then plans a statement once (a generic plan) or again for
 * each execution with its values (a custom plan), whichever its plan
 * cache finds cheaper.
 *
 * A connection is known by the address of its PGconn and the process
 * id of its server backend: kore closes and reopens connections when
 * the database goes away, and a new one may reuse the address but not
 * the backend.  The record is a hint, never a promise: a record lost to
 * eviction makes the next PREPARE fail with duplicate_prepared_statement,
 * which dbquery.c takes as prepared; a statement the server no longer
 * has (DISCARD ALL, a pooler between the two) fails its execution with
 * invalid_sql_statement_name, and dbquery.c forgets the connection and
 * prepares again.  At most STMTCACHE_CONNS connections and
 * STMTCACHE_STATEMENTS statements each are recorded (kore opens
 * pgsql_conn_max connections per worker); a connection whose record is
 * full runs further texts unprepared.  A list statement's text differs
 * by its filters, row limit and status names (api.c), so a client can
 * make thousands; the bound also bounds what each server backend keeps.
 *
 * The table is this worker's own (kore workers are processes, and each
 * has its own connections); it depends on nothing.
 */

#ifndef SAGA_STMTCACHE_H
#define SAGA_STMTCACHE_H

#include <stddef.h>
#include <stdint.h>

#define STMTCACHE_CONNS		16
#define STMTCACHE_STATEMENTS	256

/* "st_" and 16 hex digits of the text's FNV-1a 64, and the NUL. */
#define STMTCACHE_NAME_SIZE	20

/* The key of a statement text: its FNV-1a 64 over text and length. */
uint64_t	stmtcache_key(const char *sql);

/* The server-side name of the statement with key (STMTCACHE_NAME_SIZE). */
void		stmtcache_name(uint64_t key, char *name, size_t len);

/* 1 when the connection (conn, backend pid) has prepared key, else 0. */
int		stmtcache_has(const void *conn, int pid, uint64_t key);

/* 1 when the connection may record one more statement, else 0. */
int		stmtcache_room(const void *conn, int pid);

/*
 * Record that the connection prepared key.  The least recently used
 * connection's record makes way for a new connection.  Returns -1 when
 * the connection's record is full (nothing recorded), else 0.
 */
int		stmtcache_add(const void *conn, int pid, uint64_t key);

/* Forget every statement of the connection. */
void		stmtcache_forget(const void *conn, int pid);

#endif /* !SAGA_STMTCACHE_H */
