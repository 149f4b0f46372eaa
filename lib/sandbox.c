/* SPDX-License-Identifier: ISC */
/* The per-daemon seccomp allowlists (libseccomp).
 *
 * Each daemon calls sandbox_enter() once its set-up is over: configuration
 * parsed, TLS keys and CA bundle loaded, resolv.conf read, privileges
 * dropped. From then on any system call outside its list kills the whole
 * process (SCMP_ACT_KILL_PROCESS: SIGSYS, the master logs the death and
 * restarts it). A few calls that library code may try on a path that is
 * allowed to fail get an error instead (see "errors instead of death").
 *
 * What the lists hold, and why:
 *  - every daemon: I/O on descriptors it already holds (read/write, the
 *    socket calls that need no new socket, epoll, fstat, lseek, dup of
 *    received descriptors, fcntl but not the commands with which the
 *    kernel would signal someone: F_SETOWN, F_SETSIG, F_NOTIFY, and
 *    F_SETLEASE outside queued), memory (brk, mmap/mprotect without
 *    PROT_EXEC, munmap, mremap, madvise), futex, time, getrandom (OpenSSL
 *    and the ULIDs), its ids, exit. No prctl, no setrlimit/prlimit.
 *    Signals only to itself: kill, tgkill, rt_sigqueueinfo and
 *    rt_tgsigqueueinfo are allowed only when their first argument is the
 *    daemon's own pid (abort() and raise() use tgkill), so a compromised
 *    daemon cannot signal a sibling that runs as the same user; tkill and
 *    pidfd_send_signal are never allowed, nor ptrace,
 *    process_vm_readv/writev, execve, fork. shutdown only with SHUT_WR
 *    (a read shutdown of a listening socket, which the master shares,
 *    would stop it listening everywhere); setsockopt at SOL_SOCKET only
 *    (IPPROTO_TCP fails with EPERM: no TCP_ULP).
 *  - smtpd, ctld: accept4 on the listening sockets the master handed over;
 *    no new socket, no connect, no file.
 *  - deliverd: new sockets of the families it connects with (AF_INET,
 *    AF_INET6: TCP and UDP only, for SMTP and DNS; no SCTP, DCCP or raw
 *    IP) and a raw AF_NETLINK/NETLINK_ROUTE one (getifaddrs, to know its
 *    own addresses), connect, bind; no file.
 *  - queued: files, but only where it is: it is chrooted into the spool
 *    (a filter cannot check paths, the chroot does). sqlite needs
 *    open/openat, pread/pwrite, fsync/fdatasync, ftruncate, fcntl locks,
 *    a shared mmap of the WAL index, unlink, getcwd; the spool needs
 *    rename(at), unlinkat, getdents64, flock, statfs (free space),
 *    syncfs; the sync thread needs an eventfd and clone
 *    with CLONE_THREAD (and nothing else: no fork); clone3 fails with
 *    ENOSYS so that glibc falls back to clone, whose flags can be checked.
 *  - ioctl: FIONREAD and FIONBIO only; TCGETS (isatty) fails with ENOTTY.
 *
 * Errors instead of death: socket(AF_UNIX) fails with EACCES everywhere
 * (glibc's syslog() reconnects to /dev/log, and name lookups try nscd's
 * socket first; both carry on without); in ctld open/openat fail with
 * EACCES (getpwuid_r for the audit lines then fails and the line carries
 * the numeric uid).
 *
 * Architectures: the filter is for the native x86_64 ABI only; a call
 * through the i386 (int 0x80) or x32 ABI kills the process.
 *
 * How the lists were made: the whole test suite (crashes, restarts and
 * stops included) ran with the default action SCMP_ACT_LOG, plain and
 * under the sanitizers (build with CC="gcc -DSANDBOX_LEARN"; the kernel
 * logs each call the filter would have refused: `dmesg -w | grep
 * type=1326`, with kernel.printk_ratelimit=0 so that none is dropped),
 * and logging to syslog was tried by hand. A call that appears in a
 * daemon after a change belongs in its list only if the daemon cannot
 * make it before sandbox_enter().
 *
 * Sanitizer builds (-DEMPATH_SANITIZE, from `make SANITIZE=1`): the ASan
 * and LeakSanitizer runtimes need more at exit and on a report
 * (LeakSanitizer reads /proc/self/maps, stops the threads with a tracer
 * made by clone() and ptrace(), makes the process dumpable again with
 * prctl): those builds allow these too. They are test builds only.
 *
 * Test-only fault switch: when EMPATH_TEST_SYSCALL names a file, the daemon
 * opens it at program start (before the chroot) and, once its filter is
 * in place, on SIGUSR2 reads lines
 * "<daemon> <action> [pid]" from it and, for its own name, attempts the
 * action: openat (/etc/passwd), execve, or kill (SIGTERM to pid). The
 * filter must kill it; if the call returns, it logs that it was not
 * stopped. */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "sandbox.h"

#define SMTPD   (1u << PROC_SMTPD)
#define QUEUED  (1u << PROC_QUEUED)
#define DELIV   (1u << PROC_DELIVERD)
#define CTLD    (1u << PROC_CTLD)
#define ALL     (SMTPD | QUEUED | DELIV | CTLD)

struct allow {
	int      nr;
	unsigned who;
};

/* Allowed whatever the arguments. */
static const struct allow plain[] = {
	/* descriptors already held */
	{ SCMP_SYS(read), ALL },
	{ SCMP_SYS(write), ALL },
	{ SCMP_SYS(readv), ALL },
	{ SCMP_SYS(writev), ALL },
	{ SCMP_SYS(pread64), ALL },
	{ SCMP_SYS(close), ALL },
	{ SCMP_SYS(fstat), ALL },
	{ SCMP_SYS(newfstatat), ALL },
	{ SCMP_SYS(lseek), ALL },
	{ SCMP_SYS(dup), ALL },
	{ SCMP_SYS(recvfrom), ALL },
	{ SCMP_SYS(recvmsg), ALL },
	{ SCMP_SYS(sendto), ALL },
	{ SCMP_SYS(sendmsg), ALL },
	{ SCMP_SYS(getsockopt), ALL },
	{ SCMP_SYS(getsockname), ALL },
	{ SCMP_SYS(getpeername), ALL },
	{ SCMP_SYS(epoll_wait), ALL },
	{ SCMP_SYS(epoll_pwait), ALL },
	{ SCMP_SYS(epoll_ctl), ALL },
	/* memory (mmap and mprotect: below, without PROT_EXEC) */
	{ SCMP_SYS(brk), ALL },
	{ SCMP_SYS(munmap), ALL },
	{ SCMP_SYS(mremap), ALL },
	{ SCMP_SYS(madvise), ALL },
	/* threads, time, identity, randomness, signals to itself, exit */
	{ SCMP_SYS(futex), ALL },
	{ SCMP_SYS(sched_yield), ALL },
	{ SCMP_SYS(clock_gettime), ALL },
	{ SCMP_SYS(clock_getres), ALL },
	{ SCMP_SYS(gettimeofday), ALL },
	{ SCMP_SYS(time), ALL },
	{ SCMP_SYS(nanosleep), ALL },
	{ SCMP_SYS(clock_nanosleep), ALL },
	{ SCMP_SYS(getpid), ALL },
	{ SCMP_SYS(getppid), ALL },
	{ SCMP_SYS(gettid), ALL },
	{ SCMP_SYS(getuid), ALL },
	{ SCMP_SYS(geteuid), ALL },
	{ SCMP_SYS(getgid), ALL },
	{ SCMP_SYS(getegid), ALL },
	{ SCMP_SYS(getrandom), ALL },
	{ SCMP_SYS(sysinfo), ALL },          /* glibc's qsort sizes memory */
	{ SCMP_SYS(rt_sigprocmask), ALL },
	{ SCMP_SYS(rt_sigaction), ALL },     /* abort() resets SIGABRT */
	{ SCMP_SYS(rt_sigreturn), ALL },
	{ SCMP_SYS(restart_syscall), ALL },
	{ SCMP_SYS(exit), ALL },
	{ SCMP_SYS(exit_group), ALL },
	/* listening sockets handed over by the master */
	{ SCMP_SYS(accept4), SMTPD | CTLD },
	/* outgoing connections */
	{ SCMP_SYS(connect), DELIV },
	{ SCMP_SYS(bind), DELIV },
	/* the spool and its sqlite index */
	{ SCMP_SYS(open), QUEUED },
	{ SCMP_SYS(openat), QUEUED },
	{ SCMP_SYS(pwrite64), QUEUED },
	{ SCMP_SYS(fsync), QUEUED },
	{ SCMP_SYS(fdatasync), QUEUED },
	{ SCMP_SYS(ftruncate), QUEUED },
	{ SCMP_SYS(fallocate), QUEUED },
	{ SCMP_SYS(syncfs), QUEUED },        /* one sync for a whole round */
	{ SCMP_SYS(sync_file_range), QUEUED }, /* data out before a rename */
	{ SCMP_SYS(statfs), QUEUED },        /* free space before a commit */
	{ SCMP_SYS(fstatfs), QUEUED },
	{ SCMP_SYS(flock), QUEUED },
	{ SCMP_SYS(unlink), QUEUED },
	{ SCMP_SYS(unlinkat), QUEUED },
	{ SCMP_SYS(rename), QUEUED },
	{ SCMP_SYS(renameat), QUEUED },
	{ SCMP_SYS(renameat2), QUEUED },
	{ SCMP_SYS(mkdir), QUEUED },
	{ SCMP_SYS(mkdirat), QUEUED },
	{ SCMP_SYS(getdents64), QUEUED },
	{ SCMP_SYS(getcwd), QUEUED },
	{ SCMP_SYS(access), QUEUED },
	{ SCMP_SYS(faccessat), QUEUED },
	{ SCMP_SYS(faccessat2), QUEUED },
	{ SCMP_SYS(readlink), QUEUED },
	{ SCMP_SYS(lstat), QUEUED },
	{ SCMP_SYS(stat), QUEUED },
	/* the sync thread (clone itself: below, threads only) */
	{ SCMP_SYS(set_robust_list), QUEUED },
	{ SCMP_SYS(rseq), QUEUED },
	{ SCMP_SYS(eventfd2), QUEUED },      /* the thread wakes the loop */
};

/* fcntl commands: descriptor flags, and the record locks of sqlite. */
static const int fcntl_cmds[] = {
	F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD, F_DUPFD_CLOEXEC,
	F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
};

#ifdef EMPATH_SANITIZE
/* What the ASan/LSan/UBSan runtimes do at exit and on a report (see the
 * comment at the top): test builds only. */
static const struct allow sanitizer[] = {
	{ SCMP_SYS(open), ALL },
	{ SCMP_SYS(openat), ALL },
	{ SCMP_SYS(readlink), ALL },
	{ SCMP_SYS(readlinkat), ALL },
	{ SCMP_SYS(getdents), ALL },         /* /proc/self/task, x86_64 */
	{ SCMP_SYS(getdents64), ALL },
	{ SCMP_SYS(clone), ALL },
	{ SCMP_SYS(ptrace), ALL },
	{ SCMP_SYS(wait4), ALL },
	{ SCMP_SYS(prctl), ALL },
	{ SCMP_SYS(sched_getaffinity), ALL },
	{ SCMP_SYS(sigaltstack), ALL },
	{ SCMP_SYS(set_robust_list), ALL },
	{ SCMP_SYS(rseq), ALL },
	{ SCMP_SYS(pipe2), ALL },
};
#endif

#ifdef SANDBOX_LEARN
#define DENY      SCMP_ACT_LOG
#else
#define DENY      SCMP_ACT_KILL_PROCESS
#endif

#define TRY(x)    do { if ((rc = (x)) < 0) goto fail; } while (0)

static int
add_plain(scmp_filter_ctx ctx, unsigned who, const struct allow *a, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((a[i].who & who) &&
		    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a[i].nr, 0)) < 0)
			return rc;
	return 0;
}

/* deliverd's sockets: TCP (SMTP, DNS over TCP) and UDP (DNS) over IPv4
 * and IPv6, and the routing netlink socket getifaddrs() opens; no SCTP,
 * DCCP or raw IP. The type is compared without its flags. */
static int
deliverd_sockets(scmp_filter_ctx ctx)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	static const struct { int type, proto; } kinds[] = {
		{ SOCK_STREAM, 0 }, { SOCK_STREAM, IPPROTO_TCP },
		{ SOCK_DGRAM, 0 }, { SOCK_DGRAM, IPPROTO_UDP },
	};
	const uint32_t tmask = 0xffffffffu & ~(uint32_t)(SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t f, k;
	int rc;

	for (f = 0; f < sizeof(fams) / sizeof(fams[0]); f++)
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 3,
			    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fams[f]),
			    SCMP_A1(SCMP_CMP_MASKED_EQ, tmask, (scmp_datum_t)kinds[k].type),
			    SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu,
			    (scmp_datum_t)kinds[k].proto)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 3,
	    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, tmask, SOCK_RAW),
	    SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, NETLINK_ROUTE)));
	return 0;
fail:
	return rc;
}

static scmp_filter_ctx
build(enum proc_id self)
{
	const unsigned who = 1u << self;
	const scmp_datum_t pid = (scmp_datum_t)getpid();
	scmp_filter_ctx ctx;
	size_t i;
	int rc;

	if ((ctx = seccomp_init(DENY)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/* Foreign ABIs (i386, x32) are refused by the native filter. */
	TRY(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS));
	/* A binary tree of syscall numbers: fewer comparisons per call. */
	TRY(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2));
	/* Every thread, should one exist already. */
	TRY(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1));

	TRY(add_plain(ctx, who, plain, sizeof(plain) / sizeof(plain[0])));
#ifdef EMPATH_SANITIZE
	TRY(add_plain(ctx, who, sanitizer, sizeof(sanitizer) / sizeof(sanitizer[0])));
#endif

	/* No executable memory: no code the daemon did not start with. */
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)));

	/* Signals only to itself (the pid is an int: compare 32 bits). */
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, pid)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, pid)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigqueueinfo), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, pid)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_tgsigqueueinfo), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, pid)));

	/* fcntl, but not F_SETOWN, F_SETSIG, F_SETLEASE or F_NOTIFY, with
	 * which the kernel would signal another process. */
	for (i = 0; i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]); i++)
		TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, fcntl_cmds[i])));
	/* queued probes with a write lease whether a recycled file is still
	 * open anywhere; a lease break would signal queued itself. */
	if (who & QUEUED)
		TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, F_SETLEASE)));

	/* clone3's flags are behind a pointer: make glibc use clone. */
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0));
#ifndef EMPATH_SANITIZE
	if (who & QUEUED)
		TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)));
#endif

	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, FIONREAD)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, FIONBIO)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TCGETS)));

	/* shutdown(SHUT_WR) only: the listening sockets smtpd and ctld hold
	 * are the master's too, and a read shutdown would stop them
	 * listening in every process (a write shutdown of a listening
	 * socket changes nothing). */
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(shutdown), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, SHUT_WR)));

	/* Socket options: no daemon sets any, but a library may tune its
	 * socket; TCP-level ones fail softly (TCP_ULP would attach kernel
	 * TLS or another upper layer), IP levels and others are refused. */
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, SOL_SOCKET)));
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsockopt), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, IPPROTO_TCP)));

	/* Sockets: AF_UNIX fails softly everywhere. */
	TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)));
	if (who & DELIV)
		TRY(deliverd_sockets(ctx));
#ifndef EMPATH_SANITIZE
	if (who & CTLD) {
		TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0));
		TRY(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0));
	}
#endif
	return ctx;
fail:
	seccomp_release(ctx);
	errno = -rc;
	return NULL;
}

bool
sandbox_sanitizer_build(void)
{
#ifdef EMPATH_SANITIZE
	return true;
#else
	return false;
#endif
}

int
sandbox_load(enum proc_id self)
{
	scmp_filter_ctx ctx;
	int rc;

	if (self <= PROC_MASTER || self >= PROC_COUNT) {
		errno = EINVAL;
		return -1;
	}
	if ((ctx = build(self)) == NULL)
		return -1;
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* ---- the test-only fault switch ---- */

static int fault_fd = -1;
static enum proc_id fault_self;

static void
fault_attempt(const char *action, const char *arg)
{
	static char *const argv[] = { "empath-test-fault", NULL };
	static char *const envp[] = { NULL };
	const char *errstr = NULL;
	long long pid;
	int r;

	log_info("test fault: attempting %s%s%s", action, arg ? " " : "",
	    arg ? arg : "");
	if (strcmp(action, "openat") == 0) {
		r = openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
		if (r >= 0)
			close(r);
	} else if (strcmp(action, "execve") == 0) {
		/* A path that does not exist: harmless if it ran. */
		r = execve("/nonexistent/empath-test-fault", argv, envp);
	} else if (strcmp(action, "kill") == 0 && arg != NULL) {
		pid = strtonum(arg, 1, INT_MAX, &errstr);
		if (errstr != NULL) {
			log_warnx("test fault: pid %s is %s", arg, errstr);
			return;
		}
		r = kill((pid_t)pid, SIGTERM);
	} else {
		log_warnx("test fault: unknown action %s", action);
		return;
	}
	log_warnx("test fault: %s was not stopped by the filter (returned %d)",
	    action, r);
}

static void
fault_signal(int signo, void *arg)
{
	char buf[512], *p, *line, *name, *action, *farg;
	ssize_t n;

	(void)signo;
	(void)arg;
	n = pread(fault_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = buf;
	while ((line = strsep(&p, "\n")) != NULL) {
		name = strsep(&line, " \t");
		action = strsep(&line, " \t");
		farg = strsep(&line, " \t");
		if (name == NULL || action == NULL ||
		    strcmp(name, proc_name(fault_self)) != 0)
			continue;
		fault_attempt(action, farg);
	}
}

/* Opened before main(), while the daemon still has the file system it
 * was started with: sandbox_enter() runs after the chroot. */
__attribute__((constructor)) static void
fault_open(void)
{
	const char *path = getenv("EMPATH_TEST_SYSCALL");

	if (path != NULL && *path != '\0')
		fault_fd = open(path, O_RDONLY | O_CLOEXEC);
}

static void
fault_arm(enum proc_id self)
{
	if (getenv("EMPATH_TEST_SYSCALL") == NULL)
		return;
	if (fault_fd == -1) {
		log_warnx("test fault: cannot open %s", getenv("EMPATH_TEST_SYSCALL"));
		return;
	}
	fault_self = self;
	ev_signal(SIGUSR2, fault_signal, NULL);
	log_info("test fault switch armed (SIGUSR2)");
}

void
sandbox_enter(enum proc_id self)
{
	fault_arm(self);
	/* Time zone data is read once, now: syslog() stamps local time. */
	tzset();
	/* No core dump, no ptrace or /proc/PID/mem by a same-uid sibling. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("PR_SET_DUMPABLE");
	if (sandbox_load(self) == -1)
		fatal("cannot install the system call filter");
	log_debug("system call filter in place%s",
	    sandbox_sanitizer_build() ? " (wider list of a sanitizer build)" : "");
}
