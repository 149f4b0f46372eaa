/* SPDX-License-Identifier: ISC */
/* Included by the harnesses that build a daemon's main.c into themselves,
 * before it: the daemon's sandbox_enter() becomes a no-op here. The
 * seccomp filter would kill the fuzzer (libFuzzer and the sanitizer
 * runtimes make system calls no daemon list allows), and the harness
 * runs in one process for every input. The daemons' own builds are not
 * touched: this only renames the call in the harness's translation unit;
 * the filter itself is tested in tests/unit/test_sandbox.c and the e2e
 * suite. */
#ifndef EMPATH_FUZZ_NOSANDBOX_H
#define EMPATH_FUZZ_NOSANDBOX_H

#include "sandbox.h"

static inline void
fuzz_no_sandbox(enum proc_id self)
{
	(void)self;
}

#define sandbox_enter(self) fuzz_no_sandbox(self)

#endif
