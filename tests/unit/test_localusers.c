/* SPDX-License-Identifier: ISC */
/* lib/localusers.c, the local submission policy: what a login name is,
 * which envelope senders a local user may give, the Received:
 * field of a local submission; and the defaults and errors of the
 * local-submission block of empath.conf(5). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"
#include "localusers.h"
#include "util.h"

#define HOST "mx.example.org"

static struct config *
conf(const char *extra)
{
	char text[1024];
	struct config *c;

	snprintf(text, sizeof(text), "hostname \"%s\"\n%s\n", HOST, extra);
	c = fx_parse(text);
	ck_assert_msg(c != NULL, "%s: %s", text, fx_nerrs ? fx_errs[0] : "?");
	return c;
}

START_TEST(login_names)
{
	static const char *const good[] = { "root", "www-data", "a.b_c-d",
	    "A9", "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *const bad[] = { "", "-dash", "a b", "a@b", "r\xc3\xb6ot",
	    "tab\t", "new\nline", "abcdefghijklmnopqrstuvwxyz0123456",
	    "sl/ash", "co:lon" };
	size_t i;

	for (i = 0; i < nitems(good); i++)
		ck_assert_msg(localusers_login_ok(good[i]), "%s", good[i]);
	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(!localusers_login_ok(bad[i]), "%s", bad[i]);
	ck_assert(!localusers_login_ok(NULL));
}
END_TEST

/* What localusers_login_sender() says of a login name and a sender. */
struct sender_case {
	const char *login, *sender;
	enum local_sender want;
};

static void
senders_are(const struct config *c, const struct sender_case *t, size_t n)
{
	size_t i;
	enum local_sender got;

	for (i = 0; i < n; i++) {
		got = localusers_login_sender(c, t[i].login, t[i].sender);
		ck_assert_msg(got == t[i].want, "%s as <%s>: %d, not %d",
		    t[i].login ? t[i].login : "(none)", t[i].sender, got,
		    t[i].want);
	}
}

START_TEST(sender_of_an_ordinary_user)
{
	static const struct sender_case t[] = {
		/* Their own address, the domain in any case. */
		{ "alice", "alice@" HOST, LSENDER_OK },
		{ "alice", "alice@MX.Example.ORG", LSENDER_OK },
		/* The login name exactly: no other case, no prefix or
		 * extension. */
		{ "alice", "Alice@" HOST, LSENDER_FORGED },
		{ "alice", "alicex@" HOST, LSENDER_FORGED },
		{ "alice", "alic@" HOST, LSENDER_FORGED },
		{ "al", "alice@" HOST, LSENDER_FORGED },
		{ "alice", "alice+tag@" HOST, LSENDER_FORGED },
		/* Another domain, or ours as a prefix or suffix of another. */
		{ "alice", "alice@host.evil", LSENDER_FORGED },
		{ "alice", "alice@" HOST ".evil", LSENDER_FORGED },
		{ "alice", "alice@evil." HOST, LSENDER_FORGED },
		{ "alice", "alice@", LSENDER_FORGED },
		{ "alice", "alice", LSENDER_FORGED },
		/* The last '@' splits: the local part is all before it. */
		{ "alice", "bob@alice@" HOST, LSENDER_FORGED },
		{ "alice", "alice@bob@" HOST, LSENDER_FORGED },
		/* Another user's own address. */
		{ "alice", "bob@" HOST, LSENDER_FORGED },
		{ "bob", "bob@" HOST, LSENDER_OK },
		{ "alice", "root@" HOST, LSENDER_FORGED },
		/* The null sender (RFC 5321 4.5.5) is everybody's. */
		{ "alice", "", LSENDER_OK },
	};
	struct config *c = conf("");

	senders_are(c, t, nitems(t));
	config_free(c);
}
END_TEST

START_TEST(sender_of_trusted_and_unknown_users)
{
	static const struct sender_case by_default[] = {
		/* root is trusted by default: any sender. */
		{ "root", "alice@" HOST, LSENDER_OK },
		{ "root", "anyone@else.where", LSENDER_OK },
		/* Not www-data. */
		{ "www-data", "app@else.where", LSENDER_FORGED },
		{ "www-data", "www-data@" HOST, LSENDER_OK },
		/* No login name for the uid (or one that is no plain login):
		 * later, not refused; the null sender needs no name. */
		{ NULL, "x@" HOST, LSENDER_UNKNOWN_USER },
		{ "-dash", "-dash@" HOST, LSENDER_UNKNOWN_USER },
		{ NULL, "", LSENDER_OK },
	}, given[] = {
		{ "www-data", "app@else.where", LSENDER_OK },
		{ "bob", "alice@" HOST, LSENDER_OK },
		{ "root", "alice@" HOST, LSENDER_FORGED },
		{ "root", "root@" HOST, LSENDER_OK },
	}, nobody[] = {
		{ "root", "alice@" HOST, LSENDER_FORGED },
		{ "root", "", LSENDER_OK },
	};
	struct config *c = conf("");

	senders_are(c, by_default, nitems(by_default));
	config_free(c);

	/* trusted-users replaces the default: www-data is, root is not. */
	c = conf("local-submission { trusted-users { \"www-data\", \"bob\" } }");
	senders_are(c, given, nitems(given));
	config_free(c);

	/* Nobody trusted at all. */
	c = conf("local-submission { trusted-users { } }");
	ck_assert_uint_eq(c->ntrusted_users, 0);
	senders_are(c, nobody, nitems(nobody));
	config_free(c);
}
END_TEST

START_TEST(default_sender)
{
	struct config *c = conf("");
	char buf[64];

	ck_assert(localusers_default_sender(c, "bob", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "bob@" HOST);
	ck_assert(!localusers_default_sender(c, NULL, buf, sizeof(buf)));
	/* "bob@mx.example.org" is 18 bytes: 19 fit, 18 do not. */
	ck_assert(localusers_default_sender(c, "bob", buf, 19));
	ck_assert(!localusers_default_sender(c, "bob", buf, 18));
	config_free(c);
}
END_TEST

START_TEST(received_format)
{
	static const char want[] =
	    "Received: by " HOST " (Empath, from userid 1000)\r\n"
	    "\twith ESMTP id 01KBQ2Z3X4Y5W6V7T8S9R0Q1P2; "
	    "Tue, 25 Nov 2025 12:00:00 +0000\r\n";
	static const char noproto[] =
	    "Received: by " HOST " (Empath, from userid 4294967294)\r\n"
	    "\tid 01KBQ2Z3X4Y5W6V7T8S9R0Q1P2; Tue, 25 Nov 2025 12:00:00 +0000\r\n";
	char buf[LOCAL_RECEIVED_MAX];
	size_t n;

	n = localusers_received(buf, sizeof(buf), HOST, 1000, "ESMTP",
	    "01KBQ2Z3X4Y5W6V7T8S9R0Q1P2", 1764072000);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_str_eq(buf, want);
	fx_check_mail_lines(buf, true);
	n = localusers_received(buf, sizeof(buf), HOST, (uid_t)-2, NULL,
	    "01KBQ2Z3X4Y5W6V7T8S9R0Q1P2", 1764072000);
	ck_assert_str_eq(buf, noproto);
	ck_assert_uint_eq(n, strlen(noproto));
}
END_TEST

/* localusers_received() into outlen octets, too few for the field:
 * nothing written but the NUL. */
static void
received_short(size_t outlen)
{
	char buf[LOCAL_RECEIVED_MAX];

	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(localusers_received(buf, outlen, HOST, 0, "SMTP",
	    "ID", 0), 0);
	ck_assert_str_eq(buf, "");
}

START_TEST(received_truncation)
{
	char buf[LOCAL_RECEIVED_MAX], full[LOCAL_RECEIVED_MAX];
	size_t n;

	n = localusers_received(full, sizeof(full), HOST, 0, "SMTP", "ID", 0);
	ck_assert_uint_gt(n, 0);
	/* Room for the field and its NUL: written. */
	ck_assert_uint_eq(localusers_received(buf, n + 1, HOST, 0, "SMTP", "ID",
	    0), n);
	ck_assert_str_eq(buf, full);
	/* One byte short: nothing usable, never half a field. */
	received_short(n);
	received_short(1);
	/* outlen 0: not even the NUL. */
	buf[0] = 'x';
	ck_assert_uint_eq(localusers_received(buf, 0, HOST, 0, "SMTP", "ID", 0), 0);
	ck_assert_int_eq(buf[0], 'x');
}
END_TEST

/* The submit socket where the control socket is control. */
static void
submit_beside(const char *control, const char *want)
{
	char block[512];
	struct config *c;

	snprintf(block, sizeof(block), "control { socket \"%s\" }", control);
	c = conf(block);
	ck_assert_str_eq(c->submit_socket, want);
	config_free(c);
}

START_TEST(config_defaults)
{
	struct config *c = conf("");

	/* Beside the control socket, in its default directory. */
	ck_assert_str_eq(c->control_socket, "/run/empath/control.sock");
	ck_assert_str_eq(c->submit_socket, "/run/empath/submit.sock");
	ck_assert_uint_eq(c->ntrusted_users, 1);
	ck_assert_str_eq(c->trusted_users[0], "root");
	ck_assert_str_eq(c->drop_group, "_empathdrop");
	config_free(c);

	/* Beside a control socket elsewhere too. */
	submit_beside("/tmp/e2e.x/control.sock", "/tmp/e2e.x/submit.sock");
	submit_beside("/c.sock", "/submit.sock");
	submit_beside("c.sock", "./submit.sock");

	/* Given: as given, whatever the control socket. */
	c = conf("local-submission {\n\tsocket \"/var/run/s.sock\"\n"
	    "\ttrusted-users { \"root\" \"www-data\", \"a.b_c-d\" }\n"
	    "\tdrop-group \"maildrop\"\n}\n"
	    "control { socket \"/x/control.sock\" }");
	ck_assert_str_eq(c->submit_socket, "/var/run/s.sock");
	ck_assert_uint_eq(c->ntrusted_users, 3);
	ck_assert_str_eq(c->trusted_users[0], "root");
	ck_assert_str_eq(c->trusted_users[1], "www-data");
	ck_assert_str_eq(c->trusted_users[2], "a.b_c-d");
	ck_assert_str_eq(c->drop_group, "maildrop");
	config_free(c);
}
END_TEST

/* One error, naming line 2 (the line after hostname). */
static void
fails(const char *block, const char *needle)
{
	char text[4096];
	struct config *c;

	snprintf(text, sizeof(text), "hostname \"%s\"\n%s\n", HOST, block);
	c = fx_parse(text);
	ck_assert_msg(c == NULL, "accepted: %s", block);
	ck_assert_msg(fx_nerrs >= 1 && strstr(fx_errs[0], needle) != NULL &&
	    strncmp(fx_errs[0], "t.conf:2: ", 10) == 0,
	    "%s: got %s, want %s", block, fx_nerrs ? fx_errs[0] : "nothing",
	    needle);
	fx_reset_errs();
}

START_TEST(config_errors)
{
	char block[3000];
	size_t i, n;

	fails("local-submission { trusted-users { \"bad name\" } }",
	    "invalid user name \"bad name\" in trusted-users");
	fails("local-submission { trusted-users { \"-root\" } }",
	    "invalid user name");
	fails("local-submission { trusted-users { \"\" } }", "invalid user name");
	fails("local-submission { trusted-users { \"root@host\" } }",
	    "invalid user name");
	fails("local-submission { trusted-users { \"r\xc3\xb6ot\" } }",
	    "invalid user name");
	/* 33 characters: longer than a login name may be. */
	fails("local-submission { trusted-users { "
	    "\"abcdefghijklmnopqrstuvwxyz0123456\" } }", "invalid user name");
	fails("local-submission { socket \"\" }", "invalid socket");
	fails("local-submission { drop-group \"bad group\" }",
	    "invalid drop-group");
	fails("local-submission { socket \"/a\" socket \"/b\" }",
	    "socket given twice");
	fails("local-submission { bogus }", "");
	/* At most CFG_TRUSTED_MAX names. */
	n = (size_t)snprintf(block, sizeof(block),
	    "local-submission { trusted-users {");
	for (i = 0; i <= CFG_TRUSTED_MAX; i++)
		n += (size_t)snprintf(block + n, sizeof(block) - n, " \"u%zu\"", i);
	snprintf(block + n, sizeof(block) - n, " } }");
	fails(block, "more than 64 trusted-users");
}
END_TEST

static Suite *
localusers_suite(void)
{
	Suite *s = suite_create("localusers");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, login_names);
	tcase_add_test(tc, sender_of_an_ordinary_user);
	tcase_add_test(tc, sender_of_trusted_and_unknown_users);
	tcase_add_test(tc, default_sender);
	tcase_add_test(tc, received_format);
	tcase_add_test(tc, received_truncation);
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_errors);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(localusers_suite);
