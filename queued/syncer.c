/* SPDX-License-Identifier: ISC */
/* The sync thread (see syncer.h). A mutex and a condition variable hand a
 * round over; an eventfd wakes the loop when it is done.
 *
 * Why syncfs() and not one fdatasync() per file: on ext4 every fdatasync
 * of a new file waits for its own journal commit, so N messages cost N
 * commits; one syncfs() writes back every dirty file of the file system
 * and commits the journal once, then flushes the disk cache (the measured
 * cost here: 0.77 ms for 10 new 4 KiB files, against 2.5 ms with
 * fdatasync). It also covers the renames and the index's WAL, so one call
 * per round replaces the file, directory and database syncs. Its errors
 * are reported (Linux >= 5.8 reports writeback errors through syncfs).
 *
 * A round that publishes need not sync (pipeline.c): the data of each file
 * is written out to the disk (sync_file_range: no cache flush, no journal
 * commit) BEFORE its rename, so that the journal commit that makes the
 * rename durable, with the flush that precedes it, finds the data on the
 * disk already: a file in queue/ after a crash holds all of its message. */
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "event.h"
#include "log.h"
#include "spool.h"
#include "syncer.h"
#include "util.h"

/* The file systems to sync: the spool (queue.db) and queue/, when it is a
 * different mount. */
#define SYNC_FS_MAX 2

static struct {
	pthread_t          thread;
	bool               running;
	pthread_mutex_t    mu;
	pthread_cond_t     cv;
	struct sync_round *handoff;       /* handed to the thread */
	struct sync_round *done;       /* handed back */
	bool               quit;
	bool               busy;       /* a round is in flight (loop side) */
	int                efd;
	struct ev_io      *io;
	int                incoming_fd, queue_fd;
	int                fs_fd[SYNC_FS_MAX];
	size_t             nfs;
	sqlite3           *db;         /* the thread's own, for checkpoints */
} Y = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.efd = -1, .incoming_fd = -1, .queue_fd = -1,
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Wipe the old content of a file to be reused: every byte reads as zero
 * afterwards, the blocks stay allocated (unwritten extents) and the size
 * stays. Freeing blocks is what costs (ftruncate and unlink measured 1 to
 * 4 ms a file here, on ext4 mounted with discard; zeroing a range 30 us).
 * Where the file system cannot zero a range, the file is cut to nothing. */
static int
wipe(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1)
		return -1;
	if (sb.st_size == 0)
		return 0;
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0,
	    sb.st_size) == 0)
		return 0;
	return ftruncate(fd, 0);
}

/* Make one file of the pool.
 *
 * Recycling keeps the inode and its blocks: an ext4 file system pays
 * dearly for freeing blocks (journal, discard) and for allocating inodes
 * just freed; a file that is reused costs two renames and a wipe. It is
 * safe only when nobody else has the file open (a delivery job of a
 * message deleted meanwhile may still read it, smtpd may have kept a copy
 * of its descriptor): a write lease is granted only then. Its old content
 * is wiped while the lease is held, before it is renamed into the pool:
 * no byte smtpd leaves unwritten can be another message's. The offset of
 * the new open file is 0: where smtpd's writes end is where the offset
 * ends (commit.c), whatever the size of the file. */
static void
make_file(struct sync_file *f)
{
	int fd;

	f->err = 0;
	f->old_gone = false;
	f->fd = -1;
	f->reused = false;
	if (f->kind == SF_RECYCLE) {
		fd = openat(Y.queue_fd, f->old, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd != -1 && fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
			int wiped = wipe(fd);

			(void)fcntl(fd, F_SETLEASE, F_UNLCK);
			if (wiped == 0 &&
			    renameat(Y.queue_fd, f->old, Y.incoming_fd, f->id) == 0) {
				f->fd = fd;
				f->reused = true;
				f->old_gone = true;
				return;
			}
		}
		if (fd != -1)
			close(fd);
		/* In use, the lease refused, or not wiped: the plain way. */
		if (unlinkat(Y.queue_fd, f->old, 0) == 0 || errno == ENOENT)
			f->old_gone = true;
	}
	f->fd = openat(Y.incoming_fd, f->id, O_CREAT | O_EXCL | O_RDWR |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f->fd == -1)
		f->err = errno;
}

/* A file to publish holds its message and nothing after it: a reused
 * file may be longer (zeros) than what was written into it this time. */
static int
cut_to_size(const struct sync_item *it)
{
	struct stat sb;

	if (it->fd == -1)
		return 0;
	if (fstat(it->fd, &sb) == -1)
		return -1;
	if ((uint64_t)sb.st_size > it->size &&
	    ftruncate(it->fd, (off_t)it->size) == -1)
		return -1;
	return 0;
}

/* Is the file still what was measured at the commit (its size, and the
 * offset where its writer stopped)? */
static bool
unchanged(const struct sync_item *it)
{
	struct stat sb;

	return fstat(it->fd, &sb) == 0 && (uint64_t)sb.st_size == it->size &&
	    lseek(it->fd, 0, SEEK_CUR) == (off_t)it->size;
}

/* Write the data of a file to publish out to the disk and wait for it:
 * the blocks are allocated (or their unwritten extents converted) by the
 * time this returns, so the journal orders them before the rename. A
 * message queued wrote itself (fd -1) is opened by name. */
static int
write_out(const struct sync_item *it, unsigned flags)
{
	int fd = it->fd, rc, err;

	if (fd == -1 && (fd = openat(Y.incoming_fd, it->id, O_RDONLY |
	    O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	rc = sync_file_range(fd, 0, 0, flags);
	/* Where the call is not supported the round syncs (run_round). */
	if (rc == -1 && (errno == ENOSYS || errno == EINVAL || errno == ESPIPE))
		rc = -2;
	err = errno;
	if (fd != it->fd)
		close(fd);
	errno = err;
	return rc;
}

static void
run_round(struct sync_round *r)
{
	size_t i;
	uint64_t t0;
	bool syncs = r->sync;
	int rc;

	/* A round that syncs makes the files durable before any row names
	 * them: no write-out needed. Else every file's writes are started
	 * first, then each is waited for: the disk gets them together. */
	for (i = 0; !syncs && i < r->npublish; i++)
		if (r->publish[i].fd != -1)
			(void)sync_file_range(r->publish[i].fd, 0, 0,
			    SYNC_FILE_RANGE_WRITE);
	for (i = 0; i < r->npublish; i++) {
		struct sync_item *it = &r->publish[i];

		it->err = 0;
		rc = syncs ? 0 : write_out(it, SYNC_FILE_RANGE_WAIT_BEFORE |
		    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
		if (rc == -1 || cut_to_size(it) == -1 ||
		    renameat(Y.incoming_fd, it->id, Y.queue_fd, it->id) == -1)
			it->err = errno;
		else if (rc == -2)
			r->sync = true;       /* no write-out: the old way */
	}
	for (i = 0; i < r->nunlink; i++) {
		struct sync_item *it = &r->unlink[i];

		it->err = 0;
		if (unlinkat(Y.queue_fd, it->id, 0) == -1 && errno != ENOENT)
			it->err = errno;
	}
	for (i = 0; i < r->nfiles; i++)
		make_file(&r->files[i]);
	r->sync_err = 0;
	r->nsyncs = 0;
	r->sync_us = 0;
	if (r->sync) {
		t0 = now_us();
		for (i = 0; i < Y.nfs; i++) {
			r->nsyncs++;
			if (syncfs(Y.fs_fd[i]) == -1 && r->sync_err == 0)
				r->sync_err = errno;
		}
		r->sync_us = now_us() - t0;
	}
	/* The size written out (and durable with the next sync) is the one
	 * queued stores. */
	for (i = 0; i < r->npublish; i++) {
		struct sync_item *it = &r->publish[i];

		it->changed = it->err == 0 && it->fd != -1 && !unchanged(it);
	}
	if (!r->sync)
		return;
	/* After the sync: what it copies is durable in the WAL already. A
	 * passive checkpoint waits for nobody; the loop's connection keeps
	 * writing meanwhile. It syncs the WAL and the database itself. */
	r->checkpointed = false;
	if (r->checkpoint && Y.db != NULL && r->sync_err == 0)
		r->checkpointed = sqlite3_wal_checkpoint_v2(Y.db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK;
}

static void *
thread_main(void *arg)
{
	struct sync_round *r;
	uint64_t one = 1;
	ssize_t n;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&Y.mu);
		while (Y.handoff == NULL && !Y.quit)
			pthread_cond_wait(&Y.cv, &Y.mu);
		if (Y.handoff == NULL) {
			pthread_mutex_unlock(&Y.mu);
			return NULL;
		}
		r = Y.handoff;
		Y.handoff = NULL;
		pthread_mutex_unlock(&Y.mu);

		run_round(r);

		pthread_mutex_lock(&Y.mu);
		r->next = NULL;
		Y.done = r;
		pthread_mutex_unlock(&Y.mu);
		do
			n = write(Y.efd, &one, sizeof(one));
		while (n == -1 && errno == EINTR);
	}
}

/* The loop side: the round is over. */
static void
efd_cb(int fd, int events, void *arg)
{
	struct sync_round *r;
	uint64_t v;

	(void)events;
	(void)arg;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_warn("sync thread: eventfd");
	pthread_mutex_lock(&Y.mu);
	r = Y.done;
	Y.done = NULL;
	pthread_mutex_unlock(&Y.mu);
	if (r == NULL)
		return;
	Y.busy = false;
	r->done(r);
}

static int
add_fs(int fd)
{
	struct stat sb, other;
	size_t i;

	if (fstat(fd, &sb) == -1)
		return -1;
	for (i = 0; i < Y.nfs; i++)
		if (fstat(Y.fs_fd[i], &other) == 0 && other.st_dev == sb.st_dev)
			return 0;
	if (Y.nfs == SYNC_FS_MAX)
		return 0;
	Y.fs_fd[Y.nfs++] = fd;
	return 0;
}

/* The thread's connection: same file, synchronous=FULL so that a
 * checkpoint syncs what it copies. */
static void
open_db(const char *dbpath, bool *checkpoints)
{
	*checkpoints = false;
	if (dbpath == NULL || sqlite3_threadsafe() == 0)
		return;
	if (sqlite3_open_v2(dbpath, &Y.db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_exec(Y.db, "PRAGMA synchronous=FULL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		log_warnx("sync thread: cannot open %s (%s): checkpoints stay "
		    "with the main thread", dbpath, Y.db ? sqlite3_errmsg(Y.db) :
		    "out of memory");
		sqlite3_close(Y.db);
		Y.db = NULL;
		return;
	}
	sqlite3_busy_timeout(Y.db, 100);
	*checkpoints = true;
}

int
syncer_start(const char *dbpath, bool *checkpoints)
{
	sigset_t all, old;
	int rc, spool_fd;

	Y.incoming_fd = open(SPOOL_INCOMING, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	Y.queue_fd = open(SPOOL_QUEUE, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	spool_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (Y.incoming_fd == -1 || Y.queue_fd == -1 || spool_fd == -1)
		return -1;
	/* The spool's own descriptor is always the first. */
	if (add_fs(spool_fd) == -1 || add_fs(Y.queue_fd) == -1)
		return -1;
	Y.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (Y.efd == -1)
		return -1;
	open_db(dbpath, checkpoints);
	Y.io = ev_io_add(Y.efd, EV_READ, efd_cb, NULL);
	/* Signals stay with the loop thread (signalfd): the new thread
	 * starts with all of them blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&Y.thread, NULL, thread_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	Y.running = true;
	return 0;
}

void
syncer_submit(struct sync_round *r)
{
	if (Y.busy)
		fatalx("sync thread: a round submitted while one is in flight");
	Y.busy = true;
	pthread_mutex_lock(&Y.mu);
	Y.handoff = r;
	pthread_cond_signal(&Y.cv);
	pthread_mutex_unlock(&Y.mu);
}

bool
syncer_busy(void)
{
	return Y.busy;
}

void
syncer_stop(void)
{
	size_t i;

	if (!Y.running)
		return;
	pthread_mutex_lock(&Y.mu);
	Y.quit = true;
	pthread_cond_signal(&Y.cv);
	pthread_mutex_unlock(&Y.mu);
	pthread_join(Y.thread, NULL);
	Y.running = false;
	if (Y.io != NULL)
		ev_io_del(Y.io);
	Y.io = NULL;
	close(Y.efd);
	close(Y.incoming_fd);
	close(Y.queue_fd);
	for (i = 0; i < Y.nfs; i++)
		if (Y.fs_fd[i] != Y.queue_fd)
			close(Y.fs_fd[i]);
	Y.efd = Y.incoming_fd = Y.queue_fd = -1;
	Y.nfs = 0;
	if (Y.db != NULL && sqlite3_close(Y.db) != SQLITE_OK)
		log_warnx("sync thread: closing its index connection failed");
	Y.db = NULL;
}
