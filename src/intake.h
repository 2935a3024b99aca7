/*
 * intake: kore's connect callback, which shows every request head to
 * reqhead before kore parses it, and keeps room for new connections.
 *
 * kore 4.1 refuses some requests before any handler runs and answers
 * them with an empty body (400 for no Host or a bad header line or a
 * method it does not know, 405, 411, 413, 414, 505), or not at all (a
 * head larger than http_header_max).
 * intake_connect, named on the `bind` line, gives each connection a
 * read function that passes each complete head to reqhead_judge first;
 * a refused head is answered as RFC 9457 problem+json and the
 * connection is closed.  Any other head goes on to kore, unchanged but
 * for an absolute-form target, rewritten to the origin-form kore routes
 * (kore answered its bare 404 to it), and but for the bytes after the
 * first request of a read (pipelining, which kore 4.1 cannot serve):
 * those are dropped and the first request gets a Connection: close.
 * A head with Expect: 100-continue whose body has not come yet is
 * answered 100 Continue first (kore 4.1 sends none).
 * Before a new connection is served, a worker near worker_max_connections
 * drops the connection that has waited longest for a request head, so
 * connections that send nothing cannot lock new clients out (kore 4.1
 * stopped accepting until its header timeout ended them).
 * Refusals are observed in saga_tracker_api_latency_seconds under
 * endpoint INTAKE_ENDPOINT.
 */

#ifndef SAGA_INTAKE_H
#define SAGA_INTAKE_H

struct connection;

#define INTAKE_ENDPOINT		"refused"

/* kore connect callback: `bind <address> <port> intake_connect`. */
void	intake_connect(struct connection *c);

#endif
