/*
 * stmtcache: the statements each database connection of this worker
 * has prepared (see stmtcache.h).
 */

#include <stdio.h>
#include <string.h>

#include "fnv.h"
#include "stmtcache.h"

struct stmtcache_conn {
	const void	*conn;		/* NULL: a free slot */
	int		 pid;
	uint64_t	 used;		/* stmtcache_clock at last use */
	size_t		 n;
	uint64_t	 keys[STMTCACHE_STATEMENTS];
};

static struct stmtcache_conn	*stmtcache_find(const void *, int);
static struct stmtcache_conn	*stmtcache_slot(const void *, int);

static struct stmtcache_conn	stmtcache_conns[STMTCACHE_CONNS];
static uint64_t			stmtcache_clock;

uint64_t
stmtcache_key(const char *sql)
{
	size_t		len;
	uint64_t	h;

	len = strlen(sql);
	h = fnv1a64(sql, len);

	return (h ^ (uint64_t)len);
}

void
stmtcache_name(uint64_t key, char *name, size_t len)
{
	(void)snprintf(name, len, "st_%016llx", (unsigned long long)key);
}

static struct stmtcache_conn *
stmtcache_find(const void *conn, int pid)
{
	size_t		i;

	for (i = 0; i < STMTCACHE_CONNS; i++) {
		if (stmtcache_conns[i].conn == conn &&
		    stmtcache_conns[i].pid == pid) {
			stmtcache_conns[i].used = ++stmtcache_clock;
			return (&stmtcache_conns[i]);
		}
	}

	return (NULL);
}

/*
 * The record of the connection, made when there is none: in a free
 * slot, in the slot of an older backend at the same address, or in the
 * least recently used one.
 */
static struct stmtcache_conn *
stmtcache_slot(const void *conn, int pid)
{
	struct stmtcache_conn	*c, *pick;
	size_t			 i;

	if ((c = stmtcache_find(conn, pid)) != NULL)
		return (c);

	pick = &stmtcache_conns[0];
	for (i = 0; i < STMTCACHE_CONNS; i++) {
		c = &stmtcache_conns[i];
		if (c->conn == NULL || c->conn == conn) {
			pick = c;
			break;
		}
		if (c->used < pick->used)
			pick = c;
	}

	pick->conn = conn;
	pick->pid = pid;
	pick->n = 0;
	pick->used = ++stmtcache_clock;

	return (pick);
}

int
stmtcache_has(const void *conn, int pid, uint64_t key)
{
	struct stmtcache_conn	*c;
	size_t			 i;

	if ((c = stmtcache_find(conn, pid)) == NULL)
		return (0);
	for (i = 0; i < c->n; i++) {
		if (c->keys[i] == key)
			return (1);
	}

	return (0);
}

int
stmtcache_room(const void *conn, int pid)
{
	struct stmtcache_conn	*c;

	if ((c = stmtcache_find(conn, pid)) == NULL)
		return (1);

	return (c->n < STMTCACHE_STATEMENTS);
}

int
stmtcache_add(const void *conn, int pid, uint64_t key)
{
	struct stmtcache_conn	*c;

	if (stmtcache_has(conn, pid, key))
		return (0);

	c = stmtcache_slot(conn, pid);
	if (c->n == STMTCACHE_STATEMENTS)
		return (-1);
	c->keys[c->n++] = key;

	return (0);
}

void
stmtcache_forget(const void *conn, int pid)
{
	struct stmtcache_conn	*c;

	if ((c = stmtcache_find(conn, pid)) == NULL)
		return;

	memset(c, 0, sizeof(*c));
}
