/* SPDX-License-Identifier: ISC */
/* The message files of the spool, by paths relative to the spool (queued
 * runs chrooted into it, or chdir()ed into it when unprivileged):
 *
 *   incoming/<id>   being received: created here, written by smtpd
 *   queue/<id>      committed: renamed here once its data is on disk
 *   corrupt/<id>    quarantined: kept for the operator, never read again
 *
 * Ids are ULIDs made here or checked with ulid_valid(): never a path from a
 * peer. */
#ifndef EMPATH_QUEUED_SPOOL_H
#define EMPATH_QUEUED_SPOOL_H

#include <stdbool.h>

#include "envelope.h"

#define SPOOL_INCOMING "incoming"
#define SPOOL_QUEUE    "queue"
#define SPOOL_CORRUPT  "corrupt"
#define SPOOL_DB       "queue.db"

/* Create the directories (0700) when missing and open queue/ for the
 * directory syncs. -1 with errno on failure. */
int  spool_init(void);
void spool_close(void);

/* A new incoming/<id>, O_EXCL, mode 0600, for writing; id is filled in.
 * Returns the fd or -1 with errno. */
int  spool_create(char id[ULID_LEN + 1]);
/* Remove incoming/<id> or queue/<id>; a missing file is not an error. */
void spool_discard_incoming(const char *id);
void spool_remove(const char *id);
/* Open queue/<id> read-only for a delivery job. -1 with errno. */
int  spool_open_message(const char *id);
bool spool_exists(const char *id);
/* Whether incoming/<id> exists (the reception never finished). */
bool spool_incoming_exists(const char *id);

/* Recovery. Remove every file of incoming/ (unfinished receptions: their
 * client never got a 250); returns how many. */
unsigned spool_clean_incoming(void);
/* Move to corrupt/ every file of queue/ for which known(id) is false, and
 * any name that is not a message id. Returns how many. */
unsigned spool_quarantine_orphans(bool (*known)(const char *id, void *arg),
                                  void *arg);

#endif
