/* SPDX-License-Identifier: ISC */
/* libFuzzer harness for the address lists of empath-sendmail
 * (sendmail/addrlist.c), which come from the header of a message given
 * to -t or from the command line of any local user, and for the header
 * handling around them (sendmail/message.c). The first byte chooses: an
 * address list alone, or a whole message with -t. Asserted: a list is
 * taken whole or not at all; every address is non-empty and no longer
 * than its input; what sm_addr_final() passes has no control character
 * and at most SM_ADDR_MAX octets; a prepared message ends with a line
 * end and its DATA form with the end dot. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sendmail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addrs(const struct sm_addrs *a, size_t size)
{
	char err[256], *f;
	size_t i, j, n;

	for (i = 0; i < a->n; i++) {
		n = strlen(a->v[i]);
		assert(n > 0 && n <= size);
		f = sm_addr_final(a->v[i], "host.example", err, sizeof(err));
		if (f == NULL)
			continue;
		assert(strlen(f) <= SM_ADDR_MAX);
		for (j = 0; f[j] != '\0'; j++)
			assert((unsigned char)f[j] >= 0x20 && f[j] != 0x7f);
		free(f);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_addrs a = { NULL, 0 };
	char err[256];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (sm_addrlist_parse((const char *)data + 1, size - 1, &a, err,
		    sizeof(err)) == -1)
			assert(a.n == 0 && err[0] != '\0');
		check_addrs(&a, size);
	} else {
		struct sm_msg in = { (char *)data + 1, size - 1, 0 };
		struct sm_msg out = { NULL, 0, 0 }, data_form = { NULL, 0, 0 };
		struct sm_prep p = {
			.hostname = "host.example",
			.from_addr = "joe@host.example",
			.fullname = "Joe",
			.now = 0,
			.extract = true,
		};

		if (sm_prepare(&in, &p, &out, &a, err, sizeof(err)) == 0) {
			/* Never empty (From: at least), always whole lines. */
			assert(out.len > 0 && out.buf[out.len - 1] == '\n');
			sm_dot_stuff(out.buf, out.len, &data_form);
			assert(data_form.len >= 3 && memcmp(data_form.buf +
			    data_form.len - 3, ".\r\n", 3) == 0);
			check_addrs(&a, size);
		}
		sm_msg_free(&out);
		sm_msg_free(&data_form);
	}
	sm_addrs_free(&a);
	return 0;
}
