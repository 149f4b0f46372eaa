/* SPDX-License-Identifier: ISC */
/* deliverd's reading of the message file: no more than the size queued
 * stored goes out, whatever was appended since; a file that ends before
 * that size is an error (the job is deferred, never sent short). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "../../deliverd/body.h"

static int
file_of(const char *text)
{
	FILE *f = tmpfile();
	int fd;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fflush(f), 0);
	fd = dup(fileno(f));
	ck_assert_int_ne(fd, -1);
	fclose(f);
	return fd;
}

/* All of the body as body_read() gives it in chunks of chunk bytes;
 * the result of the last call in *last. */
static size_t
read_all(int fd, uint64_t size, size_t chunk, char *out, size_t cap,
    ssize_t *last)
{
	uint64_t off = 0;
	ssize_t n;

	while ((n = body_read(fd, off, size, out + off, chunk)) > 0) {
		off += (uint64_t)n;
		ck_assert_uint_le(off, cap);
	}
	*last = n;
	return (size_t)off;
}

START_TEST(appended_bytes_are_not_sent)
{
	const char *msg = "Subject: hi\r\n\r\nbody\r\n";
	char text[128], out[128];
	size_t chunk;
	ssize_t last;
	int fd;

	snprintf(text, sizeof(text), "%sappended\r\n.\r\nRCPT TO:<x@y>\r\n", msg);
	fd = file_of(text);
	for (chunk = 1; chunk <= 64; chunk *= 4) {
		ck_assert_uint_eq(read_all(fd, strlen(msg), chunk, out,
		    sizeof(out), &last), strlen(msg));
		ck_assert_int_eq(last, 0);
		ck_assert_mem_eq(out, msg, strlen(msg));
	}
	/* At the size, nothing more. */
	ck_assert_int_eq(body_read(fd, strlen(msg), strlen(msg), out,
	    sizeof(out)), 0);
	close(fd);
}
END_TEST

START_TEST(exact_file_is_sent_whole)
{
	const char *msg = "a\r\nb\r\n";
	char out[16];
	ssize_t last;
	int fd = file_of(msg);

	ck_assert_uint_eq(read_all(fd, strlen(msg), sizeof(out), out,
	    sizeof(out), &last), strlen(msg));
	ck_assert_int_eq(last, 0);
	ck_assert_mem_eq(out, msg, strlen(msg));
	close(fd);
}
END_TEST

START_TEST(short_file_is_an_error)
{
	const char *msg = "Subject: hi\r\n\r\nbody\r\n";
	char out[128];
	ssize_t last;
	int fd = file_of(msg);

	errno = 0;
	ck_assert_uint_eq(read_all(fd, strlen(msg) + 10, 8, out, sizeof(out),
	    &last), strlen(msg));
	ck_assert_int_eq(last, -1);
	ck_assert_int_eq(errno, ENODATA);
	/* An empty file where bytes were stored. */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	errno = 0;
	ck_assert_int_eq(body_read(fd, 0, 1, out, sizeof(out)), -1);
	ck_assert_int_eq(errno, ENODATA);
	close(fd);
}
END_TEST

START_TEST(read_error_is_an_error)
{
	char out[8];

	errno = 0;
	ck_assert_int_eq(body_read(-1, 0, 5, out, sizeof(out)), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *
body_suite(void)
{
	Suite *s = suite_create("deliverd_body");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, appended_bytes_are_not_sent);
	tcase_add_test(tc, exact_file_is_sent_whole);
	tcase_add_test(tc, short_file_is_an_error);
	tcase_add_test(tc, read_error_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(body_suite);
