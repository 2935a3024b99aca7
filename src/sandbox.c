/*
 * sandbox: the service's seccomp allow-list on top of kore's defaults.
 *
 * Kept to what the code paths of this build need; each entry says who
 * needs it.  A missing entry kills the calling thread, so every new
 * library call path is traced in development (seccomp_tracing yes) and
 * its syscalls are added here with a reason.
 */

#include <kore/kore.h>
#include <kore/seccomp.h>

#include <sys/syscall.h>

KORE_SECCOMP_FILTER("saga-tracker",
	/* libpq: stat of the unix socket directory, service file lookup. */
	KORE_SYSCALL_ALLOW(newfstatat),
	/* libpq over TCP: getaddrinfo reads /etc/gai.conf directories. */
	KORE_SYSCALL_ALLOW(getdents64),
	/* libpq: TCP keepalive and socket options introspection. */
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	/* libpq: password file and peer credential lookups. */
	KORE_SYSCALL_ALLOW(getuid),
	KORE_SYSCALL_ALLOW(geteuid),
);
