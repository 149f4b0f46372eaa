/* SPDX-License-Identifier: ISC */
/* empath-sendmail: submit a message to Empath the way sendmail(8) does
 * (see empath-sendmail(8)). The message goes over the submission socket
 * as SMTP; only when Empath is not running (no socket, or nobody
 * listening on it) is it written into SPOOL/drop for queued to take in
 * when it starts: a drop file bypasses smtpd's plugins and limits, so a
 * temporary refusal, a timeout or a lost connection is a temporary
 * failure for the caller, never a way into the drop directory. Either
 * way, what smtpd or queued would refuse is refused first, here. The
 * program may be installed setgid to the drop group: the group is given
 * up at once (drop.c), taken back only to create the drop file, and
 * given up for good before anything the caller chooses is used (-C,
 * EMPATH_CONFIG, -bp, -bs, -q). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dropfile.h"
#include "localusers.h"
#include "sendmail.h"
#include "util.h"

#ifndef SBINDIR
#define SBINDIR "/usr/sbin"
#endif
#define DEFAULT_MAX_SIZE (35u * 1024 * 1024)

static char prog[33] = "sendmail";

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void
cfg_error(const char *line)
{
	fprintf(stderr, "%s: %s\n", prog, line);
}

/* A setgid program may be started with 0, 1 or 2 closed: whatever it
 * opens next must not become one of them. */
static void
std_fds(void)
{
	struct stat st;
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) == -1 && errno == EBADF &&
		    open("/dev/null", O_RDWR) != fd)
			_exit(EX_OSERR);
}

/* -bp and -q: empathctl on the control socket, beside this program in a
 * build tree, else in SBINDIR. The group is already given up. */
static void __attribute__((noreturn))
run_empathctl(const struct config *cfg, const char *verb)
{
	char path[PATH_MAX], self[PATH_MAX], *slash;
	char *argv[] = { "empathctl", "-s", cfg->control_socket, "queue",
	    (char *)verb, NULL };
	ssize_t n;

	/* Connecting needs write permission on the socket. */
	if (access(cfg->control_socket, W_OK) == -1 && errno == EACCES)
		die(EX_NOPERM, "permission denied on the control socket %s: "
		    "only members of its group may use the queue",
		    cfg->control_socket);
	snprintf(path, sizeof(path), "%s/empathctl", SBINDIR);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(self + strlen(self),
			    sizeof(self) - strlen(self), "/empathctl") <
			    sizeof(self) - strlen(self) &&
			    access(self, X_OK) == 0)
				strlcpy(path, self, sizeof(path));
		}
	}
	fflush(stdout);
	/* Ignored signals stay ignored across exec: give them back. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	execv(path, argv);
	die(EX_UNAVAILABLE, "cannot run %s: %s", path, strerror(errno));
}

static void __attribute__((noreturn))
run_smtp(const struct config *cfg)
{
	int fd = sm_connect(cfg->submit_socket, SM_CONNECT_TIMEOUT_MS);

	if (fd == -1) {
		fputs(sm_not_running(errno) ? "421 4.3.2 Empath is not "
		    "running\r\n" : "421 4.3.2 Empath is busy, try again "
		    "later\r\n", stdout);
		fflush(stdout);
		exit(EX_TEMPFAIL);
	}
	exit(sm_relay(STDIN_FILENO, STDOUT_FILENO, fd) == 0 ? EX_OK : EX_IOERR);
}

/* Add a (qualified, checked) address unless it is there already. */
static void
add_rcpt(struct sm_addrs *all, const char *addr)
{
	size_t i;

	for (i = 0; i < all->n; i++)
		if (strcmp(all->v[i], addr) == 0)
			return;
	sm_addrs_add(all, addr);
}

static void
add_rcpts(struct sm_addrs *all, const struct sm_addrs *in,
    const char *hostname, int status)
{
	char err[256], *a;
	size_t i;

	for (i = 0; i < in->n; i++) {
		if ((a = sm_addr_final(in->v[i], hostname, err,
		    sizeof(err))) == NULL)
			die(status, "recipient: %s", err);
		add_rcpt(all, a);
		free(a);
		if (all->n > SM_RCPT_MAX)
			die(EX_USAGE, "more than %d recipients", SM_RCPT_MAX);
	}
}

/* The largest max-message-size of the listeners: the limit smtpd gives
 * the submission socket and queued drop files. */
static size_t
max_size(const struct config *cfg)
{
	const struct cfg_listen *l;
	size_t max = 0;

	TAILQ_FOREACH(l, &cfg->listeners, entry)
		if (l->max_message_size > max)
			max = l->max_message_size;
	return max > 0 ? max : DEFAULT_MAX_SIZE;
}

/* Empath is not running: the message goes into the drop directory. */
static int
drop(const struct sm_opts *o, const struct config *cfg, struct passwd *pw,
    const char *sender, const struct sm_addrs *all, const struct sm_msg *msg)
{
	struct drop_env env;
	char err[512], name[64];
	uid_t uid = getuid();

	/* queued would refuse another user's sender: say it now. */
	switch (localusers_login_sender(cfg, pw->pw_name, sender)) {
	case LSENDER_OK:
		break;
	case LSENDER_FORGED:
		die(EX_NOPERM, "sender address <%s> not owned by user %s",
		    sender, pw->pw_name);
	case LSENDER_UNKNOWN_USER:
		die(EX_NOPERM, "the login name of user ID %lu is not one "
		    "Empath accepts", (unsigned long)uid);
	}
	env.sender = (char *)sender;
	env.rcpts = all->v;
	env.nrcpts = all->n;
	if (sm_drop(cfg->spool, &env, msg->buf != NULL ? msg->buf : "",
	    msg->len, name, sizeof(name), err, sizeof(err)) == -1)
		die(EX_TEMPFAIL, "Empath is not running and the message "
		    "could not be left for it: %s", err);
	if (o->verbose)
		fprintf(stderr, "%s: left in %s/%s/%s for Empath\n", prog,
		    cfg->spool, DROP_SUBDIR, name);
	return EX_OK;
}

static int
deliver(const struct sm_opts *o, const struct config *cfg)
{
	struct sm_addrs all = { NULL, 0 }, got = { NULL, 0 };
	struct sm_msg in = { NULL, 0, 0 }, msg = { NULL, 0, 0 };
	struct sm_submit sub;
	struct sm_result res;
	struct passwd *pw;
	const char *fullname;
	char err[512], login[CFG_LOGIN_MAX + 2 + 256], *sender;
	char gecos[256];
	size_t max = max_size(cfg), i, ncmd;
	uid_t uid = getuid();
	long bad;
	int rc, fd, status;

	pw = getpwuid(uid);
	if (pw == NULL || pw->pw_name == NULL || strlen(pw->pw_name) > 64)
		die(EX_OSERR, "no login name for user ID %lu",
		    (unsigned long)uid);
	snprintf(login, sizeof(login), "%s@%s", pw->pw_name, cfg->hostname);
	if (o->sender == NULL)
		sender = xstrdup(login);
	else if ((sender = sm_sender_final(o->sender, cfg->hostname, err,
	    sizeof(err))) == NULL)
		die(EX_USAGE, "sender: %s", err);
	if (o->fullname != NULL) {
		for (i = 0; o->fullname[i] != '\0'; i++)
			if ((unsigned char)o->fullname[i] < 0x20 ||
			    o->fullname[i] == 0x7f)
				die(EX_USAGE, "-F: control character in the "
				    "full name");
		fullname = o->fullname;
	} else
		fullname = sm_gecos_name(pw->pw_gecos, pw->pw_name, gecos,
		    sizeof(gecos)) ? gecos : NULL;

	for (i = 0; i < (size_t)o->nrcpts; i++) {
		if (sm_addrlist_parse(o->rcpts[i], strlen(o->rcpts[i]), &got,
		    err, sizeof(err)) == -1)
			die(EX_USAGE, "recipient \"%.64s\": %s", o->rcpts[i],
			    err);
	}
	add_rcpts(&all, &got, cfg->hostname, EX_USAGE);
	sm_addrs_free(&got);
	ncmd = all.n;
	if (all.n == 0 && !o->extract)
		die(EX_USAGE, "no recipients: give them on the command line "
		    "or use -t");

	if ((rc = sm_read_message(STDIN_FILENO, o->ignore_dots, max, &in, err,
	    sizeof(err))) != 0)
		die(rc, "%s", err);
	{
		struct sm_prep p = {
			.hostname = cfg->hostname,
			.from_addr = sender[0] != '\0' ? sender : login,
			.fullname = fullname,
			.now = (int64_t)time(NULL),
			.extract = o->extract,
		};

		if ((rc = sm_prepare(&in, &p, &msg, &got, err,
		    sizeof(err))) != 0)
			die(rc, "%s", err);
	}
	/* What smtpd and queued would refuse in the message as it goes
	 * (Bcc: removed, fields added, CRLF line ends). A line is named by
	 * its number in the input when it is there; else it is a field
	 * added here. */
	if ((rc = sm_check_message(msg.buf != NULL ? msg.buf : "", msg.len,
	    max, cfg->max_hops, NULL, err, sizeof(err))) != 0) {
		if (strncmp(err, "line ", 5) != 0)
			die(rc, "message refused: %s", err);
		if (sm_check_message(in.buf != NULL ? in.buf : "", in.len,
		    SIZE_MAX, UINT_MAX, NULL, err, sizeof(err)) != 0)
			die(rc, "message refused: %s", err);
		die(rc, "message refused: a header field added to it (From:, "
		    "made with the -F name?) is longer than %d octets",
		    SM_LINE_MAX);
	}
	sm_msg_free(&in);
	add_rcpts(&all, &got, cfg->hostname, EX_DATAERR);
	sm_addrs_free(&got);
	if (all.n == 0)
		die(EX_USAGE, "no recipient addresses found in the message "
		    "header");
	/* The envelope as queued reads a drop file (and smtpd would take
	 * the same addresses): refused here, never quarantined there. */
	if (sm_check_envelope(sender, all.v, all.n, &bad, err,
	    sizeof(err)) == -1)
		die(bad < 0 ? (o->sender != NULL ? EX_USAGE : EX_CONFIG) :
		    (size_t)bad < ncmd ? EX_USAGE : EX_DATAERR, "%s", err);

	memset(&sub, 0, sizeof(sub));
	sub.sender = sender;
	sub.rcpts = all.v;
	sub.nrcpts = all.n;
	sub.msg = msg.buf != NULL ? msg.buf : "";
	sub.len = msg.len;
	sub.notify = o->notify;
	sub.ret = o->ret;
	sub.body = o->body;
	sub.verbose = o->verbose;
	if ((fd = sm_connect(cfg->submit_socket, SM_CONNECT_TIMEOUT_MS)) ==
	    -1) {
		if (!sm_not_running(errno))
			die(EX_TEMPFAIL, "cannot submit the message now, try "
			    "again later: %s: %s", cfg->submit_socket,
			    errno == ETIMEDOUT ? "no connection accepted in "
			    "time (Empath busy or restarting)" : strerror(errno));
		if (o->verbose)
			fprintf(stderr, "%s: Empath is not running (%s: %s): "
			    "writing a drop file\n", prog, cfg->submit_socket,
			    strerror(errno));
		status = drop(o, cfg, pw, sender, &all, &msg);
		goto done;
	}
	sm_submit_fd(fd, &sub, &res);
	close(fd);

	if (res.outcome == SM_DEFERRED)
		fprintf(stderr, "%s: message not submitted, try again later: "
		    "%s\n", prog, res.reply);
	else if (res.outcome == SM_REFUSED_SENDER)
		fprintf(stderr, "%s: sender <%s> refused: %s\n", prog,
		    sender, res.reply);
	else if (res.outcome == SM_REFUSED_RCPTS)
		fprintf(stderr, "%s: every recipient was refused\n", prog);
	else if (res.outcome != SM_SENT)
		fprintf(stderr, "%s: message refused: %s\n", prog, res.reply);
	status = sm_exit_code(&res);
	free(res.refused);
done:
	sm_msg_free(&msg);
	sm_addrs_free(&all);
	free(sender);
	return status;
}

int
main(int argc, char **argv)
{
	struct sm_opts o;
	struct config *cfg;
	const char *path = SYSCONFDIR "/empath.conf", *env, *base;
	char err[256];
	int status;

	/* An empty argument vector (execve() with argv[0] NULL): getopt
	 * would read the environment as arguments. */
	if (argc < 1 || argv == NULL || argv[0] == NULL) {
		fputs("sendmail: no program name (empty argument vector)\n",
		    stderr);
		return EX_USAGE;
	}
	std_fds();
	priv_init();
	umask(022);
	signal(SIGPIPE, SIG_IGN);
	/* A file size limit makes write() fail instead of killing us
	 * with a temporary file left behind. */
	signal(SIGXFSZ, SIG_IGN);
	base = strrchr(argv[0], '/');
	base = base != NULL ? base + 1 : argv[0];
	if (base[0] != '\0')
		strlcpy(prog, base, sizeof(prog));

	if (sm_opts_parse(argc, argv, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		sm_usage(prog);
		return EX_USAGE;
	}
	if (o.mode == SM_NEWALIASES) {
		fprintf(stderr, "%s: Empath has no aliases database: nothing "
		    "to do\n", prog);
		return EX_OK;
	}
	/* What the caller chooses is used without the group, for good.
	 * No other variable of the environment is read. */
	if (o.config != NULL) {
		priv_giveup();
		path = o.config;
	} else if ((env = getenv("EMPATH_CONFIG")) != NULL && env[0] != '\0') {
		priv_giveup();
		path = env;
	}
	if (o.mode != SM_DELIVER)
		priv_giveup();
	/* Still setgid: deliver mode runs nothing and reads no variable
	 * from here on, so nothing of the caller's environment stays. */
	if (priv_held() && clearenv() != 0)
		die(EX_OSERR, "cannot clear the environment");
	if ((cfg = config_load(path, NULL, NULL, cfg_error)) == NULL)
		die(EX_CONFIG, "cannot use the configuration %s", path);

	switch (o.mode) {
	case SM_QUEUE_LIST:
		run_empathctl(cfg, "list");
	case SM_QUEUE_RUN:
		run_empathctl(cfg, "process-now");
	case SM_SMTP:
		run_smtp(cfg);
	default:
		break;
	}
	status = deliver(&o, cfg);
	config_free(cfg);
	return status;
}
