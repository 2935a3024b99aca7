/*
 * intake: show each request head to reqhead before kore, and drop the
 * connection idle longest when a worker runs out of room (see intake.h).
 */

#include <kore/kore.h>
#include <kore/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "metrics.h"
#include "reqhead.h"
#include "respond.h"

/*
 * A worker that holds all but a 16th of worker_max_connections drops
 * its connection idle longest for each new one; the rest stays free, so
 * kore never stops accepting because of connections that send nothing.
 */
#define INTAKE_SPARE_SHARE	16

/* At most one line about dropped connections per this many ms. */
#define INTAKE_LOG_MS		10000

static void	intake_make_room(struct connection *);
static int	intake_headless(const struct connection *);
static int	intake_read(struct connection *, size_t *);
static size_t	intake_rewrite(struct connection *,
		    const struct reqhead_verdict *, size_t);
static void	intake_refuse(struct connection *,
		    const struct reqhead_verdict *);
static int	intake_discard(struct netbuf *);
static int	intake_continue(struct connection *,
		    const struct reqhead_verdict *, size_t);

void
intake_connect(struct connection *c)
{
	intake_make_room(c);

	/* What kore does for a connection of a bind without a callback. */
	c->proto = CONN_PROTO_HTTP;
	if (http_keepalive_time != 0)
		c->idle_timer.length = http_keepalive_time * 1000;
	c->read = intake_read;
	net_recv_queue(c, http_header_max, NETBUF_CALL_CB_ALWAYS,
	    http_header_recv);
}

/*
 * Make room for the new connection nc: once this worker holds all but
 * its spare share of worker_max_connections, drop the connection that
 * has waited longest for a request head (none sent, or only part of
 * one, and no request in flight).  kore 4.1 stopped accepting at its
 * limit, or when accept() ran out of descriptors, until its header
 * timeout ended such connections, and new clients waited in the listen
 * queue meanwhile.  A connection busy with a request is never dropped.
 */
static void
intake_make_room(struct connection *nc)
{
	static u_int64_t	 dropped, logged;
	struct connection	*c, *idlest;
	u_int64_t		 now;
	u_int32_t		 room;

	room = worker_max_connections - worker_max_connections /
	    INTAKE_SPARE_SHARE;
	if (worker_active_connections < room)
		return;

	idlest = NULL;
	TAILQ_FOREACH(c, &connections, list) {
		if (c != nc && intake_headless(c) &&
		    (idlest == NULL || c->http_start < idlest->http_start))
			idlest = c;
	}
	if (idlest == NULL)
		return;

	now = kore_time_ms();
	dropped++;
	if (now - logged >= INTAKE_LOG_MS) {
		kore_log(LOG_NOTICE, "%u of %u connections open: dropped the "
		    "one idle longest (%llu ms without a request head); "
		    "%llu dropped so far", worker_active_connections,
		    worker_max_connections,
		    (unsigned long long)(now - idlest->http_start),
		    (unsigned long long)dropped);
		logged = now;
	}
	kore_connection_disconnect(idlest);
}

/* Waiting for a request head, with no request in flight. */
static int
intake_headless(const struct connection *c)
{
	return (c->state == CONN_STATE_ESTABLISHED &&
	    c->proto == CONN_PROTO_HTTP && c->rnb != NULL &&
	    c->rnb->cb == http_header_recv &&
	    TAILQ_EMPTY(&c->http_requests));
}

/*
 * kore's net_read, then a look at the head received so far when kore is
 * about to parse one (its header callback is armed and no request of
 * this connection is in flight).  A refused head is answered here and
 * the read reports nothing, so kore's parser never sees it; a head with
 * an absolute-form target is given to kore in origin-form.
 */
static int
intake_read(struct connection *c, size_t *bytes)
{
	struct reqhead_limits	lim;
	struct reqhead_verdict	v;
	size_t			len, n;

	if (!net_read(c, bytes))
		return (KORE_RESULT_ERROR);
	if (!(c->evt.flags & KORE_EVENT_READ) ||
	    c->rnb->cb != http_header_recv ||
	    !TAILQ_EMPTY(&c->http_requests))
		return (KORE_RESULT_OK);

	lim.head_max = c->rnb->b_len;
	lim.target_max = HTTP_URI_LEN - 2;
	lim.body_max = http_body_max;
	lim.header_lines = HTTP_REQ_HEADER_MAX - 2;
	len = c->rnb->s_off + *bytes;
	if (!reqhead_judge((const char *)c->rnb->buf, len, &lim, &v))
		return (KORE_RESULT_OK);
	if (v.status == 0) {
		if (!intake_continue(c, &v, len))
			return (KORE_RESULT_ERROR);
		if ((n = intake_rewrite(c, &v, len)) != 0) {
			if (n != len) {
				c->rnb->s_off = n;
				*bytes = 0;
			}
			return (KORE_RESULT_OK);
		}
		v.status = 400;
		(void)snprintf(v.detail, sizeof(v.detail), "requests pipelined "
		    "after one of %zu bytes are not served; send them one at "
		    "a time", v.length);
	}

	intake_refuse(c, &v);
	*bytes = 0;
	c->evt.flags &= ~KORE_EVENT_READ;

	return (KORE_RESULT_OK);
}

/*
 * The head at c->rnb->buf (len bytes received) as kore is to parse it:
 * in origin-form, which is all kore routes; and alone.  kore 4.1 takes
 * the bytes after the first request of a read for its body or drops
 * them: a request pipelined after it would get no answer, or the first
 * none at all.  So they are dropped here, and the first request is
 * given a Connection: close: the client sees the connection end after
 * the first answer and sends the rest again.  Returns the new length,
 * or 0 when that header does not fit in kore's buffer.
 */
static size_t
intake_rewrite(struct connection *c, const struct reqhead_verdict *v,
    size_t len)
{
	char		*buf;
	int		 pipelined;

	buf = (char *)c->rnb->buf;
	if ((pipelined = len > v->length))
		len = v->length;
	len = reqhead_origin_form(buf, len);
	if (pipelined) {
		kore_log(LOG_NOTICE, "%s %s: a request pipelined after it is "
		    "dropped, the connection closed after its answer",
		    v->method, v->target);
		len = reqhead_add_close(buf, len, c->rnb->b_len);
	}

	return (len);
}

/*
 * RFC 9110 10.1.1: a client that sent Expect: 100-continue may wait for
 * a 100 Continue before it sends the body, and kore 4.1 never sends one
 * (the client would wait for its own timeout, curl's 1 s, or forever).
 * Sent here once the head is judged fine and none of the body is in, so
 * a refused head (a 413 among them) is answered without the body.
 * Returns KORE_RESULT_ERROR when it cannot be sent.
 */
static int
intake_continue(struct connection *c, const struct reqhead_verdict *v,
    size_t len)
{
	static const char	line[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (!v->continue_100 || len > v->head_length)
		return (KORE_RESULT_OK);

	net_send_queue(c, line, sizeof(line) - 1);

	return (net_send_flush(c));
}

/* Answer the problem, close once it is sent, drop what else comes. */
static void
intake_refuse(struct connection *c, const struct reqhead_verdict *v)
{
	char			*body, head[256];
	double			 start;
	size_t			 len;
	int			 n;

	start = metrics_now();
	kore_log(LOG_NOTICE, "refused %s %s: %d %s", v->method,
	    v->target[0] != '\0' ? v->target : "(target not shown)",
	    v->status, v->detail);

	body = respond_problem_text(v->status,
	    v->target[0] != '\0' ? v->target : NULL, v->detail);
	len = body != NULL ? strlen(body) : 0;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "content-type: application/problem+json\r\n"
	    "cache-control: no-store\r\n"
	    "content-length: %zu\r\n"
	    "connection: close\r\n\r\n",
	    v->status, respond_status_title(v->status), len);
	net_send_queue(c, head, (size_t)n);
	if (body != NULL)
		net_send_queue(c, body, len);
	free(body);

	c->rnb->cb = intake_discard;
	c->rnb->s_off = 0;
	c->flags |= CONN_CLOSE_EMPTY;
	if (!net_send_flush(c))
		kore_connection_disconnect(c);

	metrics_api_observe(INTAKE_ENDPOINT, v->method, v->status,
	    metrics_now() - start);
}

/* Until the answer is out: read and forget whatever the client sends. */
static int
intake_discard(struct netbuf *nb)
{
	nb->s_off = 0;

	return (KORE_RESULT_OK);
}
