/* SPDX-License-Identifier: ISC */
/* lib/parse.y and lib/config.c: the configuration language, its values,
 * its errors (with their line numbers) and the lookups. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "config.h"
#include "log.h"

/* etc/empath.conf is the shipped example configuration (without the
 * keywords this version refuses, test_config_refused.c); the tests run
 * from the top of the source tree. */
static char *
example_text(void)
{
	struct config *c;
	char *text = NULL;

	fx_reset_errs();
	c = config_load("etc/empath.conf", &text, NULL, fx_collect);
	ck_assert_msg(c != NULL, "etc/empath.conf: %s (run from the top of "
	    "the source tree)", fx_nerrs ? fx_errs[0] : "?");
	config_free(c);
	return text;
}

/* The text must fail with exactly one error, this one. */
static void
fails_with(const char *text, const char *expect)
{
	struct config *c = fx_parse(text);

	ck_assert_msg(c == NULL, "accepted: %s", text);
	ck_assert_msg(fx_nerrs == 1, "%d errors for: %s (first: %s)", fx_nerrs, text,
	    fx_nerrs ? fx_errs[0] : "none");
	ck_assert_str_eq(fx_errs[0], expect);
	fx_reset_errs();
}

static bool
relay_ok(const struct config *c, const char *addr)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return config_relay_allowed(c, (struct sockaddr *)&ss);
}

/* That example spells out most defaults: one check for both. */
static void
listen_has_defaults(const struct cfg_listen *l)
{
	ck_assert_uint_eq(l->max_message_size, 35 * 1024 * 1024);
	ck_assert_uint_eq(l->max_recipients, 1000);
	ck_assert_uint_eq(l->max_connections, 1000);
	ck_assert_uint_eq(l->max_connections_per_ip, 20);
	ck_assert_uint_eq(l->max_errors, 10);
	ck_assert_uint_eq(l->to_command, 300);
	ck_assert_uint_eq(l->to_data_init, 120);
	ck_assert_uint_eq(l->to_data_block, 180);
	ck_assert_uint_eq(l->to_data_term, 600);
	ck_assert_uint_eq(l->to_connection, 1800);
}

static void
delivery_has_defaults(const struct cfg_delivery *d)
{
	ck_assert_uint_eq(d->retry_initial, 60);
	ck_assert_uint_eq(d->retry_max, 4 * 3600);
	ck_assert_uint_eq(d->expire, 5 * 86400);
	ck_assert_uint_eq(d->concurrency, 64);
	ck_assert_uint_eq(d->per_domain, 8);
	ck_assert_int_eq(d->tls, TLS_OPPORTUNISTIC);
	ck_assert(!d->accept_invalid_certs);
	ck_assert_ptr_null(d->relay_host);
	ck_assert_uint_eq(d->to_connect, 30);
	ck_assert_uint_eq(d->to_ehlo, 30);
	ck_assert_uint_eq(d->to_starttls, 30);
	ck_assert_uint_eq(d->to_mail, 30);
	ck_assert_uint_eq(d->to_rcpt, 30);
	ck_assert_uint_eq(d->to_data, 120);
	ck_assert_uint_eq(d->to_quit, 10);
}

START_TEST(full_example)
{
	char *example = example_text();
	struct config *c = fx_parse(example);
	struct cfg_listen *l;
	struct cfg_domain *d;
	struct sockaddr_in *sin;

	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_int_eq(fx_nerrs, 0);
	ck_assert_str_eq(c->hostname, "mx.example.org");
	ck_assert_str_eq(c->user, "_empath");
	ck_assert_str_eq(c->spool, "/var/spool/empath");

	l = TAILQ_FIRST(&c->listeners);
	ck_assert_ptr_null(TAILQ_NEXT(l, entry));
	ck_assert_uint_eq(l->index, 0);
	ck_assert_str_eq(l->addr, "0.0.0.0");
	ck_assert_uint_eq(l->port, 25);
	sin = (struct sockaddr_in *)&l->ss;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 25);
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	ck_assert_uint_eq(l->sslen, sizeof(struct sockaddr_in));
	listen_has_defaults(l);
	ck_assert_str_eq(l->tls_cert, "/etc/empath/cert.pem");
	ck_assert_str_eq(l->tls_key, "/etc/empath/key.pem");
	ck_assert_int_eq(l->tls_mode, LTLS_STARTTLS);

	ck_assert(relay_ok(c, "127.0.0.1"));
	ck_assert(relay_ok(c, "127.255.0.9"));
	ck_assert(relay_ok(c, "::1"));
	ck_assert(!relay_ok(c, "128.0.0.1"));
	ck_assert(!relay_ok(c, "::2"));

	d = config_domain(c, "example.org");
	ck_assert_str_eq(d->name, "example.org");
	ck_assert(d->accept);
	ck_assert_str_eq(d->relay_host, "10.0.0.5");
	ck_assert_uint_eq(d->relay_port, 25);
	ck_assert_int_eq(d->accept_invalid_certs, -1);
	ck_assert_int_eq(d->tls, -1);
	ck_assert(d->rate == 0);
	d = config_domain(c, "test.example.com");
	ck_assert(!d->accept);
	ck_assert_str_eq(d->relay_host, "127.0.0.1");
	ck_assert_uint_eq(d->relay_port, 1025);
	ck_assert_int_eq(d->accept_invalid_certs, 1);
	ck_assert_double_eq(d->rate, 1.0);
	ck_assert_uint_eq(d->burst, 5);

	delivery_has_defaults(&c->delivery);
	ck_assert_uint_eq(c->delivery.max_attempts, 0);    /* the default */
	ck_assert_double_eq(c->delivery.rate, 10.0);
	ck_assert_uint_eq(c->delivery.burst, 20);

	ck_assert_str_eq(c->resolver_addr, "127.0.0.1");
	ck_assert_uint_eq(c->resolver_port, 53);
	ck_assert_str_eq(c->dsn_reporting_mta, "mx.example.org");
	ck_assert_str_eq(c->dsn_postmaster, "postmaster@example.org");
	ck_assert_uint_eq(c->dsn_delay_warning, 4 * 3600);

	ck_assert_str_eq(c->control_socket, "/run/empath/control.sock");
	ck_assert_str_eq(c->control_group, "empath");
	ck_assert_uint_eq(c->ntoken_hashes, 1);
	ck_assert_str_eq(c->token_hashes[0],
	    "4c5dc9b7708905f77f5e5d16316b5dfb425e68cb326dcd55a860e90a7707031e");

	ck_assert(c->health_enabled);
	ck_assert_str_eq(c->health_addr, "127.0.0.1");
	ck_assert_uint_eq(c->health_port, 8080);
	sin = (struct sockaddr_in *)&c->health_ss;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(sin->sin_port), 8080);
	ck_assert_uint_eq(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	ck_assert_uint_eq(c->health_sslen, sizeof(struct sockaddr_in));

	ck_assert_int_eq(c->log_target, LOGT_SYSLOG);
	ck_assert_int_eq(c->log_format, LOGF_TEXT);
	ck_assert_int_eq(c->log_level, LOGL_INFO);

	config_free(c);
	free(example);
}
END_TEST

START_TEST(shipped_files)
{
	struct config *c;
	char *text = NULL;
	size_t len = 0;

	fx_reset_errs();
	c = config_load("etc/empath.conf", &text, &len, fx_collect);
	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_uint_eq(strlen(text), len);
	config_free(c);
	free(text);

	c = config_load("etc/empath.dev.conf", NULL, NULL, fx_collect);
	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_str_eq(c->spool, "./run/spool");
	ck_assert_str_eq(c->control_socket, "./run/control.sock");
	ck_assert_uint_eq(TAILQ_FIRST(&c->listeners)->port, 2525);
	ck_assert_int_eq(c->log_target, LOGT_STDERR);
	ck_assert_int_eq(c->log_level, LOGL_INFO);
	ck_assert(config_domain(c, "localhost")->accept);
	ck_assert(relay_ok(c, "127.0.0.1"));
	ck_assert(relay_ok(c, "::1"));
	ck_assert(!relay_ok(c, "10.1.1.1"));
	config_free(c);
}
END_TEST

START_TEST(load_errors)
{
	char path[] = "/tmp/test_config.XXXXXX";
	char *text = (char *)"untouched";
	int fd;

	fx_reset_errs();
	ck_assert_ptr_null(config_load("/nonexistent/empath.conf", &text, NULL,
	    fx_collect));
	ck_assert_ptr_null(text);
	ck_assert_int_eq(fx_nerrs, 1);
	ck_assert_str_eq(fx_errs[0],
	    "/nonexistent/empath.conf: No such file or directory");

	fx_reset_errs();
	ck_assert_ptr_null(config_load("/tmp", NULL, NULL, fx_collect));
	ck_assert_int_eq(fx_nerrs, 1);
	ck_assert_str_eq(fx_errs[0], "/tmp: not a regular file");

	/* A file with an error: reported under its path, no text returned. */
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "user \"a\"\nbogus\n", 15), 15);
	close(fd);
	fx_reset_errs();
	text = (char *)"untouched";
	ck_assert_ptr_null(config_load(path, &text, NULL, fx_collect));
	ck_assert_ptr_null(text);
	ck_assert_int_eq(fx_nerrs, 1);
	ck_assert(strncmp(fx_errs[0], path, strlen(path)) == 0);
	ck_assert_str_eq(fx_errs[0] + strlen(path), ":2: unknown keyword \"bogus\"");
	unlink(path);
}
END_TEST

static void
check_defaults(struct config *c)
{
	char host[256];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_str_eq(c->hostname, host);
	ck_assert_str_eq(c->user, "_empath");
	ck_assert_str_eq(c->queue_user, "_empathq");
	ck_assert_str_eq(c->spool, "/var/spool/empath");
	ck_assert(TAILQ_EMPTY(&c->listeners));
	ck_assert(TAILQ_EMPTY(&c->domains));
	delivery_has_defaults(&c->delivery);
	/* No limit on attempts: expire alone ends delivery. */
	ck_assert_uint_eq(c->delivery.max_attempts, 0);
	ck_assert(c->delivery.rate == 0);
	ck_assert_ptr_null(c->resolver_addr);
	ck_assert_uint_eq(c->resolver_port, 53);
	ck_assert_str_eq(c->dsn_reporting_mta, host);
	ck_assert(strncmp(c->dsn_postmaster, "postmaster@", 11) == 0);
	ck_assert_str_eq(c->dsn_postmaster + 11, host);
	ck_assert_uint_eq(c->dsn_delay_warning, 14400);
	ck_assert_str_eq(c->control_socket, "/run/empath/control.sock");
	ck_assert_ptr_null(c->control_group);
	ck_assert_uint_eq(c->ntoken_hashes, 0);
	ck_assert(!c->health_enabled);
	ck_assert_int_eq(c->log_target, LOGT_SYSLOG);
	ck_assert_int_eq(c->log_format, LOGF_TEXT);
	ck_assert_int_eq(c->log_level, LOGL_INFO);
	/* Without relay from, only this host relays. */
	ck_assert(relay_ok(c, "127.0.0.1"));
	ck_assert(relay_ok(c, "::1"));
	ck_assert(relay_ok(c, "::ffff:127.0.0.2"));
	ck_assert(!relay_ok(c, "192.0.2.1"));
	ck_assert(!relay_ok(c, "2001:db8::1"));
}

START_TEST(defaults_empty)
{
	struct config *c = fx_parse("");

	check_defaults(c);
	config_free(c);
	c = config_parse("t.conf", NULL, 0, fx_collect);
	check_defaults(c);
	config_free(c);
	c = fx_parse("# nothing but a comment\n\n   \t# and another");
	check_defaults(c);
	config_free(c);
}
END_TEST

START_TEST(defaults_in_blocks)
{
	struct config *c = fx_parse(
	    "hostname \"mx.test\"\n"
	    "listen on ::1 port 2525\n"
	    "listen on 127.0.0.1 { }\n"
	    "domain \"Example.COM.\" { }\n"
	    "relay from { }\n"
	    "delivery { }\n"
	    "dsn { }\n"
	    "control { }\n"
	    "health listen on ::1 port 8080\n"
	    "log { }\n");
	struct cfg_listen *l;
	struct cfg_domain *d;
	struct sockaddr_in6 *sin6;

	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_str_eq(c->dsn_reporting_mta, "mx.test");
	ck_assert_str_eq(c->dsn_postmaster, "postmaster@mx.test");
	l = TAILQ_FIRST(&c->listeners);
	ck_assert_str_eq(l->addr, "::1");
	ck_assert_uint_eq(l->port, 2525);
	sin6 = (struct sockaddr_in6 *)&l->ss;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 2525);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_uint_eq(l->sslen, sizeof(struct sockaddr_in6));
	listen_has_defaults(l);
	ck_assert_ptr_null(l->tls_cert);
	ck_assert_ptr_null(l->tls_key);
	ck_assert_int_eq(l->tls_mode, LTLS_STARTTLS);
	l = TAILQ_NEXT(l, entry);
	ck_assert_uint_eq(l->index, 1);
	ck_assert_uint_eq(l->port, 25);      /* port is optional */
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&l->ss)->sin_port), 25);

	d = TAILQ_FIRST(&c->domains);
	ck_assert_str_eq(d->name, "example.com");
	ck_assert(!d->accept);
	ck_assert_ptr_null(d->relay_host);
	ck_assert_uint_eq(d->relay_port, 25);
	ck_assert_int_eq(d->accept_invalid_certs, -1);
	ck_assert_int_eq(d->tls, -1);
	ck_assert(d->rate == 0);

	/* An empty relay from is nobody, not the default. */
	ck_assert(!relay_ok(c, "127.0.0.1"));
	ck_assert(!relay_ok(c, "::1"));
	ck_assert(c->health_enabled);
	ck_assert_int_eq(c->health_ss.ss_family, AF_INET6);
	config_free(c);
}
END_TEST

START_TEST(syntax_variants)
{
	static const char *levels[] = { "log{level err}", "log{level warn}",
	    "log{level info}", "log{level debug}" };
	int i;
	/* Newlines are not significant; keywords only when bare. */
	struct config *c = fx_parse(
	    "hostname mx.example.net user \"_mta\" spool \"/s p\\\"o\\\\ol\" "
	    "listen on [::] port 587 { tls required certificate \"c\" "
	    "key \"k\" max-connections 5 max-connections-per-ip 2 "
	    "max-errors 3 max-message-size 512K timeout connection 1h30m "
	    "timeout command 90 } "
	    "listen on localhost port 465 { tls key \"k\" tls certificate \"c\" "
	    "tls implicit max-message-size 1G } "
	    "listen on 192.0.2.1 port 26 { max-message-size 1000 } "
	    "relay from 10.0.0.0/8 relay from { 192.0.2.77/24 2001:db8::/32, "
	    "::ffff:0:0/96, } "
	    "domain \"tls.test\" { tls required accept-invalid-certs no "
	    "rate-limit 600/m relay via \"[2001:db8::25]:2525\" accept } "
	    "domain other.test { tls none rate-limit 1/h relay via mx.other.test } "
	    "domain \"opp.test\" { tls opportunistic rate-limit 2.5/s } "
	    "delivery { retry max 2h retry initial 10m tls required "
	    "timeout quit 1s data 1w concurrency per-domain 3 "
	    "relay via \"smart.example.net:587\" accept-invalid-certs yes } "
	    "delivery { concurrency 100 tls none rate-limit 5 } "
	    "dsn { delay-warning 0 } "
	    "control { token-hash \"4C5DC9B7708905F77F5E5D16316B5DFB425E68CB326DCD55A860E90A7707031E\" "
	    "token-hash \"0000000000000000000000000000000000000000000000000000000000000000\" } "
	    "resolver \"::1\" "
	    "log { level debug format json target stderr level warn }");
	struct cfg_listen *l;
	struct cfg_domain *d;

	ck_assert_msg(c != NULL, "%s", fx_nerrs ? fx_errs[0] : "");
	ck_assert_str_eq(c->hostname, "mx.example.net");
	ck_assert_str_eq(c->user, "_mta");
	ck_assert_str_eq(c->spool, "/s p\"o\\ol");
	l = TAILQ_FIRST(&c->listeners);
	ck_assert_int_eq(l->ss.ss_family, AF_INET6);
	ck_assert_int_eq(l->tls_mode, LTLS_REQUIRED);
	ck_assert_str_eq(l->tls_cert, "c");
	ck_assert_str_eq(l->tls_key, "k");
	ck_assert_uint_eq(l->max_connections, 5);
	ck_assert_uint_eq(l->max_connections_per_ip, 2);
	ck_assert_uint_eq(l->max_errors, 3);
	ck_assert_uint_eq(l->max_message_size, 512 * 1024);
	ck_assert_uint_eq(l->to_connection, 5400);
	ck_assert_uint_eq(l->to_command, 90);
	ck_assert_uint_eq(l->to_data_init, 120);    /* untouched */
	l = TAILQ_NEXT(l, entry);
	ck_assert_int_eq(l->tls_mode, LTLS_IMPLICIT);
	ck_assert_str_eq(l->addr, "localhost");
	ck_assert_uint_eq(((struct sockaddr_in *)&l->ss)->sin_addr.s_addr,
	    htonl(INADDR_LOOPBACK));
	ck_assert_uint_eq(l->max_message_size, 1024UL * 1024 * 1024);
	l = TAILQ_NEXT(l, entry);
	ck_assert_uint_eq(l->max_message_size, 1000);
	ck_assert_uint_eq(l->index, 2);

	ck_assert(relay_ok(c, "10.255.1.2"));
	ck_assert(relay_ok(c, "192.0.2.200"));      /* host bits dropped */
	ck_assert(!relay_ok(c, "192.0.3.1"));
	ck_assert(relay_ok(c, "2001:db8:ffff::1"));
	ck_assert(!relay_ok(c, "2001:db9::1"));
	ck_assert(relay_ok(c, "::ffff:10.0.0.1"));  /* v4-mapped, v4 mask */
	ck_assert(!relay_ok(c, "127.0.0.1"));       /* no default any more */

	d = config_domain(c, "TLS.Test");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->tls, TLS_REQUIRED);
	ck_assert_int_eq(d->accept_invalid_certs, 0);
	ck_assert_double_eq_tol(d->rate, 10.0, 1e-9);
	ck_assert_uint_eq(d->burst, 10);            /* one second's worth */
	ck_assert_str_eq(d->relay_host, "2001:db8::25");
	ck_assert_uint_eq(d->relay_port, 2525);
	ck_assert(d->accept);
	d = config_domain(c, "other.test");
	ck_assert_int_eq(d->tls, TLS_NONE);
	ck_assert_double_eq_tol(d->rate, 1.0 / 3600, 1e-12);
	ck_assert_uint_eq(d->burst, 1);
	ck_assert_str_eq(d->relay_host, "mx.other.test");
	ck_assert_uint_eq(d->relay_port, 25);
	d = config_domain(c, "opp.test");
	ck_assert_int_eq(d->tls, TLS_OPPORTUNISTIC);
	ck_assert_double_eq_tol(d->rate, 2.5, 1e-9);
	ck_assert_uint_eq(d->burst, 3);

	ck_assert_uint_eq(c->delivery.retry_initial, 600);
	ck_assert_uint_eq(c->delivery.retry_max, 7200);
	ck_assert_int_eq(c->delivery.tls, TLS_NONE);   /* the later block */
	ck_assert_uint_eq(c->delivery.to_quit, 1);
	ck_assert_uint_eq(c->delivery.to_data, 7 * 86400);
	ck_assert_uint_eq(c->delivery.to_connect, 30);
	ck_assert_uint_eq(c->delivery.per_domain, 3);
	ck_assert_uint_eq(c->delivery.concurrency, 100);
	ck_assert_double_eq(c->delivery.rate, 5.0);
	ck_assert_uint_eq(c->delivery.burst, 5);
	ck_assert_str_eq(c->delivery.relay_host, "smart.example.net");
	ck_assert_uint_eq(c->delivery.relay_port, 587);
	ck_assert(c->delivery.accept_invalid_certs);
	ck_assert_uint_eq(c->dsn_delay_warning, 0);
	ck_assert_uint_eq(c->ntoken_hashes, 2);
	ck_assert_str_eq(c->token_hashes[0],
	    "4c5dc9b7708905f77f5e5d16316b5dfb425e68cb326dcd55a860e90a7707031e");
	ck_assert_str_eq(c->resolver_addr, "::1");
	ck_assert_uint_eq(c->resolver_port, 53);
	ck_assert_int_eq(c->log_target, LOGT_STDERR);
	ck_assert_int_eq(c->log_format, LOGF_JSON);
	ck_assert_int_eq(c->log_level, LOGL_WARN);
	config_free(c);

	/* A keyword is a plain string when quoted. */
	ck_assert_ptr_nonnull(c = fx_parse("user \"info\" domain \"accept\" { }"));
	ck_assert_str_eq(c->user, "info");
	ck_assert_ptr_nonnull(config_domain(c, "accept"));
	config_free(c);
	for (i = 0; i < 4; i++) {                /* no space is needed */
		ck_assert_ptr_nonnull(c = fx_parse(levels[i]));
		ck_assert_int_eq(c->log_level, LOGL_ERR + i);
		config_free(c);
	}
}
END_TEST

START_TEST(not_nul_terminated)
{
	/* Exactly len bytes are read (ASan sees any overread). */
	static const char text[] = "spool \"/a\" user b";
	char *buf = malloc(sizeof(text) - 1);
	struct config *c;

	memcpy(buf, text, sizeof(text) - 1);
	fx_reset_errs();
	ck_assert_ptr_nonnull(c = config_parse("t.conf", buf, sizeof(text) - 1,
	    fx_collect));
	ck_assert_str_eq(c->user, "b");
	config_free(c);
	/* "spool \"/a\"" */
	ck_assert_ptr_nonnull(c = config_parse("t.conf", buf, 10, fx_collect));
	ck_assert_str_eq(c->spool, "/a");
	ck_assert_str_eq(c->user, "_empath");
	config_free(c);
	c = config_parse("t.conf", buf, 9, fx_collect);    /* "spool \"/a" */
	ck_assert_ptr_null(c);
	ck_assert_int_eq(fx_nerrs, 1);
	ck_assert_str_eq(fx_errs[0], "t.conf:1: unterminated string");
	free(buf);
}
END_TEST

START_TEST(parsed_twice)
{
	char *example = example_text();
	struct config *a, *b;
	int i;

	for (i = 0; i < 3; i++) {
		a = fx_parse(example);
		b = fx_parse(example);
		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(b);
		ck_assert_ptr_ne(a, b);
		ck_assert_str_eq(a->hostname, b->hostname);
		ck_assert_uint_eq(TAILQ_FIRST(&a->listeners)->port,
		    TAILQ_FIRST(&b->listeners)->port);
		config_free(a);
		/* An error in between leaves no state behind. */
		ck_assert_ptr_null(fx_parse("listen on 0.0.0.0 port 25 {"));
		ck_assert_int_eq(fx_nerrs, 1);
		ck_assert_ptr_nonnull(config_domain(b, "example.org"));
		config_free(b);
	}
	config_free(NULL);
	free(example);
}
END_TEST

START_TEST(error_unknown_keyword)
{
	fails_with("user \"a\"\n\nfrobnicate 3\n",
	    "t.conf:3: unknown keyword \"frobnicate\"");
	fails_with("listen on 0.0.0.0 port 25 {\n  max-message-size 10M\n"
	    "  max-msg-size 5\n}\n",
	    "t.conf:3: unknown keyword \"max-msg-size\"");
	fails_with("delivery {\n tls sometimes\n}",
	    "t.conf:2: unknown keyword \"sometimes\", expecting \"none\", "
	    "\"opportunistic\" or \"required\"");
	fails_with("log { level verbose }",
	    "t.conf:1: unknown keyword \"verbose\", expecting \"debug\", "
	    "\"err\", \"info\" or \"warn\"");
	fails_with("domain \"a.test\" {\n accept-invalid-certs maybe }",
	    "t.conf:2: unknown keyword \"maybe\", expecting \"no\" or \"yes\"");
	/* A keyword in the wrong place, a quoted word where one is due. */
	fails_with("\n\nhostname accept", "t.conf:3: syntax error, unexpected "
	    "\"accept\", expecting string");
	fails_with("dsn {\n\"reporting-mta\" \"x\" }",
	    "t.conf:2: syntax error, unexpected string \"reporting-mta\" "
	    "(keywords are not quoted)");
	fails_with("listen on 0.0.0.0 port 25 { max-recipients many }",
	    "t.conf:1: syntax error, unexpected string \"many\", expecting number");
	fails_with("user \"a\" }", "t.conf:1: syntax error, unexpected \"}\"");
	fails_with("\n\n\n\x01", "t.conf:4: invalid character 0x01");
}
END_TEST

/* max-attempts 0 is no limit: the lifetime alone ends delivery. */
START_TEST(max_attempts_zero)
{
	struct config *c = fx_parse("delivery { max-attempts 7 }\n"
	    "delivery { max-attempts 0 }");

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(fx_nerrs, 0);
	ck_assert_uint_eq(c->delivery.max_attempts, 0);
	config_free(c);
	c = fx_parse("delivery { max-attempts 7 }");
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->delivery.max_attempts, 7);
	config_free(c);
}
END_TEST

START_TEST(error_values)
{
	fails_with("listen on 0.0.0.0 {\n max-message-size 10X\n}",
	    "t.conf:2: invalid size \"10X\"");
	fails_with("listen on 0.0.0.0 {\n max-message-size 0\n}",
	    "t.conf:2: invalid size 0");
	fails_with("listen on 0.0.0.0 {\n max-message-size 0M\n}",
	    "t.conf:2: invalid size \"0M\"");
	fails_with("listen on 0.0.0.0 {\n max-message-size 99999999999G\n}",
	    "t.conf:2: invalid size \"99999999999G\"");
	fails_with("# comment\n\n\n\n\n\ndelivery { expire 5x }",
	    "t.conf:7: invalid duration \"5x\"");
	fails_with("delivery {\n timeout connect 0 }",
	    "t.conf:2: invalid duration 0");
	fails_with("delivery {\n timeout connect 30 quit 1M }",
	    "t.conf:2: invalid duration \"1M\"");
	fails_with("delivery {\n timeout connect 99999999999999999999 }",
	    "t.conf:2: invalid duration \"99999999999999999999\"");
	fails_with("delivery {\n\n rate-limit 10/x }",
	    "t.conf:3: invalid rate \"10/x\"");
	fails_with("delivery { max-attempts 3000000000 }",
	    "t.conf:1: number 3000000000 out of range (0 to 2147483647)");
	fails_with("\nlisten on 0.0.0.0 port 0",
	    "t.conf:2: invalid port 0");
	fails_with("listen on 0.0.0.0\nport 65536",
	    "t.conf:2: invalid port 65536");
	fails_with("resolver \"127.0.0.1\" port 70000",
	    "t.conf:1: invalid port 70000");
	fails_with("listen on mx.example.org port 25",
	    "t.conf:1: invalid listen address \"mx.example.org\" (a numeric "
	    "IPv4 or IPv6 address, or localhost)");
	fails_with("resolver \"dns.example\"", "t.conf:1: invalid resolver "
	    "address \"dns.example\" (a numeric IPv4 or IPv6 address)");
	fails_with("relay from {\n 127.0.0.0/8,\n 10.0.0.0/33 }",
	    "t.conf:3: invalid netmask \"10.0.0.0/33\"");
	fails_with("relay from ::1/129", "t.conf:1: invalid netmask \"::1/129\"");
	fails_with("relay from localhost", "t.conf:1: invalid netmask \"localhost\"");
	fails_with("domain \"a.test\" {\n relay via \"h:0\" }",
	    "t.conf:2: invalid relay \"h:0\" (\"host\", \"host:port\" or "
	    "\"[IPv6]:port\")");
	fails_with("domain \"a.test\" { relay via \"[::1\" }",
	    "t.conf:1: invalid relay \"[::1\" (\"host\", \"host:port\" or "
	    "\"[IPv6]:port\")");
	fails_with("domain \"bad domain\" { }",
	    "t.conf:1: invalid domain \"bad domain\"");
	fails_with("hostname \"a b\"", "t.conf:1: invalid hostname \"a b\"");
	fails_with("hostname \"\"", "t.conf:1: invalid hostname \"\"");
	fails_with("dsn { postmaster \"nobody\" }",
	    "t.conf:1: invalid postmaster \"nobody\"");
	fails_with("\nuser \"a\"\nuser \"b\"", "t.conf:3: user given twice");
}
END_TEST

START_TEST(error_strings)
{
	struct config *c;
	char *big = calloc(1, 1200);

	fails_with("user \"a\"\nspool \"/var/spool\nhostname \"x\"\n",
	    "t.conf:2: unterminated string");
	fails_with("user \"a\"\n\nspool \"/var/spool", "t.conf:3: unterminated string");
	fails_with("spool \"a\tb\x01\"", "t.conf:1: invalid character 0x01 in string");
	/* 1024 bytes are fine, 1025 are not, quoted or bare. */
	memcpy(big, "spool \"", 7);
	memset(big + 7, 'a', 1024);
	memcpy(big + 7 + 1024, "\"", 1);
	fx_reset_errs();
	ck_assert_ptr_nonnull(c = config_parse("t.conf", big, strlen(big), fx_collect));
	ck_assert_uint_eq(strlen(c->spool), 1024);
	config_free(c);
	memset(big + 7, 'a', 1025);
	memcpy(big + 7 + 1025, "\"\nuser \"x\"", 10);
	fails_with(big, "t.conf:1: string longer than 1024 bytes");
	memset(big, 0, 1200);
	memcpy(big, "\nspool ", 7);
	memset(big + 7, 'a', 1030);
	fails_with(big, "t.conf:2: string longer than 1024 bytes");
	free(big);
}
END_TEST

START_TEST(error_braces)
{
	fails_with("listen on 0.0.0.0 port 25 {\n  max-recipients 5\n\n",
	    "t.conf:3: unexpected end of file, missing \"}\" of the block "
	    "opened at line 1");
	fails_with("user \"a\"\ndelivery {\n  retry initial 1m\n  timeout "
	    "connect 30s\n", "t.conf:4: unexpected end of file, missing \"}\" "
	    "of the block opened at line 2");
	fails_with("listen on 0.0.0.0 port 25\n  max-recipients 5\n",
	    "t.conf:2: syntax error, unexpected \"max-recipients\"");
	fails_with("domain \"x.test\"\naccept\n",
	    "t.conf:2: syntax error, unexpected \"accept\", expecting \"{\"");
}
END_TEST

START_TEST(error_semantic)
{
	fails_with("delivery {\n  max-attempts 3\n  retry initial 5m max 1m\n}",
	    "t.conf:3: retry max is shorter than retry initial");
	fails_with("delivery {\n  retry initial 5h\n}",
	    "t.conf:2: retry max is shorter than retry initial");
	fails_with("domain \"example.org\" { accept }\n"
	    "domain \"other.org\" { }\ndomain \"Example.Org\" { }",
	    "t.conf:3: duplicate domain \"example.org\"");
	fails_with("listen on 127.0.0.1 port 25\nlisten on ::1 port 25\n"
	    "listen on 127.0.0.1 port 587\nlisten on localhost port 25 { }",
	    "t.conf:4: duplicate listener \"localhost\" port 25");
	fails_with("listen on ::1 port 25\nlisten on [0:0::1] port 25",
	    "t.conf:2: duplicate listener \"[0:0::1]\" port 25");
	fails_with("listen on 127.0.0.1 port 8080\n"
	    "health listen on 127.0.0.1 port 8080",
	    "t.conf:2: health listen uses the address and port of a listen "
	    "statement");
	fails_with("control {\n  socket \"/s\"\n  token-hash \"abc\"\n}",
	    "t.conf:3: invalid token-hash (64 hexadecimal digits of a SHA-256 "
	    "expected)");
	fails_with("control { token-hash \"4c5dc9b7708905f77f5e5d16316b5dfb425e68cb"
	    "326dcd55a860e90a7707031g\" }", "t.conf:1: invalid token-hash (64 "
	    "hexadecimal digits of a SHA-256 expected)");
	fails_with("control { token-hash \"4c5dc9b7708905f77f5e5d16316b5dfb425e68cb"
	    "326dcd55a860e90a7707031e0\" }", "t.conf:1: invalid token-hash (64 "
	    "hexadecimal digits of a SHA-256 expected)");
	fails_with("listen on 0.0.0.0 {\n tls certificate \"c\"\n}",
	    "t.conf:2: tls needs both a certificate and a key");
	fails_with("listen on 0.0.0.0 port 465 {\n tls implicit\n}",
	    "t.conf:2: tls implicit needs a certificate and a key");
	fails_with("listen on 0.0.0.0 port 587 { tls required }",
	    "t.conf:1: tls required needs a certificate and a key");
	fails_with("listen on 0.0.0.0 {\n tls certificate \"c\" key \"k\"\n"
	    " tls implicit required }",
	    "t.conf:3: tls required and tls implicit exclude each other");
	fails_with("health listen on 127.0.0.1 port 1\n"
	    "health listen on 127.0.0.1 port 2", "t.conf:2: health listen given "
	    "twice");
	fails_with("delivery { relay via \"a\"\n relay via \"b\" }",
	    "t.conf:2: relay via given twice");
}
END_TEST

START_TEST(several_errors)
{
	struct config *c = fx_parse(
	    "hostname \"mx.example.org\"\n"          /* 1 */
	    "listen on 1.2.3.4 port 99999 {\n"        /* 2: bad port */
	    "  max-msg-size 5\n"                      /* 3: unknown keyword */
	    "  timeout command 5x\n"                  /* 4: bad duration */
	    "}\n"
	    "foo bar\n"                               /* 6: unknown keyword */
	    "relay from { 10.0.0.0/33 }\n"            /* 7: bad netmask */
	    "domain \"A.org\" { }\n"
	    "domain \"a.org\" { }\n"                  /* 9: duplicate */
	    "delivery { retry initial 5h }\n"         /* 10: retry */
	    "control { token-hash \"abc\" }\n"        /* 11: token */
	    "listen on 127.0.0.1 port 25\n"
	    "listen on localhost port 25 {\n");       /* 13: dup + brace */
	static const char *expect[] = {
		"t.conf:2: invalid port 99999",
		"t.conf:3: unknown keyword \"max-msg-size\"",
		"t.conf:4: invalid duration \"5x\"",
		"t.conf:6: unknown keyword \"foo\"",
		"t.conf:7: invalid netmask \"10.0.0.0/33\"",
		"t.conf:9: duplicate domain \"a.org\"",
		"t.conf:10: retry max is shorter than retry initial",
		"t.conf:11: invalid token-hash (64 hexadecimal digits of a "
		    "SHA-256 expected)",
		"t.conf:13: duplicate listener \"localhost\" port 25",
		"t.conf:13: unexpected end of file, missing \"}\" of the block "
		    "opened at line 13",
	};
	size_t i;

	ck_assert_ptr_null(c);
	ck_assert_int_eq(fx_nerrs, (int)(sizeof(expect) / sizeof(expect[0])));
	for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		ck_assert_str_eq(fx_errs[i], expect[i]);
}
END_TEST

START_TEST(too_many_errors)
{
	char text[4096] = "";
	int i;

	for (i = 0; i < 80; i++)
		strlcat(text, "user \"a b\"\n", sizeof(text));
	ck_assert_ptr_null(fx_parse(text));
	/* 50 errors and the line that says the rest was not read. */
	ck_assert_int_eq(fx_nerrs, 51);
	ck_assert_str_eq(fx_errs[0], "t.conf:1: invalid user \"a b\"");
	ck_assert_str_eq(fx_errs[49], "t.conf:50: invalid user \"a b\"");
	ck_assert_str_eq(fx_errs[50], "t.conf: too many errors, giving up");
}
END_TEST

#define SIZE_IS(s, v) do { ck_assert_int_eq(config_parse_size(s, &sz), 0); \
	ck_assert_uint_eq(sz, v); } while (0)
#define DURATION_IS(s, v) do { ck_assert_int_eq(config_parse_duration(s, &d), 0); \
	ck_assert_uint_eq(d, v); } while (0)
#define ROUTE_IS(s, h, p) do { \
	ck_assert_int_eq(config_parse_hostport(s, &host, &port), 0); \
	ck_assert_str_eq(host, h); ck_assert_uint_eq(port, p); free(host); } while (0)
#define RATE_IS(s, v) do { ck_assert_int_eq(config_parse_rate(s, &r), 0); \
	ck_assert_double_eq_tol(r, v, 1e-12); } while (0)
#define BAD_SIZE(s) ck_assert_int_eq(config_parse_size(s, &sz), -1)
#define BAD_DURATION(s) ck_assert_int_eq(config_parse_duration(s, &d), -1)
#define BAD_RATE(s) ck_assert_int_eq(config_parse_rate(s, &r), -1)
#define BAD_NETMASK(s) ck_assert_int_eq(config_parse_netmask(s, &m), -1)
#define BAD_ROUTE(s) ck_assert_int_eq(config_parse_hostport(s, &host, &port), -1)

START_TEST(value_syntax)
{
	size_t sz;
	unsigned d;
	double r;
	struct cfg_netmask m;
	char *host;
	uint16_t port;

	SIZE_IS("512", 512);
	SIZE_IS("512K", 512 * 1024);
	SIZE_IS("10M", 10 * 1024 * 1024);
	SIZE_IS("1G", 1024UL * 1024 * 1024);
	BAD_SIZE("10MB");
	BAD_SIZE("M");
	BAD_SIZE("");
	BAD_SIZE("-1");
	BAD_SIZE("1.5M");

	DURATION_IS("30", 30);
	DURATION_IS("30s", 30);
	DURATION_IS("5m", 300);
	DURATION_IS("4h", 14400);
	DURATION_IS("5d", 432000);
	DURATION_IS("1h30m15s", 5415);
	BAD_DURATION("5x");
	BAD_DURATION("m");
	BAD_DURATION("1h30");
	BAD_DURATION("");
	BAD_DURATION("100000000d");

	RATE_IS("10/s", 10);
	RATE_IS("600/m", 10);
	RATE_IS("1/h", 1.0 / 3600);
	RATE_IS("0.5/s", 0.5);
	RATE_IS("7", 7);
	BAD_RATE("0/s");
	BAD_RATE("10/");
	BAD_RATE("/s");
	BAD_RATE("10/ss");

	ck_assert_int_eq(config_parse_netmask("192.0.2.1", &m), 0);
	ck_assert_int_eq(m.family, AF_INET);
	ck_assert_uint_eq(m.prefix, 32);
	ck_assert_int_eq(config_parse_netmask("::1", &m), 0);
	ck_assert_int_eq(m.family, AF_INET6);
	ck_assert_uint_eq(m.prefix, 128);
	ck_assert_int_eq(config_parse_netmask("10.1.2.3/9", &m), 0);
	ck_assert_uint_eq(m.prefix, 9);
	ck_assert_uint_eq(m.addr[0], 10);
	ck_assert_uint_eq(m.addr[1], 0);       /* 1 & 0x80 */
	ck_assert_uint_eq(m.addr[2], 0);
	ck_assert_int_eq(config_parse_netmask("0.0.0.0/0", &m), 0);
	BAD_NETMASK("10.0.0.0/8/8");
	BAD_NETMASK("10.0.0.0/ 8");
	BAD_NETMASK("10.0.0.0/0008");
	BAD_NETMASK("/8");
	BAD_NETMASK("10.0.0.0/-1");
	BAD_NETMASK("10.0.0.0/");
	BAD_NETMASK("10.0.0/8");

	ROUTE_IS("10.0.0.5:25", "10.0.0.5", 25);
	ROUTE_IS("mx.example.org", "mx.example.org", 25);
	ROUTE_IS("[::1]:2525", "::1", 2525);
	ROUTE_IS("2001:db8::5", "2001:db8::5", 25);
	BAD_ROUTE("h:65536");
	BAD_ROUTE("h:");
	BAD_ROUTE(":25");
	BAD_ROUTE("[mx.example]:25");
	BAD_ROUTE("a b:25");
	BAD_ROUTE("");
}
END_TEST

START_TEST(relay_allowed)
{
	struct config *c = fx_parse("relay from { 192.0.2.0/24, 2001:db8::/48, "
	    "198.51.100.7 }");
	struct sockaddr_un sun;

	ck_assert_ptr_nonnull(c);
	ck_assert(relay_ok(c, "192.0.2.0"));
	ck_assert(relay_ok(c, "192.0.2.255"));
	ck_assert(!relay_ok(c, "192.0.3.0"));
	ck_assert(relay_ok(c, "198.51.100.7"));
	ck_assert(!relay_ok(c, "198.51.100.8"));
	ck_assert(relay_ok(c, "2001:db8:0:ffff::1"));
	ck_assert(!relay_ok(c, "2001:db8:1::1"));
	/* An IPv4 client on a dual-stack socket matches the IPv4 masks... */
	ck_assert(relay_ok(c, "::ffff:192.0.2.9"));
	ck_assert(relay_ok(c, "::ffff:198.51.100.7"));
	ck_assert(!relay_ok(c, "::ffff:198.51.100.8"));
	/* ...but an IPv4-compatible or other v6 address does not. */
	ck_assert(!relay_ok(c, "::192.0.2.9"));
	ck_assert(!relay_ok(c, "::1"));
	ck_assert(!relay_ok(c, "127.0.0.1"));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert(!config_relay_allowed(c, (struct sockaddr *)&sun));
	ck_assert(!config_relay_allowed(c, NULL));
	config_free(c);

	c = fx_parse("relay from { 0.0.0.0/0 }");
	ck_assert(relay_ok(c, "203.0.113.1"));
	ck_assert(relay_ok(c, "::ffff:203.0.113.1"));
	ck_assert(!relay_ok(c, "2001:db8::1"));
	config_free(c);
	c = fx_parse("relay from ::/0");
	ck_assert(relay_ok(c, "2001:db8::1"));
	ck_assert(!relay_ok(c, "203.0.113.1"));
	config_free(c);
}
END_TEST

START_TEST(domain_lookup)
{
	struct config *c = fx_parse("domain \"Example.ORG\" { accept }\n"
	    "domain \"sub.example.org\" { relay via \"h:1\" }");

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(config_domain(c, "example.org"));
	ck_assert_ptr_eq(config_domain(c, "Example.ORG"),
	    config_domain(c, "example.org"));
	ck_assert_ptr_eq(config_domain(c, "EXAMPLE.ORG."),
	    config_domain(c, "example.org"));
	ck_assert(config_domain(c, "EXAMPLE.org")->accept);
	ck_assert_str_eq(config_domain(c, "SUB.example.org")->relay_host, "h");
	ck_assert(!config_domain(c, "sub.example.org")->accept);
	ck_assert_ptr_null(config_domain(c, "example.com"));
	ck_assert_ptr_null(config_domain(c, "org"));
	ck_assert_ptr_null(config_domain(c, "xexample.org"));
	ck_assert_ptr_null(config_domain(c, "other.example.org"));
	ck_assert_ptr_null(config_domain(c, ""));
	ck_assert_ptr_null(config_domain(c, NULL));
	config_free(c);
}
END_TEST

/* queue-user: a user name, once, and the line of a listener's tls. */
static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tcase_add_test(tc = tcase_create("valid"), full_example);
	tcase_add_test(tc, shipped_files);
	tcase_add_test(tc, load_errors);
	tcase_add_test(tc, syntax_variants);
	tcase_add_test(tc, not_nul_terminated);
	tcase_add_test(tc, parsed_twice);
	suite_add_tcase(s, tc);
	tcase_add_test(tc = tcase_create("defaults"), defaults_empty);
	tcase_add_test(tc, defaults_in_blocks);
	suite_add_tcase(s, tc);
	tcase_add_test(tc = tcase_create("errors"), error_unknown_keyword);
	tcase_add_test(tc, error_values);
	tcase_add_test(tc, max_attempts_zero);
	tcase_add_test(tc, error_strings);
	tcase_add_test(tc, error_braces);
	tcase_add_test(tc, error_semantic);
	tcase_add_test(tc, several_errors);
	tcase_add_test(tc, too_many_errors);
	suite_add_tcase(s, tc);
	tcase_add_test(tc = tcase_create("values"), value_syntax);
	suite_add_tcase(s, tc);
	tcase_add_test(tc = tcase_create("lookups"), relay_allowed);
	tcase_add_test(tc, domain_lookup);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(config_suite);
