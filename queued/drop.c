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
 * Its sender must be one that user may give (localusers_login_sender)
 * under the login name the master gives the uid now (M_USER_LOOKUP,
 * answered by getpwuid_r(3)): names are asked once per round of scans
 * and forgotten at the next round, so a renamed or reused uid counts
 * from the next round on. A file whose uid is not answered yet is not
 * read; the pass runs again once every answer of the round is in. What
 * fails a check is moved to corrupt/ as "drop-NAME", never delivered,
 * and so is the file of a uid that no user has (deleted).
 *
 * A file left in place (it could not be read or queued, its sync
 * failed) is remembered for the round by (dev, ino, mtime, size) and
 * not read again before the next round: nothing makes a pass loop.
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

#include "daemon.h"
#include "dropfile.h"
#include "event.h"
#include "localusers.h"
#include "log.h"
#include "msgcheck.h"
#include "queued.h"
#include "smtp.h"
#include "spool.h"
#include "util.h"
#include "wire.h"

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
/* Lookups of login names waiting for the master at once, and uids
 * known in one round: past them files wait for the next pass or round. */
#define DROP_LOOKUPS_MAX 64
#define DROP_UIDS_MAX    1024
/* Files left in place remembered in one round. */
#define DROP_LEFT_MAX    4096

/* A file being taken in: in the pipeline until finished. */
struct take {
	struct take *next;
	char         name[DROP_NAME_LEN + 1];
	char         id[ULID_LEN + 1];
	uid_t        uid;
	dev_t        dev;
	ino_t        ino;
	struct timespec mtime;
	off_t        size;
	size_t       nrcpt;
};

/* A uid's login name in this round: asked, or answered ("" none). */
struct uname {
	uid_t uid;
	bool  pending;
	char  name[WIRE_LOGIN_MAX + 1];
};

/* A file left in place in this round. */
struct leftfile {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
};

static int dir_fd = -1;
static struct ev_timer *timer;
static unsigned scan_ms = DROP_SCAN_MS;
static uint64_t max_message;
static struct take *busy;
static size_t nbusy;
static bool more;                  /* a pass stopped at DROP_INFLIGHT */
/* The round: from the scan timer to the next; passes in between (more
 * files, answers in) keep its names and files left. */
static bool same_round;            /* the next pass continues the round */
static uint64_t round_id;          /* the cookie of its lookups */
static uint64_t round_started;     /* mono_ms() */
static struct uname *unames;
static size_t nunames, npending;
static bool uids_full_said;
static struct leftfile *lefts;
static size_t nlefts;

void
drop_set_interval(unsigned ms)
{
	scan_ms = ms;
}

void
drop_configure(const struct config *cfg)
{
	const struct cfg_listen *l;

	max_message = 0;
	TAILQ_FOREACH(l, &cfg->listeners, entry)
		if (l->max_message_size > max_message)
			max_message = l->max_message_size;
	if (max_message == 0)
		max_message = DROP_DEFAULT_MAX;
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

/* ---- the round: login names and files left ---- */

static void
new_round(void)
{
	round_id++;
	round_started = mono_ms();
	nunames = npending = 0;
	nlefts = 0;
	uids_full_said = false;
}

static struct uname *
uname_find(uid_t uid)
{
	for (size_t i = 0; i < nunames; i++)
		if (unames[i].uid == uid)
			return &unames[i];
	return NULL;
}

/* Ask the master who uid is; false when too much is asked already. */
static bool
uname_ask(uid_t uid)
{
	struct wire_user_lookup w = { .cookie = round_id, .uid = (uint32_t)uid };
	struct msgbuf mb;

	if (npending >= DROP_LOOKUPS_MAX)
		return false;
	if (nunames >= DROP_UIDS_MAX) {
		if (!uids_full_said)
			log_warnx("drop: files of more than %u users: the others "
			    "wait for the next scan", DROP_UIDS_MAX);
		uids_full_said = true;
		return false;
	}
	if (unames == NULL)
		unames = xcalloc(DROP_UIDS_MAX, sizeof(*unames));
	mb_init(&mb);
	if (wire_user_lookup_encode(&mb, &w) == -1 ||
	    daemon_master_send(M_USER_LOOKUP, 0, &mb) == -1)
		log_warnx("drop: cannot ask the master who uid %u is",
		    (unsigned)uid);
	mb_free(&mb);
	/* Pending even when not sent: the next round asks again. */
	unames[nunames].uid = uid;
	unames[nunames].pending = true;
	unames[nunames].name[0] = '\0';
	nunames++;
	npending++;
	return true;
}

void
drop_user_name(const struct chan_msg *m)
{
	struct wire_user_name w;
	struct uname *u;

	if (wire_user_name_decode(m, &w) == -1) {
		log_warnx("drop: malformed M_USER_NAME from the master ignored");
		return;
	}
	/* An answer of an earlier round, or to nothing asked: ignored. */
	if (w.cookie != round_id || (u = uname_find((uid_t)w.uid)) == NULL ||
	    !u->pending)
		return;
	strlcpy(u->name, w.name, sizeof(u->name));
	u->pending = false;
	npending--;
	if (npending == 0 && timer != NULL && !Q.stopping) {
		same_round = true;
		ev_timer_start(timer, 0);
	}
}

static bool
same_file(const struct leftfile *l, dev_t dev, ino_t ino,
    struct timespec mtime, off_t size)
{
	return l->dev == dev && l->ino == ino && l->size == size &&
	    l->mtime.tv_sec == mtime.tv_sec && l->mtime.tv_nsec == mtime.tv_nsec;
}

static void
left_add(dev_t dev, ino_t ino, struct timespec mtime, off_t size)
{
	if (nlefts >= DROP_LEFT_MAX)
		return;                /* read again in this round: no loop */
	if (lefts == NULL)
		lefts = xcalloc(DROP_LEFT_MAX, sizeof(*lefts));
	lefts[nlefts++] = (struct leftfile){ dev, ino, mtime, size };
}

static bool
left_has(const struct stat *st)
{
	for (size_t i = 0; i < nlefts; i++)
		if (same_file(&lefts[i], st->st_dev, st->st_ino, st->st_mtim,
		    st->st_size))
			return true;
	return false;
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

/* What smtpd would refuse in DATA, the first found in the message: a
 * first line that would continue our Received: field, NUL, a line over
 * 998 octets; then too many hops, too big. Line ends are LF, CRLF or a
 * bare CR (write_message() makes each CRLF). NULL: none. */
static const char *
refusal(const char *m, size_t len, struct msgcheck *mc)
{
	msgcheck_measure(m, len, MSGCHECK_BARE_CR, mc);
	if (mc->lead_wsp)
		return "the first line starts with white space";
	if (mc->nul_line != 0 && (mc->long_line == 0 ||
	    mc->nul_line <= mc->long_line))
		return "NUL octet in the message";
	if (mc->long_line != 0)
		return "line longer than 998 octets";
	if (mc->hops > Q.cfg->max_hops)
		return "too many hops (Received: fields): mail loop?";
	if (mc->size > max_message)
		return "message bigger than max-message-size";
	return NULL;
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

/* The message with every line end made CRLF; refusal() accepted it. */
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
		    "file is kept (it may be queued again at the next scan)",
		    t->name, t->id);
		left_add(t->dev, t->ino, t->mtime, t->size);
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
	if (!kept)
		left_add(t->dev, t->ino, t->mtime, t->size);
	busy_remove(t);
	free(t);
	if (nbusy == 0 && more && timer != NULL && !Q.stopping) {
		same_round = true;
		ev_timer_start(timer, 0);
	}
	queued_check_stop();
}

/* Queue the message of a checked file; false when it could not be
 * written (the file stays for the next scan). */
static bool
enqueue(const char *name, const struct stat *st, struct drop_env *de,
    const char *msg, size_t len, const struct msgcheck *mc)
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
	env.body = xstrdup(mc->eightbit ? "8BITMIME" : "7BIT");
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
	t->mtime = st->st_mtim;
	t->size = st->st_size;
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

enum take_result { TAKEN, LEFT, WAITING };

/* One final-named entry; *bytes grows by what was read. The owner is
 * known before anything is read: a file whose owner's name is not
 * answered yet is not read (WAITING). */
static enum take_result
take(const char *name, uint64_t *bytes)
{
	struct drop_env de;
	struct msgcheck mc;
	const char *refused;
	struct stat st;
	const struct uname *u;
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
	if (left_has(&st))
		goto out;              /* left in this round already */
	if ((u = uname_find(st.st_uid)) == NULL) {
		(void)uname_ask(st.st_uid);
		rv = WAITING;
		goto out;
	}
	if (u->pending) {
		rv = WAITING;
		goto out;
	}
	if (u->name[0] == '\0') {
		snprintf(why, sizeof(why), "no user has uid %u now (deleted?)",
		    (unsigned)st.st_uid);
		quarantine(name, st.st_uid, true, why);
		goto out;
	}
	if ((buf = read_file(fd, (size_t)st.st_size, &len)) == NULL) {
		log_warn("drop: cannot read %s", name);
		left_add(st.st_dev, st.st_ino, st.st_mtim, st.st_size);
		goto out;
	}
	*bytes += len;
	if (dropfile_parse(buf, len, &de, &body, err, sizeof(err)) == -1) {
		quarantine(name, st.st_uid, true, err);
		goto out;
	}
	if (localusers_login_sender(Q.cfg, u->name, de.sender) != LSENDER_OK) {
		snprintf(why, sizeof(why), "sender <%s> not owned by user %s",
		    log_sanitize(de.sender, who, sizeof(who)), u->name);
		quarantine(name, st.st_uid, true, why);
		drop_env_free(&de);
		goto out;
	}
	if ((refused = refusal(buf + body, len - body, &mc)) != NULL)
		quarantine(name, st.st_uid, true, refused);
	else if (enqueue(name, &st, &de, buf + body, len - body, &mc))
		rv = TAKEN;
	else
		left_add(st.st_dev, st.st_ino, st.st_mtim, st.st_size);
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

/* A pass over the directory. The scan timer begins a round (names asked
 * again, files left tried again); a pass for more files, for answers
 * come in, or after DROP_PASS_BYTES continues it (for at most one
 * interval). */
static void
scan(void *arg)
{
	struct dirent *de;
	DIR *d;
	uint64_t bytes = 0;
	size_t waiting = 0;
	int64_t now = wall_s();
	bool again = false;
	int fd;

	(void)arg;
	if (dir_fd == -1 || Q.stopping || Q.store == NULL)
		return;
	if (!same_round || mono_ms() - round_started >= scan_ms)
		new_round();
	same_round = false;
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
		if (take(de->d_name, &bytes) == WAITING)
			waiting++;
	}
	closedir(d);
	if (waiting > 0)
		log_debug("drop: %zu file%s wait for the login name of their "
		    "owner", waiting, waiting == 1 ? "" : "s");
	/* Answers still to come start the next pass (drop_user_name); an
	 * answer lost is asked again in the next round. */
	if (again && npending == 0) {
		same_round = true;
		ev_timer_start(timer, 0);
	} else
		ev_timer_start(timer, scan_ms);
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
