/* SPDX-License-Identifier: ISC */
/* The host name of a configuration without `hostname`: /etc/mailname's
 * first line when valid, else gethostname(3); the text the daemons parse
 * names the same host. Every file here is a temporary one: the tests do
 * not depend on this machine's /etc/mailname. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"
#include "mailname.h"

static char path[512];

/* A mailname file holding exactly len octets of data. */
static const char *
write_mailname(const char *data, size_t len)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/mailname", fx_tmpdir("mailname"));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static enum mailname_status
read_str(const char *data, char *out, size_t outlen)
{
	return mailname_read(write_mailname(data, strlen(data)), out, outlen);
}

static const char *
system_name(char *buf, size_t len)
{
	ck_assert_int_eq(gethostname(buf, len), 0);
	buf[len - 1] = '\0';
	return buf;
}

START_TEST(valid_first_line)
{
	char out[MAILNAME_MAX + 1];

	ck_assert_int_eq(read_str("mail.example.org\n", out, sizeof(out)),
	    MAILNAME_OK);
	ck_assert_str_eq(out, "mail.example.org");
	/* Only the first line counts. */
	ck_assert_int_eq(read_str("mx1.example.net\nsomething else\n", out,
	    sizeof(out)), MAILNAME_OK);
	ck_assert_str_eq(out, "mx1.example.net");
	/* CRLF, and no line end at all. */
	ck_assert_int_eq(read_str("crlf.example\r\n", out, sizeof(out)),
	    MAILNAME_OK);
	ck_assert_str_eq(out, "crlf.example");
	ck_assert_int_eq(read_str("bare.example", out, sizeof(out)),
	    MAILNAME_OK);
	ck_assert_str_eq(out, "bare.example");
	ck_assert_int_eq(read_str("localhost\n", out, sizeof(out)),
	    MAILNAME_OK);
	ck_assert_str_eq(out, "localhost");
}
END_TEST

START_TEST(missing_and_empty)
{
	char out[MAILNAME_MAX + 1], missing[600];

	snprintf(missing, sizeof(missing), "%s/none", fx_tmpdir("mailname"));
	ck_assert_int_eq(mailname_read(missing, out, sizeof(out)),
	    MAILNAME_ABSENT);
	ck_assert_int_eq(read_str("", out, sizeof(out)), MAILNAME_INVALID);
	ck_assert_int_eq(read_str("\n", out, sizeof(out)), MAILNAME_INVALID);
	ck_assert_int_eq(read_str("\r\n", out, sizeof(out)), MAILNAME_INVALID);
	/* An empty first line is not saved by a name on the second. */
	ck_assert_int_eq(read_str("\nmail.example.org\n", out, sizeof(out)),
	    MAILNAME_INVALID);
	/* A directory is not a mailname file. */
	ck_assert_int_eq(mailname_read(fx_tmpdir("mailname"), out,
	    sizeof(out)), MAILNAME_INVALID);
}
END_TEST

START_TEST(invalid_names)
{
	static const char *bad[] = {
		"mail example.org\n", " mail.example.org\n",
		"mail.example.org \n", "mail.example.org\t\n",
		"mail..example.org\n", ".example.org\n", "example.org.\n",
		"-mail.example.org\n", "mail-.example.org\n",
		"mail_host.example\n", "mail.example.org\r\r\n",
		"mail.exa\rmple.org\n", "m\xc3\xa4il.example\n",
		"mail\"; plugin \"x\n", "[192.0.2.1]\n", "user@example.org\n",
	};
	char out[MAILNAME_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(read_str(bad[i], out, sizeof(out)) ==
		    MAILNAME_INVALID, "accepted \"%s\"", bad[i]);
	/* A NUL inside the line. */
	ck_assert_int_eq(mailname_read(write_mailname("mail\0x.org\n", 11),
	    out, sizeof(out)), MAILNAME_INVALID);
}
END_TEST

START_TEST(length_limits)
{
	char name[400], line[410], out[MAILNAME_MAX + 1];
	size_t i;

	/* A label of 63 is fine, of 64 not. */
	memset(name, 'a', 63);
	strcpy(name + 63, ".example\n");
	ck_assert_int_eq(read_str(name, out, sizeof(out)), MAILNAME_OK);
	memset(name, 'a', 64);
	strcpy(name + 64, ".example\n");
	ck_assert_int_eq(read_str(name, out, sizeof(out)), MAILNAME_INVALID);
	/* 253 octets of name are fine, 254 not, with either line end. */
	for (i = 0; i < 253; i++)
		name[i] = (i % 4 == 3) ? '.' : 'b';
	name[253] = '\0';
	ck_assert(mailname_valid(name, 253));
	snprintf(line, sizeof(line), "%s\r\n", name);
	ck_assert_int_eq(read_str(line, out, sizeof(out)), MAILNAME_OK);
	ck_assert_str_eq(out, name);
	snprintf(line, sizeof(line), "%sc\n", name);
	ck_assert_int_eq(read_str(line, out, sizeof(out)), MAILNAME_INVALID);
	snprintf(line, sizeof(line), "%sc", name);
	ck_assert_int_eq(read_str(line, out, sizeof(out)), MAILNAME_INVALID);
	/* A long first line is refused, not cut. */
	memset(line, 'x', 400);
	line[400] = '\0';
	ck_assert_int_eq(read_str(line, out, sizeof(out)), MAILNAME_INVALID);
	/* An output buffer too small. */
	ck_assert_int_eq(read_str("mail.example.org\n", out, 5),
	    MAILNAME_INVALID);
}
END_TEST

START_TEST(default_prefers_mailname)
{
	char out[256], sys[256], missing[600];
	const char *src;

	write_mailname("relay.example.com\n", 18);
	mailname_default(path, out, sizeof(out), &src);
	ck_assert_str_eq(out, "relay.example.com");
	ck_assert_str_eq(src, path);
	/* Invalid or missing: gethostname(3). */
	write_mailname("not a name\n", 11);
	mailname_default(path, out, sizeof(out), &src);
	ck_assert_str_eq(out, system_name(sys, sizeof(sys)));
	ck_assert_str_eq(src, "gethostname");
	snprintf(missing, sizeof(missing), "%s/none", fx_tmpdir("mailname"));
	mailname_default(missing, out, sizeof(out), NULL);
	ck_assert_str_eq(out, sys);
}
END_TEST

/* What config_load() does with a file: the master's configuration and
 * the snapshot the daemons parse name the same host. */
static struct config *
apply(const char *conf, const char *mailname, char **text, size_t *len)
{
	struct config *c;

	*len = strlen(conf);
	*text = strdup(conf);
	ck_assert_ptr_nonnull(*text);
	c = config_parse("t.conf", *text, *len, fx_collect);
	ck_assert_ptr_nonnull(c);
	return mailname_apply("t.conf", c, text, len, mailname, fx_collect);
}

START_TEST(snapshot_names_the_host)
{
	struct config *c, *d;
	char *text;
	size_t len;

	write_mailname("mx.example.org\n", 15);
	/* The last line a comment without its newline. */
	c = apply("spool \"/var/spool/x\"\n# the end", path, &text, &len);
	ck_assert_ptr_nonnull(c);
	ck_assert(c->hostname_given);
	ck_assert_str_eq(c->hostname, "mx.example.org");
	ck_assert_str_eq(c->dsn_reporting_mta, "mx.example.org");
	ck_assert_str_eq(c->dsn_postmaster, "postmaster@mx.example.org");
	ck_assert_str_eq(c->spool, "/var/spool/x");
	ck_assert_uint_eq(len, strlen(text));
	/* A daemon parses the text it is sent, where no /etc/mailname is. */
	d = config_parse("config", text, len, fx_collect);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hostname, "mx.example.org");
	config_free(d);
	config_free(c);
	free(text);
}
END_TEST

START_TEST(given_hostname_wins)
{
	const char *conf = "hostname \"smtp.example.net\"\n";
	struct config *c;
	char *text;
	size_t len;

	write_mailname("mx.example.org\n", 15);
	c = apply(conf, path, &text, &len);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->hostname, "smtp.example.net");
	ck_assert_str_eq(text, conf);      /* the text is left alone */
	config_free(c);
	free(text);
}
END_TEST

START_TEST(invalid_mailname_falls_back)
{
	struct config *c;
	char *text, sys[256];
	size_t len;

	write_mailname("bad name\n", 9);
	c = apply("", path, &text, &len);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->hostname, system_name(sys, sizeof(sys)));
	config_free(c);
	free(text);
}
END_TEST

static Suite *
mailname_suite(void)
{
	Suite *s = suite_create("mailname");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, valid_first_line);
	tcase_add_test(tc, missing_and_empty);
	tcase_add_test(tc, invalid_names);
	tcase_add_test(tc, length_limits);
	tcase_add_test(tc, default_prefers_mailname);
	tcase_add_test(tc, snapshot_names_the_host);
	tcase_add_test(tc, given_hostname_wins);
	tcase_add_test(tc, invalid_mailname_falls_back);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(mailname_suite);
