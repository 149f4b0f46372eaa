/* SPDX-License-Identifier: ISC */
/* The spool side of the queue: rounds of the sync thread (queued/syncer.c)
 * publish files into queue/ (measured again once durable), remove and
 * recycle the files of finished messages, and sync; a file still open
 * elsewhere (a delivery in flight) is never recycled, only unlinked, so
 * its reader keeps its content; a recycled file is handed out empty. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "event.h"
#include "../../queued/spool.h"
#include "../../queued/syncer.h"
#include "util.h"

static const char *dir;
static bool round_over;

static void
put(const char *path, const char *data)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static off_t
size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static void
done(struct sync_round *r)
{
	(void)r;
	round_over = true;
	ev_break();
}

/* Submit a round and run the loop until its callback ran. */
static void
run(struct sync_round *r)
{
	r->done = done;
	round_over = false;
	syncer_submit(r);
	ck_assert(syncer_busy());
	while (!round_over)
		ev_run();
	ck_assert(!syncer_busy());
}

static void
setup(void)
{
	dir = fx_tmpdir("spool");
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(mkdir(SPOOL_INCOMING, 0700), 0);
	ck_assert_int_eq(mkdir(SPOOL_QUEUE, 0700), 0);
	ev_init();
	{ bool ck; ck_assert_int_eq(syncer_start(NULL, &ck), 0); ck_assert(!ck); }
}

static void
teardown(void)
{
	syncer_stop();
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_int_eq(fx_rmtree(dir), 0);
}

START_TEST(publish_and_sync)
{
	struct sync_item items[2];
	struct sync_round r;

	put("incoming/01ARZ3NDEKTSV4RRFFQ69G5FAV", "message");
	memset(&r, 0, sizeof(r));
	memset(items, 0, sizeof(items));
	strlcpy(items[0].id, "01ARZ3NDEKTSV4RRFFQ69G5FAV", sizeof(items[0].id));
	strlcpy(items[1].id, "01BX5ZZKBKACTAV9WEVGEMMVRZ", sizeof(items[1].id));
	items[0].fd = items[1].fd = -1;
	r.publish = items;
	r.npublish = 2;
	r.sync = true;
	run(&r);
	ck_assert_int_eq(items[0].err, 0);
	ck_assert(!items[0].changed);                 /* not measured */
	ck_assert_int_eq(items[1].err, ENOENT);       /* no such file */
	ck_assert_int_eq(size_of("queue/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 7);
	ck_assert_int_eq(size_of("incoming/01ARZ3NDEKTSV4RRFFQ69G5FAV"), -1);
	ck_assert_int_eq(r.sync_err, 0);
	ck_assert_uint_ge(r.nsyncs, 1);

	/* Without sync: no sync call. */
	memset(&r, 0, sizeof(r));
	run(&r);
	ck_assert_uint_eq(r.nsyncs, 0);
}
END_TEST

START_TEST(recycle_only_when_nobody_reads)
{
	struct sync_file f[3];
	struct sync_round r;
	char buf[16];
	int reader;

	put("queue/01ARZ3NDEKTSV4RRFFQ69G5FAV", "busy");
	put("queue/01BX5ZZKBKACTAV9WEVGEMMVRZ", "free old content");
	/* A delivery job still reads the first one. */
	reader = open("queue/01ARZ3NDEKTSV4RRFFQ69G5FAV", O_RDONLY);
	ck_assert_int_ge(reader, 0);

	memset(f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	f[0].kind = SF_RECYCLE;
	strlcpy(f[0].old, "01ARZ3NDEKTSV4RRFFQ69G5FAV", sizeof(f[0].old));
	strlcpy(f[0].id, "01CQKR3XWZVBE5RM3N4TB1A9QJ", sizeof(f[0].id));
	f[1].kind = SF_RECYCLE;
	strlcpy(f[1].old, "01BX5ZZKBKACTAV9WEVGEMMVRZ", sizeof(f[1].old));
	strlcpy(f[1].id, "01DXF6DT00CX9QNNW7PNXQ3YR8", sizeof(f[1].id));
	f[2].kind = SF_CREATE;
	strlcpy(f[2].id, "01E5Z8K6K4GJ0Z5X1V7M2W3Y4Z", sizeof(f[2].id));
	r.files = f;
	r.nfiles = 3;
	run(&r);

	/* In use: unlinked, a new empty file instead; the reader unharmed. */
	ck_assert_int_eq(f[0].err, 0);
	ck_assert(!f[0].reused);
	ck_assert(f[0].old_gone);
	ck_assert_int_ge(f[0].fd, 0);
	ck_assert_int_eq(size_of("queue/01ARZ3NDEKTSV4RRFFQ69G5FAV"), -1);
	ck_assert_int_eq(size_of("incoming/01CQKR3XWZVBE5RM3N4TB1A9QJ"), 0);
	ck_assert_int_eq(write(f[0].fd, "NEW", 3), 3);
	ck_assert_int_eq(pread(reader, buf, sizeof(buf), 0), 4);
	ck_assert_int_eq(memcmp(buf, "busy", 4), 0);
	close(reader);
	/* Free: the same inode, renamed, and wiped: its size stays, but
	 * not a byte of the old message; its next writer starts at 0. */
	ck_assert(f[1].reused);
	ck_assert(f[1].old_gone);
	ck_assert_int_eq(size_of("queue/01BX5ZZKBKACTAV9WEVGEMMVRZ"), -1);
	ck_assert_int_le(size_of("incoming/01DXF6DT00CX9QNNW7PNXQ3YR8"), 16);
	ck_assert_int_eq(lseek(f[1].fd, 0, SEEK_CUR), 0);
	ck_assert_int_eq(write(f[1].fd, "ab", 2), 2);
	{
		int in = open("incoming/01DXF6DT00CX9QNNW7PNXQ3YR8", O_RDONLY);
		ssize_t n, i;

		ck_assert_int_ge(in, 0);
		memset(buf, 'X', sizeof(buf));
		n = read(in, buf, sizeof(buf));
		ck_assert_int_ge(n, 2);
		ck_assert_int_eq(memcmp(buf, "ab", 2), 0);
		for (i = 2; i < n; i++)
			ck_assert_int_eq(buf[i], 0);
		close(in);
	}
	/* New. */
	ck_assert(!f[2].reused);
	ck_assert_int_eq(size_of("incoming/01E5Z8K6K4GJ0Z5X1V7M2W3Y4Z"), 0);
	ck_assert_int_eq(r.nsyncs, 0);
	close(f[0].fd);
	close(f[1].fd);
	close(f[2].fd);
}
END_TEST

/* A published file is cut where its writer stopped (a reused file may be
 * longer), and measured again after the sync on queued's own descriptor:
 * a writer that kept a copy of the descriptor and went on after the
 * commit is noticed. */
START_TEST(published_file_measured_after_sync)
{
	static const char *ids[3] = { "01ARZ3NDEKTSV4RRFFQ69G5FAV",
	    "01BX5ZZKBKACTAV9WEVGEMMVRZ", "01CQKR3XWZVBE5RM3N4TB1A9QJ" };
	static const char *text[3] = { "steady", "grows", "short" };
	struct sync_item items[3];
	struct sync_round r;
	int fd[3], i;

	memset(&r, 0, sizeof(r));
	memset(items, 0, sizeof(items));
	/* A reused file, longer than what is written into it now. */
	put("incoming/01CQKR3XWZVBE5RM3N4TB1A9QJ", "zzzzzzzzzzzzzzzzzzzz");
	for (i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "incoming/%s", ids[i]);
		fd[i] = open(path, O_WRONLY | O_CREAT, 0600);
		ck_assert_int_ge(fd[i], 0);
		ck_assert_int_eq(write(fd[i], text[i], strlen(text[i])),
		    (ssize_t)strlen(text[i]));
		strlcpy(items[i].id, ids[i], sizeof(items[i].id));
		items[i].fd = fd[i];
		items[i].size = strlen(text[i]);   /* where the writes ended */
	}
	/* Written after the size was taken. */
	ck_assert_int_eq(write(fd[1], "!", 1), 1);
	r.publish = items;
	r.npublish = 3;
	r.sync = true;
	run(&r);
	ck_assert_int_eq(items[0].err, 0);
	ck_assert(!items[0].changed);
	ck_assert_int_eq(size_of("queue/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 6);
	ck_assert_int_eq(items[1].err, 0);
	ck_assert(items[1].changed);
	/* Cut where its writer stopped: nothing of the old content. */
	ck_assert_int_eq(items[2].err, 0);
	ck_assert(!items[2].changed);
	ck_assert_int_eq(size_of("queue/01CQKR3XWZVBE5RM3N4TB1A9QJ"), 5);
	for (i = 0; i < 3; i++)
		close(fd[i]);
}
END_TEST

START_TEST(unlink_is_idempotent)
{
	struct sync_item items[2];
	struct sync_round r;

	put("queue/01ARZ3NDEKTSV4RRFFQ69G5FAV", "done");
	memset(&r, 0, sizeof(r));
	memset(items, 0, sizeof(items));
	strlcpy(items[0].id, "01ARZ3NDEKTSV4RRFFQ69G5FAV", sizeof(items[0].id));
	strlcpy(items[1].id, "01BX5ZZKBKACTAV9WEVGEMMVRZ", sizeof(items[1].id));
	r.unlink = items;
	r.nunlink = 2;
	run(&r);
	ck_assert_int_eq(items[0].err, 0);
	ck_assert_int_eq(items[1].err, 0);            /* already gone is fine */
	ck_assert_int_eq(size_of("queue/01ARZ3NDEKTSV4RRFFQ69G5FAV"), -1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, publish_and_sync);
	tcase_add_test(tc, recycle_only_when_nobody_reads);
	tcase_add_test(tc, published_file_measured_after_sync);
	tcase_add_test(tc, unlink_is_idempotent);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(suite);
