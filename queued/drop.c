/* SPDX-License-Identifier: ISC */
/* The offline drop directory (doc/architecture.md, "Offline drop
 * directory"): messages empath-sendmail left in SPOOL/drop while no
 * daemon answered, taken into the queue after recovery and then every
 * DROP_SCAN_MS.
 *
 * The owner of a file (st_uid, set by the kernel when the user created
 * it) is the submitting user; nothing in the file is believed beyond
 * what is checked here. Only a final name (dropfile_name_ok) is taken,
 * opened without following a link, and only a regular file with one
 * link: a hard link to another user's file would lie about its owner.
 * Its sender must be one that user may give (localusers_sender). What
 * fails a check is moved to corrupt/ as "drop-NAME", never delivered; a
 * file of a uid the password table did not know at start is left for
 * the next start.
 *
 * A file taken becomes a message like one queued writes itself (its
 * notices, bounce.c): written into incoming/ with the Received: field
 * that records the uid on top and every line end made CRLF, then through
 * the commit pipeline (commit.c). The drop file is removed only once the
 * message's insert is durable: a crash between the two leaves both, and
 * the next start queues the message a second time (at most one
 * duplicate, never a loss). */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dropfile.h"
#include "event.h"
#include "localusers.h"
#include "log.h"
#include "queued.h"
#include "smtp.h"
#include "spool.h"
#include "util.h"

#define DROP_SCAN_MS     (60 * 1000)
/* Messages of the directory in the pipeline at once; the rest waits. */
#define DROP_INFLIGHT    64
/* Octets read in one pass of the loop: a pass that reaches this goes on
 * at the next turn, so that big files do not hold the loop. */
#define DROP_PASS_BYTES  (64 * 1024 * 1024)
/* Room for the envelope in a file, beyond the largest message. */
#define DROP_ENV_ROOM    (1024 * 1024)
/* Without any listener: the default max-message-size. */
#define DROP_DEFAULT_MAX (35 * 1024 * 1024)
/* A writer's temporary ".NAME" older than this was abandoned. */
#define DROP_STALE_S     (24 * 3600)
#define WBUF_SIZE        (64 * 1024)

/* A file being taken in: in the pipeline until finished. */
struct take {
	struct take *next;
	char         name[DROP_NAME_LEN + 1];
	char         id[ULID_LEN + 1];
	uid_t        uid;
	dev_t        dev;
	ino_t        ino;
	size_t       nrcpt;
};

static int dir_fd = -1;
static struct ev_timer *timer;
static unsigned scan_ms = DROP_SCAN_MS;
static uint64_t max_message;
static struct take *busy;
static size_t nbusy;
static bool more;                  /* a pass stopped at DROP_INFLIGHT */

void
drop_set_interval(unsigned ms)
{
	scan_ms = ms;
}

void
drop_configure(const struct config *cfg)
{
	const struct cfg_listen *l;
	size_t n;

	max_message = 0;
	TAILQ_FOREACH(l, &cfg->listeners, entry)
		if (l->max_message_size > max_message)
			max_message = l->max_message_size;
	if (max_message == 0)
		max_message = DROP_DEFAULT_MAX;
	/* Before the chroot: the password database is out of reach after. */
	n = localusers_load();
	log_debug("drop: %zu local users known", n);
}

void
drop_open(void)
{
	/* The working directory is the spool (queued's chroot, or its
	 * chdir when unprivileged): the master made drop/ there, ours. */
	if (dir_fd == -1 && (dir_fd = open(DROP_SUBDIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		log_warn("drop: cannot open %s/%s/: messages left there while "
		    "empath was down are not taken in", Q.cfg->spool, DROP_SUBDIR);
}

static bool
is_busy(const char *name)
{
	const struct take *t;

	for (t = busy; t != NULL; t = t->next)
		if (strcmp(t->name, name) == 0)
			return true;
	return false;
}

static void
busy_remove(struct take *t)
{
	struct take **pp;

	for (pp = &busy; *pp != NULL; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			nbusy--;
			return;
		}
}

/* Never delivered: kept in corrupt/ for the operator. */
static void
quarantine(const char *name, uid_t uid, bool uid_known, const char *why)
{
	char to[sizeof(SPOOL_CORRUPT) + DROP_NAME_LEN + 16];

	struct stat st;

	/* A link or a special file was not opened: its owner from its entry. */
	if (!uid_known && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		uid = st.st_uid;
		uid_known = true;
	}
	snprintf(to, sizeof(to), "%s/drop-%s", SPOOL_CORRUPT, name);
	if (renameat(dir_fd, name, AT_FDCWD, to) == -1) {
		log_warn("drop: %s: %s; cannot move it to %s/", name, why,
		    SPOOL_CORRUPT);
		return;
	}
	if (uid_known)
		log_warnx("drop: %s from uid %u: %s; moved to %s/drop-%s, not "
		    "delivered", name, (unsigned)uid, why, SPOOL_CORRUPT, name);
	else
		log_warnx("drop: %s: %s; moved to %s/drop-%s, not delivered", name,
		    why, SPOOL_CORRUPT, name);
}

/* ---- the message ---- */

struct msginfo {
	uint64_t size;                 /* converted: CRLF line ends */
	unsigned hops;                 /* Received: fields of the header */
	bool     eightbit;
	const char *problem;           /* why it cannot be queued */
};

/* Is line (n octets, its end excluded) a Received: field's first line
 * (RFC 5322 3.6.7; white space before the colon, 4.5.3)? */
static bool
is_received(const char *line, size_t n)
{
	size_t i = 8;

	if (n < 9 || strncasecmp(line, "received", 8) != 0)
		return false;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < n && line[i] == ':';
}

/* Measure the message as it will be written, and find what smtpd would
 * refuse in DATA: NUL, a line over SMTP_TEXT_LINE_MAX octets, too many
 * hops, too big. Line ends are LF, CRLF or a bare CR. */
static void
measure(const char *m, size_t len, struct msginfo *mi)
{
	size_t i = 0, start;
	bool header = true;

	memset(mi, 0, sizeof(*mi));
	while (i < len) {
		size_t n, eol = 0;

		for (start = i; i < len && m[i] != '\n' && m[i] != '\r'; i++) {
			if (m[i] == '\0') {
				mi->problem = "NUL octet in the message";
				return;
			}
			if ((unsigned char)m[i] >= 0x80)
				mi->eightbit = true;
		}
		n = i - start;
		if (i < len)
			eol = m[i] == '\r' && i + 1 < len && m[i + 1] == '\n' ? 2 : 1;
		i += eol;
		if (n > SMTP_TEXT_LINE_MAX) {
			mi->problem = "line longer than 998 octets";
			return;
		}
		if (header) {
			if (n == 0)
				header = false;
			else if (is_received(m + start, n))
				mi->hops++;
		}
		mi->size += n + 2;     /* a last line without its end gets one */
	}
	if (mi->hops > Q.cfg->max_hops)
		mi->problem = "too many hops (Received: fields): mail loop?";
	else if (mi->size > max_message)
		mi->problem = "message bigger than max-message-size";
}

struct wbuf {
	int    fd;
	size_t n;
	bool   err;
	char   b[WBUF_SIZE];
};

static void
wb_put(struct wbuf *w, const char *s, size_t n)
{
	while (n > 0 && !w->err) {
		size_t k = sizeof(w->b) - w->n;

		if (k > n)
			k = n;
		memcpy(w->b + w->n, s, k);
		w->n += k;
		s += k;
		n -= k;
		if (w->n == sizeof(w->b)) {
			w->err = write_all(w->fd, w->b, w->n) == -1;
			w->n = 0;
		}
	}
}

/* The message with every line end made CRLF; measure() accepted it. */
static int
write_message(int fd, const char *top, size_t toplen, const char *m,
    size_t len)
{
	static struct wbuf w;
	size_t i = 0, start;

	w.fd = fd;
	w.n = 0;
	w.err = false;
	wb_put(&w, top, toplen);
	while (i < len) {
		for (start = i; i < len && m[i] != '\n' && m[i] != '\r'; i++)
			;
		wb_put(&w, m + start, i - start);
		wb_put(&w, "\r\n", 2);
		if (i < len)
			i += m[i] == '\r' && i + 1 < len && m[i + 1] == '\n' ? 2 : 1;
	}
	if (!w.err && w.n > 0)
		w.err = write_all(fd, w.b, w.n) == -1;
	return w.err ? -1 : 0;
}

static bool
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* ---- the commit ---- */

static void
take_durable(void *arg, bool ok)
{
	struct take *t = arg;
	struct stat st;

	if (!ok) {
		log_warnx("drop: %s: queued as %s, but its sync failed: the drop "
		    "file is kept (it may be queued again)", t->name, t->id);
		return;
	}
	/* The name still the file that was read (only root and the queue's
	 * user could have changed it, but a second message is worse than a
	 * file left behind). */
	if (fstatat(dir_fd, t->name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_dev != t->dev || st.st_ino != t->ino)
		log_warnx("drop: %s changed while it was queued as %s: left in "
		    "place", t->name, t->id);
	else if (unlinkat(dir_fd, t->name, 0) == -1)
		log_warn("drop: %s: queued as %s, cannot remove it", t->name, t->id);
	log_info("drop: %s from uid %u queued as %s (%zu recipient%s)", t->name,
	    (unsigned)t->uid, t->id, t->nrcpt, t->nrcpt == 1 ? "" : "s");
}

static void
take_finished(void *arg, bool kept)
{
	struct take *t = arg;

	if (!kept)
		log_warnx("drop: %s could not be queued; it is tried again in the "
		    "next scan", t->name);
	busy_remove(t);
	free(t);
	if (nbusy == 0 && more && timer != NULL && !Q.stopping)
		ev_timer_start(timer, 0);
	queued_check_stop();
}

/* Queue the message of a checked file; false when it could not be
 * written (the file stays for the next scan). */
static bool
enqueue(const char *name, const struct stat *st, struct drop_env *de,
    const char *msg, size_t len, const struct msginfo *mi)
{
	char id[ULID_LEN + 1], top[LOCAL_RECEIVED_MAX];
	struct commit_hook hook;
	struct envelope env;
	struct stat sb;
	struct take *t;
	size_t toplen, i;
	int64_t now = wall_s();
	bool utf8;
	int fd;

	if ((fd = spool_create(id)) == -1) {
		log_warn("drop: %s: cannot create a file in %s/", name,
		    SPOOL_INCOMING);
		return false;
	}
	toplen = localusers_received(top, sizeof(top), Q.cfg->hostname,
	    st->st_uid, NULL, id, now);
	if (toplen == 0 || write_message(fd, top, toplen, msg, len) == -1 ||
	    fstat(fd, &sb) == -1) {
		log_warn("drop: %s: cannot write the message %s", name, id);
		close(fd);
		spool_discard_incoming(id);
		return false;
	}
	close(fd);

	env_init(&env);
	strlcpy(env.id, id, sizeof(env.id));
	env.sender = xstrdup(de->sender);
	env.helo = xstrdup("localhost");
	env.client_addr = xstrdup("local");
	/* As smtpd records BODY=8BITMIME: deliverd converts the message when
	 * the next hop lacks 8BITMIME. */
	env.body = xstrdup(mi->eightbit ? "8BITMIME" : "7BIT");
	utf8 = has_8bit(de->sender);
	for (i = 0; i < de->nrcpts; i++) {
		env_add_rcpt(&env, de->rcpts[i]);
		utf8 = utf8 || has_8bit(de->rcpts[i]);
	}
	/* A UTF-8 address goes out only with SMTPUTF8 (RFC 6531). */
	env.smtputf8 = utf8;
	env.size = (uint64_t)sb.st_size;
	env.created = now;

	t = xcalloc(1, sizeof(*t));
	strlcpy(t->name, name, sizeof(t->name));
	strlcpy(t->id, id, sizeof(t->id));
	t->uid = st->st_uid;
	t->dev = st->st_dev;
	t->ino = st->st_ino;
	t->nrcpt = de->nrcpts;
	t->next = busy;
	busy = t;
	nbusy++;
	memset(&hook, 0, sizeof(hook));
	hook.durable = take_durable;
	hook.finished = take_finished;
	hook.arg = t;
	commit_internal(id, &env, &hook);
	return true;
}

/* Read the whole file (at most st_size octets: it may shrink while
 * read, never grow into more memory). NULL on error. */
static char *
read_file(int fd, size_t size, size_t *got)
{
	char *buf = xmalloc(size ? size : 1);
	ssize_t n;

	*got = 0;
	while (*got < size) {
		n = pread(fd, buf + *got, size - *got, (off_t)*got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return buf;
}

enum take_result { TAKEN, LEFT, UNKNOWN_UID };

/* One final-named entry; *bytes grows by what was read. */
static enum take_result
take(const char *name, uint64_t *bytes, uid_t *uid_out)
{
	struct drop_env de;
	struct msginfo mi;
	struct stat st;
	char err[256], why[512], who[300], *buf = NULL;
	size_t len, body;
	enum take_result rv = LEFT;
	int fd;

	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			quarantine(name, 0, false, "a symbolic link");
		else if (errno == ENXIO)
			quarantine(name, 0, false, "not a regular file");
		else if (errno != ENOENT)
			log_warn("drop: cannot open %s", name);
		return LEFT;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("drop: cannot stat %s", name);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		quarantine(name, st.st_uid, true, "not a regular file");
		goto out;
	}
	if (st.st_nlink != 1) {
		/* Its owner need not be who put it here. */
		quarantine(name, st.st_uid, true, "a file with more than one link");
		goto out;
	}
	if ((uint64_t)st.st_size > max_message + DROP_ENV_ROOM) {
		quarantine(name, st.st_uid, true, "bigger than max-message-size");
		goto out;
	}
	if ((buf = read_file(fd, (size_t)st.st_size, &len)) == NULL) {
		log_warn("drop: cannot read %s", name);
		goto out;
	}
	*bytes += len;
	if (dropfile_parse(buf, len, &de, &body, err, sizeof(err)) == -1) {
		quarantine(name, st.st_uid, true, err);
		goto out;
	}
	switch (localusers_sender(Q.cfg, st.st_uid, de.sender)) {
	case LSENDER_OK:
		break;
	case LSENDER_FORGED:
		snprintf(why, sizeof(why), "sender <%s> not owned by user %s",
		    log_sanitize(de.sender, who, sizeof(who)),
		    localusers_name(st.st_uid));
		quarantine(name, st.st_uid, true, why);
		drop_env_free(&de);
		goto out;
	case LSENDER_UNKNOWN_USER:
		*uid_out = st.st_uid;
		rv = UNKNOWN_UID;
		drop_env_free(&de);
		goto out;
	}
	measure(buf + body, len - body, &mi);
	if (mi.problem != NULL)
		quarantine(name, st.st_uid, true, mi.problem);
	else if (enqueue(name, &st, &de, buf + body, len - body, &mi))
		rv = TAKEN;
	drop_env_free(&de);
out:
	free(buf);
	close(fd);
	return rv;
}

/* A writer's ".NAME" that was never renamed: gone after a day. */
static void
stale_temp(const char *name, int64_t now)
{
	struct stat st;

	if (!dropfile_name_ok(name + 1) ||
	    fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    now - (int64_t)st.st_mtime < DROP_STALE_S)
		return;
	if (unlinkat(dir_fd, name, 0) == -1)
		log_warn("drop: cannot remove the stale temporary file %s", name);
	else
		log_info("drop: removed %s, a temporary file of uid %u abandoned "
		    "since %lld", name, (unsigned)st.st_uid, (long long)st.st_mtime);
}

static void
scan(void *arg)
{
	struct dirent *de;
	DIR *d;
	uint64_t bytes = 0;
	size_t unknown = 0;
	uid_t unknown_uid = 0;
	int64_t now = wall_s();
	bool again = false;
	int fd;

	(void)arg;
	if (dir_fd == -1 || Q.stopping || Q.store == NULL)
		return;
	more = false;
	if ((fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		log_warn("drop: cannot read %s/", DROP_SUBDIR);
		if (fd != -1)
			close(fd);
		ev_timer_start(timer, scan_ms);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			stale_temp(de->d_name, now);
			continue;
		}
		if (!dropfile_name_ok(de->d_name) || is_busy(de->d_name))
			continue;
		if (nbusy >= DROP_INFLIGHT) {
			more = true;          /* take_finished() scans again */
			break;
		}
		if (bytes >= DROP_PASS_BYTES) {
			again = true;
			break;
		}
		if (take(de->d_name, &bytes, &unknown_uid) == UNKNOWN_UID)
			unknown++;
	}
	closedir(d);
	if (unknown > 0)
		log_warnx("drop: %zu file%s left in %s/ (uid %u%s): unknown "
		    "local user, known after queued restarts", unknown,
		    unknown == 1 ? "" : "s", DROP_SUBDIR, (unsigned)unknown_uid,
		    unknown > 1 ? " among them" : "");
	ev_timer_start(timer, again ? 0 : scan_ms);
}

void
drop_start(void)
{
	if (dir_fd == -1)
		return;
	if (timer == NULL)
		timer = ev_timer_new(scan, NULL);
	scan(NULL);
}

void
drop_stop(void)
{
	if (timer != NULL)
		ev_timer_stop(timer);
}

void
drop_close(void)
{
	if (timer != NULL)
		ev_timer_free(timer);
	timer = NULL;
	if (dir_fd != -1)
		close(dir_fd);
	dir_fd = -1;
}
