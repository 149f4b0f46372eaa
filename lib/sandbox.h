/* SPDX-License-Identifier: ISC */
/* The system call filter each daemon installs once its set-up is done
 * (configuration read, keys loaded, privileges dropped): a seccomp
 * allowlist per daemon, see sandbox.c for what each list holds and why.
 *
 * Before calling sandbox_enter() a daemon must have done everything that
 * needs a system call outside its list: for smtpd, deliverd and ctld that
 * means every file it will ever read is already open (no open/openat
 * after this point), no process is ever started (no execve, no fork). */
#ifndef EMPATH_SANDBOX_H
#define EMPATH_SANDBOX_H

#include <stdbool.h>

#include "proto.h"

/* Install self's filter; any failure is fatal. Also makes the process
 * non-dumpable (no ptrace, no /proc/PID/mem by a sibling of the same
 * uid) and arms the test-only fault switch (EMPATH_TEST_SYSCALL, below). */
void sandbox_enter(enum proc_id self);

/* True when this build has the wider lists the sanitizer runtimes need
 * (SANITIZE=1 builds). */
bool sandbox_sanitizer_build(void);

/* Build and load self's filter without the rest of sandbox_enter();
 * returns 0 or -1 (errno set). For the unit tests. */
int sandbox_load(enum proc_id self);

#endif
