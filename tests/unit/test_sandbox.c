/* SPDX-License-Identifier: ISC */
/* lib/sandbox.c: each daemon's system call filter, tried in a child
 * process per case: what the list allows works, what it refuses kills
 * the child with SIGSYS (or fails with the errno the list names). */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "sandbox.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

/* Exit statuses a child uses to say what went wrong. */
#define ST_OK        0
#define ST_NOLOAD    10
#define ST_WRONG     11

typedef int (*body_fn)(void);

/* The test process, the parent of every child: known before the filter. */
static pid_t parent;

/* Run body in a child under proc's filter; the raw wait status. */
static int
in_sandbox(enum proc_id proc, body_fn body)
{
	pid_t pid;
	int status;

	parent = getpid();
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (sandbox_load(proc) == -1)
			_exit(ST_NOLOAD);
		/* _exit: no atexit handlers (a sanitizer's) in the child. */
		_exit(body());
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

#define ck_assert_sigsys(st) do {                                        \
	int st_ = (st);                                                   \
	ck_assert_msg(WIFSIGNALED(st_) && WTERMSIG(st_) == SIGSYS,        \
	    "want death by SIGSYS, got %s %d", WIFSIGNALED(st_) ?         \
	    "signal" : "exit status", WIFSIGNALED(st_) ? WTERMSIG(st_) :  \
	    WEXITSTATUS(st_));                                            \
} while (0)

#define ck_assert_exit_ok(st) do {                                       \
	int st_ = (st);                                                   \
	ck_assert_msg(WIFEXITED(st_) && WEXITSTATUS(st_) == ST_OK,        \
	    "want exit 0, got %s %d", WIFSIGNALED(st_) ? "signal" :       \
	    "exit status", WIFSIGNALED(st_) ? WTERMSIG(st_) :             \
	    WEXITSTATUS(st_));                                            \
} while (0)

static const enum proc_id daemons[] = {
	PROC_SMTPD, PROC_QUEUED, PROC_DELIVERD, PROC_CTLD,
};
#define NDAEMONS (sizeof(daemons) / sizeof(daemons[0]))

/* ---- bodies ---- */

static int
loop_calls(void)
{
	char c = 'x';
	void *p;
	int fl;

	/* Descriptors, memory, time, signals to itself. */
	if (write(STDERR_FILENO, "", 0) == -1 || getpid() <= 0)
		return ST_WRONG;
	if ((fl = fcntl(STDIN_FILENO, F_GETFD)) == -1 && errno != EBADF)
		return ST_WRONG;
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) == -1)
		return ST_WRONG;
	memcpy((char *)p + 4096, &c, 1);
	munmap(p, 8192);
	free(malloc(1 << 20));
	if (kill(getpid(), 0) == -1)
		return ST_WRONG;
	if (syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), 0) == -1)
		return ST_WRONG;
	if (time(NULL) == (time_t)-1)
		return ST_WRONG;
	if (getrandom(&c, 1, 0) != 1)
		return ST_WRONG;
	return ST_OK;
}

static int
open_passwd(void)
{
	int fd = openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return ST_OK;
	}
	return errno == EACCES ? 20 : ST_WRONG;
}

static int
exec_true(void)
{
	static char *const argv[] = { "true", NULL };

	execv("/bin/true", argv);
	return ST_WRONG;
}

static int
kill_parent(void)
{
	/* Signal 0: harmless to the test runner if it ever got through. */
	kill(parent, 0);
	return ST_WRONG;
}

static int
kill_group(void)
{
	kill(0, 0);
	return ST_WRONG;
}

static int
tgkill_parent(void)
{
	syscall(SYS_tgkill, parent, parent, 0);
	return ST_WRONG;
}

static int
tkill_self(void)
{
	syscall(SYS_tkill, (pid_t)syscall(SYS_gettid), 0);
	return ST_WRONG;
}

static int
pidfd_signal(void)
{
	syscall(SYS_pidfd_send_signal, 0, 0, NULL, 0);
	return ST_WRONG;
}

static int
ptrace_me(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return ST_WRONG;
}

static int
process_vm(void)
{
	syscall(SYS_process_vm_readv, parent, NULL, 0, NULL, 0, 0);
	return ST_WRONG;
}

static int
fcntl_setown(void)
{
	/* SIGIO to another process, by way of the kernel. */
	fcntl(STDIN_FILENO, F_SETOWN, parent);
	return ST_WRONG;
}

static int
mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return ST_WRONG;
}

static int
mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return ST_WRONG;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return ST_WRONG;
}

static int
x32_getpid(void)
{
	syscall(__X32_SYSCALL_BIT | SYS_getpid);
	return ST_WRONG;
}

static int
i386_getpid(void)
{
	long ret = 20;   /* getpid in the i386 table */

	__asm__ volatile ("int $0x80" : "+a"(ret) : : "memory");
	return ST_WRONG;
}

static bool
i386_abi_present(void)
{
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* A plain death, not a sanitizer's report. */
		signal(SIGSEGV, SIG_DFL);
		_exit(i386_getpid() == ST_WRONG ? ST_OK : ST_WRONG);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status);
}

static int
unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd == -1 && errno == EACCES)
		return ST_OK;
	return ST_WRONG;
}

static int
inet_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 ? ST_OK : ST_WRONG;
}

static int
inet6_dgram_socket(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd >= 0 || errno == EAFNOSUPPORT ? ST_OK : ST_WRONG;
}

static int
packet_socket(void)
{
	socket(AF_PACKET, SOCK_RAW, 0);
	return ST_WRONG;
}

static int
netlink_route(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* ROUTE */);

	return fd >= 0 ? ST_OK : ST_WRONG;
}

static int
own_addresses(void)
{
	struct ifaddrs *ifa;

	/* What deliverd does to know its own addresses. */
	if (getifaddrs(&ifa) == -1)
		return ST_WRONG;
	freeifaddrs(ifa);
	return ST_OK;
}

static int
tty_ioctls(void)
{
	struct termios t;

	/* isatty() says no, without dying. */
	if (tcgetattr(STDIN_FILENO, &t) == 0 || errno != ENOTTY)
		return ST_WRONG;
	return ST_OK;
}

static int
tiocsti(void)
{
	char c = 'x';

	ioctl(STDIN_FILENO, TIOCSTI, &c);
	return ST_WRONG;
}

static int
clone3_enosys(void)
{
	if (syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS)
		return ST_OK;
	return ST_WRONG;
}

static void *
thread_body(void *arg)
{
	return arg;
}

static int
make_thread(void)
{
	static int token;
	pthread_t t;
	void *ret;

	if (pthread_create(&t, NULL, thread_body, &token) != 0)
		return ST_WRONG;
	if (pthread_join(t, &ret) != 0 || ret != &token)
		return ST_WRONG;
	return ST_OK;
}

static int
fork_child(void)
{
	/* fork() is clone without CLONE_THREAD. */
	if (fork() == 0)
		_exit(0);
	return ST_WRONG;
}

static int
connect_any(void)
{
	connect(-1, NULL, 0);
	return ST_WRONG;
}

/* A listening socket made before the filter, as the master hands one over. */
static int listen_fd = -1;

static int
shutdown_listen_wr(void)
{
	return shutdown(listen_fd, SHUT_WR) == 0 ? ST_OK : ST_WRONG;
}

static int
shutdown_listen_rd(void)
{
	shutdown(listen_fd, SHUT_RD);
	return ST_WRONG;
}

static int
shutdown_listen_rdwr(void)
{
	shutdown(listen_fd, SHUT_RDWR);
	return ST_WRONG;
}

static int
inet_socket_of(int fam, int type, int proto)
{
	int fd = socket(fam, type | SOCK_CLOEXEC, proto);

	if (fd == -1 && errno != EAFNOSUPPORT && errno != EPROTONOSUPPORT &&
	    errno != ESOCKTNOSUPPORT)
		return ST_WRONG;
	if (fd != -1)
		close(fd);
	return ST_OK;
}

static int
tcp_explicit(void)
{
	return inet_socket_of(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
}

static int
udp_explicit(void)
{
	return inet_socket_of(AF_INET6, SOCK_DGRAM, IPPROTO_UDP);
}

static int
sctp_socket(void)
{
	inet_socket_of(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	return ST_WRONG;
}

static int
dccp_socket(void)
{
	inet_socket_of(AF_INET6, SOCK_DCCP, 0);
	return ST_WRONG;
}

static int
raw_inet_socket(void)
{
	inet_socket_of(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	return ST_WRONG;
}

static int
udp_as_stream(void)
{
	/* A protocol that does not go with the type: refused all the same. */
	inet_socket_of(AF_INET, SOCK_STREAM, IPPROTO_UDP);
	return ST_WRONG;
}

static int
netlink_dgram(void)
{
	inet_socket_of(AF_NETLINK, SOCK_DGRAM, 0 /* ROUTE */);
	return ST_WRONG;
}

static int
sockopts(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd == -1)
		return ST_WRONG;
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1)
		return ST_WRONG;
	/* No upper layer protocol (kernel TLS) on a TCP socket. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3) != -1 ||
	    errno != EPERM)
		return ST_WRONG;
	return ST_OK;
}

static int
ip_sockopt(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ttl = 1;

	if (fd == -1)
		return ST_WRONG;
	setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	return ST_WRONG;
}

/* ---- cases ---- */

START_TEST(everyday_calls_work_in_every_daemon)
{
	size_t i;

	for (i = 0; i < NDAEMONS; i++)
		ck_assert_exit_ok(in_sandbox(daemons[i], loop_calls));
}
END_TEST

START_TEST(execve_kills_every_daemon)
{
	size_t i;

	for (i = 0; i < NDAEMONS; i++)
		ck_assert_sigsys(in_sandbox(daemons[i], exec_true));
}
END_TEST

START_TEST(no_daemon_signals_another_process)
{
	size_t i;

	for (i = 0; i < NDAEMONS; i++) {
		ck_assert_sigsys(in_sandbox(daemons[i], kill_parent));
		ck_assert_sigsys(in_sandbox(daemons[i], kill_group));
		ck_assert_sigsys(in_sandbox(daemons[i], tgkill_parent));
		ck_assert_sigsys(in_sandbox(daemons[i], tkill_self));
		ck_assert_sigsys(in_sandbox(daemons[i], pidfd_signal));
		ck_assert_sigsys(in_sandbox(daemons[i], process_vm));
		ck_assert_sigsys(in_sandbox(daemons[i], fcntl_setown));
	}
}
END_TEST

START_TEST(no_executable_memory)
{
	size_t i;

	for (i = 0; i < NDAEMONS; i++) {
		ck_assert_sigsys(in_sandbox(daemons[i], mmap_exec));
		ck_assert_sigsys(in_sandbox(daemons[i], mprotect_exec));
	}
}
END_TEST

START_TEST(foreign_abis_are_refused)
{
	ck_assert_sigsys(in_sandbox(PROC_SMTPD, x32_getpid));
	ck_assert_sigsys(in_sandbox(PROC_QUEUED, x32_getpid));
	/* Only where the kernel has the i386 ABI at all (without it, int
	 * 0x80 is a SIGSEGV whatever the filter). */
	if (i386_abi_present())
		ck_assert_sigsys(in_sandbox(PROC_SMTPD, i386_getpid));
}
END_TEST

START_TEST(files_only_for_queued)
{
	ck_assert_exit_ok(in_sandbox(PROC_QUEUED, open_passwd));
	/* ctld's passwd lookups fail softly: the audit shows the uid. */
	if (!sandbox_sanitizer_build()) {
		int st = in_sandbox(PROC_CTLD, open_passwd);

		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 20,
		    "ctld openat: want EACCES, got status %#x", st);
		ck_assert_sigsys(in_sandbox(PROC_SMTPD, open_passwd));
		ck_assert_sigsys(in_sandbox(PROC_DELIVERD, open_passwd));
	}
}
END_TEST

START_TEST(sockets_only_for_deliverd)
{
	size_t i;

	for (i = 0; i < NDAEMONS; i++) {
		ck_assert_exit_ok(in_sandbox(daemons[i], unix_socket));
		ck_assert_sigsys(in_sandbox(daemons[i], packet_socket));
	}
	ck_assert_exit_ok(in_sandbox(PROC_DELIVERD, inet_socket));
	ck_assert_exit_ok(in_sandbox(PROC_DELIVERD, inet6_dgram_socket));
	ck_assert_exit_ok(in_sandbox(PROC_DELIVERD, netlink_route));
	ck_assert_exit_ok(in_sandbox(PROC_DELIVERD, own_addresses));
	ck_assert_sigsys(in_sandbox(PROC_SMTPD, own_addresses));
	ck_assert_sigsys(in_sandbox(PROC_SMTPD, inet_socket));
	ck_assert_sigsys(in_sandbox(PROC_QUEUED, inet_socket));
	ck_assert_sigsys(in_sandbox(PROC_CTLD, inet_socket));
	ck_assert_sigsys(in_sandbox(PROC_SMTPD, netlink_route));
	ck_assert_sigsys(in_sandbox(PROC_SMTPD, connect_any));
	ck_assert_sigsys(in_sandbox(PROC_CTLD, connect_any));
}
END_TEST

/* Does listen_fd still take connections? */
static bool
still_listening(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, c, ok;

	ck_assert_int_eq(getsockname(listen_fd, (struct sockaddr *)&sin, &len), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	if (ok && (c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) != -1)
		close(c);
	return ok;
}

START_TEST(no_read_shutdown_of_listening_sockets)
{
	static const enum proc_id listeners[] = { PROC_SMTPD, PROC_CTLD };
	struct sockaddr_in sin;
	size_t i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(listen_fd, -1);
	ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(listen_fd, 8), 0);
	for (i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		ck_assert_sigsys(in_sandbox(listeners[i], shutdown_listen_rd));
		ck_assert(still_listening());
		ck_assert_sigsys(in_sandbox(listeners[i], shutdown_listen_rdwr));
		ck_assert(still_listening());
		ck_assert_exit_ok(in_sandbox(listeners[i], shutdown_listen_wr));
		ck_assert(still_listening());
	}
	for (i = 0; i < NDAEMONS; i++)
		ck_assert_sigsys(in_sandbox(daemons[i], shutdown_listen_rd));
	ck_assert(still_listening());
	close(listen_fd);
}
END_TEST

START_TEST(deliverd_sockets_are_tcp_and_udp)
{
	ck_assert_exit_ok(in_sandbox(PROC_DELIVERD, tcp_explicit));
	ck_assert_exit_ok(in_sandbox(PROC_DELIVERD, udp_explicit));
	ck_assert_sigsys(in_sandbox(PROC_DELIVERD, sctp_socket));
	ck_assert_sigsys(in_sandbox(PROC_DELIVERD, dccp_socket));
	ck_assert_sigsys(in_sandbox(PROC_DELIVERD, raw_inet_socket));
	ck_assert_sigsys(in_sandbox(PROC_DELIVERD, udp_as_stream));
	ck_assert_sigsys(in_sandbox(PROC_DELIVERD, netlink_dgram));
	ck_assert_exit_ok(in_sandbox(PROC_DELIVERD, sockopts));
	ck_assert_sigsys(in_sandbox(PROC_DELIVERD, ip_sockopt));
}
END_TEST

START_TEST(ioctls_are_limited)
{
	size_t i;

	for (i = 0; i < NDAEMONS; i++) {
		ck_assert_exit_ok(in_sandbox(daemons[i], tty_ioctls));
		ck_assert_sigsys(in_sandbox(daemons[i], tiocsti));
	}
}
END_TEST

START_TEST(threads_only_in_queued)
{
	size_t i;

	for (i = 0; i < NDAEMONS; i++)
		ck_assert_exit_ok(in_sandbox(daemons[i], clone3_enosys));
	ck_assert_exit_ok(in_sandbox(PROC_QUEUED, make_thread));
	if (!sandbox_sanitizer_build()) {
		ck_assert_sigsys(in_sandbox(PROC_QUEUED, fork_child));
		ck_assert_sigsys(in_sandbox(PROC_SMTPD, make_thread));
		ck_assert_sigsys(in_sandbox(PROC_SMTPD, fork_child));
		for (i = 0; i < NDAEMONS; i++)
			ck_assert_sigsys(in_sandbox(daemons[i], ptrace_me));
	}
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, everyday_calls_work_in_every_daemon);
	tcase_add_test(tc, execve_kills_every_daemon);
	tcase_add_test(tc, no_daemon_signals_another_process);
	tcase_add_test(tc, no_executable_memory);
	tcase_add_test(tc, foreign_abis_are_refused);
	tcase_add_test(tc, files_only_for_queued);
	tcase_add_test(tc, sockets_only_for_deliverd);
	tcase_add_test(tc, ioctls_are_limited);
	tcase_add_test(tc, no_read_shutdown_of_listening_sockets);
	tcase_add_test(tc, deliverd_sockets_are_tcp_and_udp);
	tcase_add_test(tc, threads_only_in_queued);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(sandbox_suite);
