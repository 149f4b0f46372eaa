/* SPDX-License-Identifier: ISC */
/* Line I/O: framing of lines across reads, CRLF/LF, too-long lines,
 * EOF, and output through a full non-blocking socket. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture.h"
#include "lineio.h"
#include "util.h"

static int sv[2];                 /* sv[0]: lineio side, sv[1]: peer */
static struct lineio lio;

static void
setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fd_nonblock(sv[0]), 0);
	lio_init(&lio, sv[0]);
}

static void
teardown(void)
{
	lio_free(&lio);
	close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
}

static void
peer_send(const char *s)
{
	ck_assert_int_eq(write_all(sv[1], s, strlen(s)), 0);
}

/* Send s and read it all into the lineio. */
static void
feed(const char *s)
{
	size_t want = strlen(s), got = 0;
	ssize_t n;

	peer_send(s);
	while (got < want) {
		n = lio_fill(&lio);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
}

static void
expect_line(size_t max, const char *want, bool want_crlf)
{
	char *line = NULL;
	size_t len = 0;
	bool crlf = !want_crlf;

	ck_assert_int_eq(lio_getline(&lio, max, &line, &len, &crlf), LIO_LINE);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(line, want, len);
	ck_assert_int_eq(line[len], '\0');
	ck_assert(crlf == want_crlf);
}

static enum lio_line
next(size_t max)
{
	char *line;
	size_t len;
	bool crlf;

	return lio_getline(&lio, max, &line, &len, &crlf);
}

START_TEST(split_across_reads)
{
	feed("HE");
	ck_assert_int_eq(next(512), LIO_NONE);
	feed("LO exa");
	ck_assert_int_eq(next(512), LIO_NONE);
	feed("mple.org\r");
	ck_assert_int_eq(next(512), LIO_NONE);
	feed("\n");
	expect_line(512, "HELO example.org", true);
	ck_assert_int_eq(next(512), LIO_NONE);
	ck_assert_uint_eq(lio_buffered(&lio), 0);
}
END_TEST

START_TEST(several_lines_one_read)
{
	feed("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\n\r\nDATA\r\nrest");
	expect_line(512, "MAIL FROM:<a@b>", true);
	expect_line(512, "RCPT TO:<c@d>", false);
	expect_line(512, "", true);
	expect_line(512, "DATA", true);
	ck_assert_int_eq(next(512), LIO_NONE);
	ck_assert_uint_eq(lio_buffered(&lio), 4);
	feed("\n");
	expect_line(512, "rest", false);
}
END_TEST

START_TEST(cr_inside_line_and_empty_lines)
{
	feed("a\rb\r\n\n\r\r\n");
	expect_line(512, "a\rb", true);
	expect_line(512, "", false);
	expect_line(512, "\r", true);
	ck_assert_int_eq(next(512), LIO_NONE);
}
END_TEST

START_TEST(max_length_boundary)
{
	feed("0123456789\r");        /* exactly max, CR may end it */
	ck_assert_int_eq(next(10), LIO_NONE);
	feed("\n0123456789\n");
	expect_line(10, "0123456789", true);
	expect_line(10, "0123456789", false);
	feed("0123456789A\r\nok\r\n");
	ck_assert_int_eq(next(10), LIO_TOOLONG);
	expect_line(10, "ok", true);
}
END_TEST

START_TEST(toolong_reported_once_across_reads)
{
	feed("0123456789AB");
	ck_assert_int_eq(next(10), LIO_TOOLONG);
	ck_assert_int_eq(next(10), LIO_NONE);
	feed("still the same line");
	ck_assert_int_eq(next(10), LIO_NONE);
	feed("\r");
	ck_assert_int_eq(next(10), LIO_NONE);
	feed("\nQUIT\r\n");
	expect_line(10, "QUIT", true);
	ck_assert_int_eq(next(10), LIO_NONE);
}
END_TEST

/* A line far larger than the buffer never grows it past LIO_MAX_IN. */
START_TEST(huge_line_bounded)
{
	char chunk[4096];
	size_t sent = 0, total = 4 * LIO_MAX_IN;
	int toolong = 0;
	enum lio_line r;
	ssize_t n;

	memset(chunk, 'x', sizeof(chunk));
	while (sent < total) {
		ck_assert_int_eq(write_all(sv[1], chunk, sizeof(chunk)), 0);
		sent += sizeof(chunk);
		while ((n = lio_fill(&lio)) > 0) {
			ck_assert_uint_le(lio.in_cap, LIO_MAX_IN);
			while ((r = next(1000)) != LIO_NONE) {
				ck_assert_int_eq(r, LIO_TOOLONG);
				toolong++;
			}
		}
		ck_assert_int_eq(n, -1);
	}
	ck_assert_int_eq(toolong, 1);
	feed("\r\nNOOP\r\n");
	expect_line(1000, "NOOP", true);
	ck_assert_int_eq(toolong, 1);
}
END_TEST

/* A max beyond what the buffer can hold is capped, so a line that fills
 * the whole buffer is still reported instead of stalling the reader. */
START_TEST(max_capped_by_buffer)
{
	char *big = xmalloc(LIO_MAX_IN);
	size_t off = 0;
	ssize_t n;

	memset(big, 'y', LIO_MAX_IN);
	ck_assert_int_eq(fd_nonblock(sv[1]), 0);
	while (off < LIO_MAX_IN) {
		n = write(sv[1], big + off, LIO_MAX_IN - off);
		if (n > 0)
			off += (size_t)n;
		else
			ck_assert_int_eq(errno, EAGAIN);
		while (lio_fill(&lio) > 0)
			;
	}
	while (lio_fill(&lio) > 0)
		;
	ck_assert_uint_eq(lio_buffered(&lio), LIO_MAX_IN);
	ck_assert_int_eq(lio_fill(&lio), -1);     /* full, nothing read */
	ck_assert_int_eq(next(SIZE_MAX), LIO_TOOLONG);
	free(big);
}
END_TEST

START_TEST(eof_and_would_block)
{
	ck_assert_int_eq(lio_fill(&lio), -1);
	peer_send("QUIT\r\npartial");
	ck_assert_int_eq(lio_fill(&lio), 13);
	close(sv[1]);
	sv[1] = -1;
	ck_assert_int_eq(lio_fill(&lio), 0);
	ck_assert(lio.eof);
	ck_assert_int_eq(lio_fill(&lio), 0);
	expect_line(512, "QUIT", true);
	ck_assert_int_eq(next(512), LIO_NONE);
	ck_assert_uint_eq(lio_buffered(&lio), 7);
}
END_TEST

START_TEST(read_error)
{
	struct lineio bad;

	lio_init(&bad, 1000000);      /* not an open descriptor */
	ck_assert_int_eq(lio_fill(&bad), -2);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(lio_flush(&bad), 1);     /* nothing to write */
	lio_write(&bad, "x", 1);
	ck_assert_int_eq(lio_flush(&bad), -1);
	lio_free(&bad);
}
END_TEST

START_TEST(output_full_socket_then_drain)
{
	const char *greeting = "220 mx.example.org ESMTP\r\n";
	size_t total = 2 * 1024 * 1024, got = 0, i;
	int sndbuf = 4096, r, rounds = 0;
	char *want, *buf = xmalloc(65536);
	ssize_t n;

	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
	    sizeof(sndbuf)), 0);
	want = xmalloc(total);
	for (i = 0; i < total; i++)
		want[i] = (char)('a' + i % 26);
	lio_printf(&lio, "220 %s ESMTP\r\n", "mx.example.org");
	ck_assert_uint_eq(lio_out_pending(&lio), strlen(greeting));
	lio_write(&lio, want, total);
	ck_assert_uint_eq(lio_out_pending(&lio), total + strlen(greeting));

	r = lio_flush(&lio);
	ck_assert_int_eq(r, 0);                 /* the socket is full */
	ck_assert_uint_gt(lio_out_pending(&lio), 0);
	ck_assert_uint_lt(lio_out_pending(&lio), total);

	/* Drain on the peer side, flushing again each time. */
	n = read(sv[1], buf, strlen(greeting));
	ck_assert_int_eq(n, (ssize_t)strlen(greeting));
	ck_assert_mem_eq(buf, greeting, strlen(greeting));
	while (got < total) {
		n = read(sv[1], buf, 65536);
		ck_assert_int_gt(n, 0);
		ck_assert_mem_eq(buf, want + got, (size_t)n);
		got += (size_t)n;
		if (r != 1)
			r = lio_flush(&lio);
		ck_assert_int_ge(r, 0);
		rounds++;
	}
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(lio_out_pending(&lio), 0);
	ck_assert_int_gt(rounds, 1);
	free(want);
	free(buf);
}
END_TEST

START_TEST(flush_to_closed_peer_no_sigpipe)
{
	/* Default SIGPIPE action: a missing MSG_NOSIGNAL kills the test. */
	signal(SIGPIPE, SIG_DFL);
	close(sv[1]);
	sv[1] = -1;
	lio_write(&lio, "221 bye\r\n", 9);
	ck_assert_int_eq(lio_flush(&lio), -1);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

START_TEST(flush_to_pipe)
{
	struct lineio p;
	int pfd[2];
	char buf[32];

	ck_assert_int_eq(pipe(pfd), 0);
	lio_init(&p, pfd[1]);
	lio_printf(&p, "%d %s\r\n", 250, "ok");
	ck_assert_int_eq(lio_flush(&p), 1);
	ck_assert_int_eq(read(pfd[0], buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, "250 ok\r\n", 8);
	lio_free(&p);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

START_TEST(compact_frees_idle_buffers)
{
	feed("NOOP\r\nRS");
	expect_line(512, "NOOP", true);
	lio_write(&lio, "250 ok\r\n", 8);
	lio_compact(&lio);
	/* Pending input and output survive compaction. */
	ck_assert_ptr_nonnull(lio.in);
	ck_assert_ptr_nonnull(lio.out);
	ck_assert_uint_eq(lio_buffered(&lio), 2);
	ck_assert_int_eq(lio_flush(&lio), 1);
	feed("ET\r\n");
	expect_line(512, "RSET", true);
	lio_compact(&lio);
	ck_assert_ptr_null(lio.in);
	ck_assert_ptr_null(lio.out);
	ck_assert_uint_eq(lio.in_cap + lio.out_cap, 0);
	/* And the lineio still works afterwards. */
	feed("QUIT\r\n");
	expect_line(512, "QUIT", true);
}
END_TEST

START_TEST(input_grows_and_shrinks)
{
	char *line = xmalloc(10001);

	memset(line, 'z', 10000);
	line[10000] = '\0';
	feed(line);
	ck_assert_uint_ge(lio.in_cap, 10000);
	ck_assert_uint_le(lio.in_cap, LIO_MAX_IN);
	feed("\r\n");
	ck_assert_int_eq(next(20000), LIO_LINE);
	lio_compact(&lio);
	ck_assert_uint_eq(lio.in_cap, 0);
	free(line);
}
END_TEST

static Suite *
lineio_suite(void)
{
	Suite *s = suite_create("lineio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, split_across_reads);
	tcase_add_test(tc, several_lines_one_read);
	tcase_add_test(tc, cr_inside_line_and_empty_lines);
	tcase_add_test(tc, max_length_boundary);
	tcase_add_test(tc, toolong_reported_once_across_reads);
	tcase_add_test(tc, huge_line_bounded);
	tcase_add_test(tc, max_capped_by_buffer);
	tcase_add_test(tc, eof_and_would_block);
	tcase_add_test(tc, read_error);
	tcase_add_test(tc, output_full_socket_then_drain);
	tcase_add_test(tc, flush_to_closed_peer_no_sigpipe);
	tcase_add_test(tc, flush_to_pipe);
	tcase_add_test(tc, compact_frees_idle_buffers);
	tcase_add_test(tc, input_grows_and_shrinks);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(lineio_suite);
