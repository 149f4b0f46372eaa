/* SPDX-License-Identifier: ISC */
/* The session test bench shared by the smtpd unit tests (test_smtpd*.c):
 * smtpd's session code on the real event loop, a client on a socketpair,
 * and queued played by the test on a real channel. Each test file links
 * tests/unit/smtpd_fixture.c (see its // LINK: line). */
#ifndef EMPATH_TEST_SMTPD_FIXTURE_H
#define EMPATH_TEST_SMTPD_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "channel.h"
#include "lineio.h"
#include "config.h"
#include "envelope.h"
#include "../../smtpd/received.h"
#include "../../smtpd/session.h"
#include "../../smtpd/smtpd.h"
#include "../../smtpd/starttls.h"

/* The listeners of the test configuration, in order:
 *   lst       2525  max-message-size 10000, max-recipients 3
 *   lst_fast  2526  timeout command 1s, max-errors 3
 *   lst_tls   2527  STARTTLS offered (certificate made at test time)
 *   lst_req   2528  tls required
 *   lst_imp   2529  tls implicit
 *   lst_ip    2530  max-connections-per-ip 2 */
extern struct config *cfg;
extern struct cfg_listen *lst, *lst_fast, *lst_tls, *lst_req, *lst_imp, *lst_ip;
extern struct session *S;
extern int cli;
extern bool server_closed;
extern char rbuf[65536];
extern const char MSGID[];
extern char fixture_cert[128], fixture_key[128];

/* The fake queued. */
extern struct channel *fakeq;
extern unsigned n_create, n_commit, n_rollback, n_closed;
extern uint32_t create_id, commit_id;
extern struct envelope committed;
extern char rolled_back[];

void fixture_setup(void);        /* a session from 192.0.2.7 on lst */
void fixture_setup_tls(void);    /* ... and a certificate for lst_tls etc. */
void fixture_teardown(void);

void fakeq_connect(void);
void run_ms(uint64_t ms);
void pump(void);
const char *collect(size_t want);
const char *replies(void);
void send_str(const char *s);
void send_bytes(const void *p, size_t n);
const char *talk(const char *s);
struct session *connect_from(const char *ip, struct cfg_listen *l);
/* A session without reading the greeting (implicit TLS). */
struct session *connect_raw(const char *ip, struct cfg_listen *l);
/* A local submission session of uid, greeted: its M_USER_LOOKUP was
 * answered as the master would, from the users of local_user(). */
struct session *connect_local(uid_t uid, struct cfg_listen *l);
/* The same, the lookup not answered (nothing read). */
struct session *connect_local_raw(uid_t uid, struct cfg_listen *l);

/* The fake master: M_USER_LOOKUP the sessions sent (daemon_master_send),
 * and M_USER_NAME handed to smtpd as its master channel would. */
void local_user(uid_t uid, const char *name);   /* the master's users */
extern unsigned n_lookup;
extern uint64_t lookup_cookie;
extern uint32_t lookup_uid;
void master_answer(uint64_t cookie, uint32_t uid, const char *name);

void q_create_ok(uint32_t id, int fd, const char *msgid);
void q_fail(uint16_t type, uint32_t id, uint32_t code, const char *text);
void q_commit_ok(uint32_t id, const char *msgid);
int  incoming_file(char *path, size_t len);
char *slurp(const char *path);
void start_transaction(void);
void start_data(char *path, size_t len);

/* A TLS client on cli (after STARTTLS, or at once for implicit TLS):
 * tc is its lineio; what it reads lands in tbuf. */
extern struct lineio tc;
extern char tbuf[65536];
void client_handshake(void);
void tls_send(const char *s, size_t n);
const char *tls_collect(size_t want);
#define tls_expect(line, want) do {					\
	const char *got_;						\
	tls_send(line, strlen(line));					\
	got_ = tls_collect(strlen(want));				\
	ck_assert_msg(strcmp(got_, want) == 0,				\
	    "sent %s got '%s' want '%s'", line, got_, want);		\
} while (0)


#define expect_out(want) do {						\
	const char *got_ = collect(strlen(want));			\
	ck_assert_msg(strcmp(got_, want) == 0,				\
	    "got '%s' want '%s'", got_, want);				\
} while (0)

#define expect(line, want) do {						\
	const char *got_;						\
	send_str(line);							\
	got_ = collect(strlen(want));					\
	ck_assert_msg(strcmp(got_, want) == 0,				\
	    "sent %s got '%s' want '%s'", line, got_, want);		\
} while (0)

#define expect_prefix(line, want) do {					\
	const char *got_;						\
	send_str(line);							\
	got_ = collect(strlen(want));					\
	ck_assert_msg(strncmp(got_, want, strlen(want)) == 0,		\
	    "sent %s got '%s' want '%s...'", line, got_, want);	\
} while (0)

#endif
