/*
 * sandbox: the service's seccomp allow-list on top of kore's defaults.
 *
 * Kept to what this build's code paths need; each entry says who needs
 * it.  A missing entry kills the calling THREAD: a librdkafka thread
 * dies silently while the worker keeps serving HTTP (liveness catches a
 * consumer that stops polling).  Trace new paths in development with
 * `seccomp_tracing yes` and add their syscalls here with a reason.
 */

#include <kore/kore.h>
#include <kore/seccomp.h>

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>

KORE_SECCOMP_FILTER("saga-tracker",
	/* pthread_create: glibc tries clone3, falls back to clone. */
	KORE_SYSCALL_DENY(clone3, ENOSYS),
	KORE_SYSCALL_ALLOW(clone),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(set_robust_list),
	/*
	 * librdkafka names its threads; any other prctl (NSS modules that
	 * libpq's user lookup may load) fails instead of killing a thread.
	 */
	KORE_SYSCALL_ALLOW_ARG(prctl, 0, PR_SET_NAME),
	KORE_SYSCALL_DENY(prctl, EPERM),
	/* librdkafka: wake-up pipes, broker sockets, getaddrinfo. */
	KORE_SYSCALL_ALLOW(pipe2),
	KORE_SYSCALL_ALLOW(sendmsg),
	KORE_SYSCALL_ALLOW(recvmsg),
	KORE_SYSCALL_ALLOW_ARG(socket, 0, AF_NETLINK),
	KORE_SYSCALL_ALLOW(bind),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(getgid),
	KORE_SYSCALL_ALLOW(getegid),
	KORE_SYSCALL_ALLOW(uname),
	/*
	 * glibc realloc of a large (mmap'd) block: the store's column
	 * arrays of a big batch.  Without it the consumer thread dies.
	 */
	KORE_SYSCALL_ALLOW(mremap),
	/* libpq: stat of the unix socket, librdkafka: config lookups. */
	KORE_SYSCALL_ALLOW(newfstatat),
	/* libpq and librdkafka over TCP: getaddrinfo reads directories. */
	KORE_SYSCALL_ALLOW(getdents64),
	/*
	 * A thread stopped in a timed wait (SIGSTOP and SIGCONT, a
	 * debugger, the cgroup freezer) resumes it through restart_syscall:
	 * without it the consumer thread dies on SIGCONT.
	 */
	KORE_SYSCALL_ALLOW(restart_syscall),
);
