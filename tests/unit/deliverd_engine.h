/* SPDX-License-Identifier: ISC */
/* The deliverd engine fixture (test_deliverd_engine*.c): empath-deliverd's
 * own start-up (deliverd/main.c, see engine_fixture.h for how) in the
 * test process, its event loop run by the test, and around it:
 *
 *   de_queued   queued, played by the test on a real channel: D_JOB out
 *               (a read-only message file and an envelope), D_RESULT in
 *   the sink    an SMTP server in a thread of this process, listening on
 *               127.0.0.1 (de_sink_port), its replies scripted per test
 *   the DNS     a DNS server in a thread, UDP on 127.0.0.1, answering
 *               from the records the test gives it (built and parsed
 *               with ldns); the configuration's `resolver` points to it
 *
 * The configuration sends mail for MX hosts to de_sink_port (`delivery
 * { mx-port }`) and lets them be on loopback (`mx-allow`). Only the
 * channel, SMTP and DNS are looked at, never deliverd's internals. */
#ifndef EMPATH_TEST_DELIVERD_ENGINE_H
#define EMPATH_TEST_DELIVERD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine_fixture.h"
#include "envelope.h"
#include "wire.h"

extern struct fx_peer *de_queued;
extern uint16_t de_sink_port;

/* ---- the DNS server ---- */
/* A record in zone-file form, "mx.test. 300 IN MX 10 mx1.mx.test.".
 * Questions get every record of their name and type; a name with records
 * of other types only gets an empty NOERROR, an unknown name NXDOMAIN. */
void de_dns_add(const char *rr);
unsigned de_dns_queries(void);        /* questions received */

/* ---- the SMTP sink ----
 * Replies: 220 greeting; EHLO lists SIZE, ENHANCEDSTATUSCODES and, unless
 * scripted otherwise, 8BITMIME and PIPELINING; MAIL 250; RCPT 250, or the
 * scripted reply of that address, or 452 4.5.3 past rcpt_max accepted in
 * the transaction; DATA 354 (554 without an accepted recipient), then
 * data_reply or 250 after the final dot; RSET, NOOP 250; QUIT 221. */
#define DE_SINK_REPLIES 8
struct de_sink_script {
	bool        no_8bitmime;
	bool        no_pipelining;
	unsigned    rcpt_max;                 /* 0: no limit */
	const char *data_reply;               /* NULL: 250 2.0.0 */
	struct {
		const char *addr;             /* as in RCPT TO:<addr> */
		const char *reply;            /* the whole reply line */
	} rcpt[DE_SINK_REPLIES];
};
/* Before the job: the script of every later session (and of the next
 * transaction of an open one: the replies are read again at MAIL). */
void de_sink_script(const struct de_sink_script *);

#define DE_SINK_RCPTS 16
/* A transaction the sink answered with 2xx after the final dot. */
struct de_sink_msg {
	char    mail[512];                    /* the MAIL command line */
	char    rcpt[DE_SINK_RCPTS][256];     /* accepted, as in RCPT TO:<> */
	size_t  nrcpt;
	char   *data;                         /* dot-stuffing undone */
	size_t  len;
	char   *wire;                         /* as sent, the final dot left out */
	size_t  wirelen;
};
size_t de_sink_count(void);
/* Message i (< de_sink_count()), complete: the sink records it before
 * its reply to the final dot. */
const struct de_sink_msg *de_sink_msg(size_t i);
unsigned de_sink_connections(void);   /* accepted so far */

/* ---- set-up ---- */
/* DNS and sink started, deliverd configured with them (extra, NULL for
 * none, appended), queued's channel offered, deliverd started. */
void de_setup_with(const char *extra);
void de_setup(void);
/* Close queued's channel, stop deliverd (it must exit 0), stop the sink
 * and the DNS server. */
void de_teardown(void);

/* ---- queued ---- */
/* D_JOB for message text from sender to the NULL-ended rcpts (one
 * domain), with BODY= body (NULL: none); recipient i gets the id
 * DE_RCPT_ID(i). Returns the job's request id. */
#define DE_RCPT_ID(i) (1000 + (uint64_t)(i))
uint32_t de_job(const char *sender, const char *const *rcpts,
    const char *text, const char *body);
/* The same with what else the envelope carries: the message id, the
 * plugins' metadata
 * (env.meta, "key=value\n" lines) and added header fields (env.headers,
 * "Name: value\r\n" lines), NULL for none, and the attempts queued
 * counted for every recipient. */
struct de_job_extra {
	const char *id;               /* the message id; NULL: a new one */
	const char *meta;
	const char *headers;
	uint32_t    attempts;
};
uint32_t de_job_with(const char *sender, const char *const *rcpts,
    const char *text, const char *body, const struct de_job_extra *);
/* Its D_RESULT, decoded (the test fails on another message, a malformed
 * result, or none within ms); free with de_result_free(). */
struct de_result {
	struct wire_result r;
	struct fx_msg     *msg;           /* the strings of r point into it */
};
void de_result(uint32_t job, struct de_result *, unsigned ms);
void de_result_free(struct de_result *);
/* The result of recipient id; the test fails when it has none. */
const struct wire_result_rcpt *de_rcpt(const struct de_result *,
    uint64_t id);

#endif
