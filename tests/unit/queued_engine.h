/* SPDX-License-Identifier: ISC */
/* The queued engine fixture (test_queued_engine*.c): empath-queued's own
 * start-up (queued/main.c, see engine_fixture.h for how) in the test
 * process, on a spool in a temporary directory, its event loop run by
 * the test, and its three peers played by the test on real channels:
 *
 *   qe_smtpd     Q_CREATE / Q_COMMIT / Q_ROLLBACK in, their answers out
 *   qe_deliverd  D_JOB out (a descriptor and an envelope), D_RESULT in
 *   qe_ctld      the status and queue operations (qe_op())
 *
 * Only the channels and the spool's documented layout (queue/<id>, see
 * empath-queued(8)) are looked at, never queued's internals.
 *
 * The sync thread's syncfs() is the fixture's (the executable's
 * definition wins over libc's): it syncs nothing, counts the calls, and
 * on demand holds them (qe_sync_hold) or fails them (qe_sync_fail), so a
 * test sees what waits for durability and what a failed sync does. */
#ifndef EMPATH_TEST_QUEUED_ENGINE_H
#define EMPATH_TEST_QUEUED_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine_fixture.h"
#include "envelope.h"
#include "wire.h"

extern struct fx_peer *qe_smtpd, *qe_deliverd, *qe_ctld;
extern const char *qe_spool;         /* absolute path */

/* queued configured with the spool, logging errors to stderr, and
 * extra (NULL: none) appended, its peers attached, started. */
void qe_setup_with(const char *extra);
/* The same on an existing spool (one a stopped queued left, to see what
 * survives a restart). */
void qe_setup_in(const char *spool, const char *extra);
void qe_setup(void);
/* Called, when set, between the configuration and the start: a test
 * sets up there what queued reads at start (its local users, say). */
extern void (*qe_before_start)(void);
/* Release held syncs, close the peers, stop queued (it must exit 0). */
void qe_teardown(void);

/* ---- the master ----
 * fx_master answers M_USER_LOOKUP (a drop file's owner) as
 * empath-master does: M_USER_NAME with the cookie and uid asked, and
 * the name the test gave that uid, or "" when it gave none. */
void qe_user_set(uid_t uid, const char *name);   /* NULL: no such user */
/* While set, lookups are kept on fx_master, unanswered. */
extern bool qe_hold_lookups;
unsigned qe_lookups(void);           /* lookups seen */
void qe_answer_held(void);           /* answer the kept ones now */

/* ---- syncfs() ---- */
unsigned qe_syncs(void);             /* calls so far */
unsigned qe_syncs_held(void);        /* calls waiting in qe_sync_hold */
void qe_sync_hold(bool hold);        /* calls block until released */
void qe_sync_fail(int err);          /* calls fail with err (0: succeed) */

/* ---- smtpd ---- */
/* Q_CREATE; returns its request id. */
uint32_t qe_create(void);
/* Its Q_CREATE_OK: the writable descriptor, msgid filled in. */
int  qe_created(uint32_t reqid, char msgid[ULID_LEN + 1]);
/* Q_COMMIT of msgid, of size octets, from sender to the NULL-ended
 * rcpts; returns its request id. */
uint32_t qe_commit(const char *msgid, const char *sender,
    const char *const *rcpts, uint64_t size);
/* Given to every qe_commit() as the envelope's plugin metadata and added
 * header fields while not NULL. */
extern const char *qe_commit_meta, *qe_commit_headers;
/* The answer to a commit: Q_COMMIT_OK (msgid set) or Q_COMMIT_FAIL
 * (fail set); returns the type. */
uint16_t qe_committed(uint32_t reqid, struct wire_msgid *msgid,
    struct wire_fail *fail);
/* A whole reception (create, write text, commit, Q_COMMIT_OK). */
void qe_receive(char msgid[ULID_LEN + 1], const char *sender,
    const char *const *rcpts, const char *text);

/* ---- deliverd ---- */
struct qe_job {
	uint32_t        id;          /* the request id, for the result */
	int             fd;          /* the message file */
	struct envelope env;
};
/* The next D_JOB, decoded (the test fails on a malformed one). */
void qe_job_next(struct qe_job *, unsigned ms);
/* Whether a D_JOB comes within ms (it is then taken into job). */
bool qe_job_within(struct qe_job *, unsigned ms);
void qe_job_free(struct qe_job *);
/* The whole message file of a job. */
char *qe_job_text(const struct qe_job *);
/* D_RESULT: recipient i of the job gets states[i] and diags[i]. */
void qe_result(const struct qe_job *, const uint32_t *states,
    const char *const *diags);

/* ---- the spool ---- */
bool qe_in_queue(const char *msgid);           /* queue/<id> exists */
char *qe_queue_file(const char *msgid);        /* its content */

/* ---- ctld: queue operations ----
 * The control message types are named in qe_op() alone (queued_engine.c):
 * a renaming of them touches that function only. */
enum qe_op { QE_LIST, QE_DELETE, QE_RETRY };
/* Send operation op (id: the message, NULL for LIST, which lists every
 * state, up to 100 messages), wait for its answer: true for success
 * (count: the messages affected, or listed), false for a failure. The
 * ids listed go to ids (up to nids). */
bool qe_op(enum qe_op op, const char *id, uint64_t *count,
    char (*ids)[ULID_LEN + 1], size_t nids);

#endif
