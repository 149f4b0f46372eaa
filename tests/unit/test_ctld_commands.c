/* SPDX-License-Identifier: ISC */
/* ctld's one command table (ctld/commands.c) against the message table:
 * exactly the CTL_ requests are commands (the daemons' own requests and
 * every answer type are not), a forwarded command's answer has a codec,
 * and the payload checks are those codecs: an argument is taken only in
 * the form the daemon will decode. */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "fixture.h"
#include "../../ctld/ctld.h"
#include "util.h"
#include "wire.h"
#include "wire_ctl.h"

struct entry {
	const char *ident;
	uint16_t    type;
};
static const struct entry table[] = {
#define MSG(id, v, s) { #id, v },
#include "proto_msgs.h"
#undef MSG
};

/* A request empathctl may send: CTL_, and not an answer or the token. */
static bool
is_command(const char *ident)
{
	size_t n = strlen(ident);

	return strncmp(ident, "CTL_", 4) == 0 && strcmp(ident, "CTL_AUTH") != 0 &&
	    strcmp(ident, "CTL_PONG") != 0 && strcmp(ident, "CTL_ERROR") != 0 &&
	    !(n > 6 && strcmp(ident + n - 6, "_REPLY") == 0) &&
	    !(n > 3 && strcmp(ident + n - 3, "_OK") == 0);
}

START_TEST(only_control_requests_are_commands)
{
	size_t i;
	unsigned ncmd = 0;

	for (i = 0; i < nitems(table); i++) {
		const struct ctl_cmd *cmd = ctl_cmd_find(table[i].type);
		struct chan_msg none = { .fd = -1 };

		ck_assert_msg((cmd != NULL) == is_command(table[i].ident),
		    "%s: in the table: %d", table[i].ident, cmd != NULL);
		if (cmd == NULL)
			continue;
		ncmd++;
		ck_assert_uint_eq(cmd->type, table[i].type);
		/* The answer relayed is one type of the table, with a codec. */
		ck_assert_int_ne(wire_recode(cmd->reply, &none, NULL), -2);
		ck_assert_msg(cmd->to != NULL || cmd->local != NULL, "%s",
		    table[i].ident);
		/* Forwarded commands go to a daemon that fails with its own
		 * failure type. */
		if (cmd->to != NULL)
			ck_assert(cmd->to->fail == Q_OP_FAIL ||
			    cmd->to->fail == D_DNS_FAIL);
	}
	ck_assert_uint_eq(ncmd, 15);
	ck_assert_ptr_null(ctl_cmd_find(0xffff));
}
END_TEST

static const char *
check(uint16_t type, const struct msgbuf *mb, char *command, size_t len)
{
	const struct ctl_cmd *cmd = ctl_cmd_find(type);
	struct chan_msg m = { .fd = -1, .type = type, .data = mb->data,
	    .len = mb->len };

	ck_assert_ptr_nonnull(cmd);
	return ctl_cmd_check(cmd, &m, command, len);
}

START_TEST(checks_are_the_codecs)
{
	struct wire_list_req lr = { RCPT_FAILED, "", 10 };
	struct wire_msgid id = { "01ARZ3NDEKTSV4RRFFQ69G5FAV" };
	struct wire_domain d = { "example.org" };
	char command[CTL_COMMAND_MAX];
	struct msgbuf mb;

	mb_init(&mb);
	ck_assert_ptr_null(check(CTL_QUEUE_FREEZE, &mb, command, sizeof(command)));
	ck_assert_str_eq(command, "queue freeze");
	mb_u32(&mb, 0);
	ck_assert_str_eq(check(CTL_QUEUE_FREEZE, &mb, command, sizeof(command)),
	    "malformed request");
	mb_free(&mb);

	mb_init(&mb);
	ck_assert_int_eq(wire_list_req_encode(&mb, &lr), 0);
	ck_assert_ptr_null(check(CTL_QUEUE_LIST, &mb, command, sizeof(command)));
	ck_assert_str_eq(command, "queue list --status=failed");
	mb.len--;                       /* one octet short */
	ck_assert_ptr_nonnull(check(CTL_QUEUE_LIST, &mb, command,
	    sizeof(command)));
	mb_free(&mb);

	mb_init(&mb);
	ck_assert_int_eq(wire_msgid_encode(&mb, &id), 0);
	ck_assert_ptr_null(check(CTL_QUEUE_DELETE, &mb, command, sizeof(command)));
	ck_assert_str_eq(command, "queue delete 01ARZ3NDEKTSV4RRFFQ69G5FAV");
	mb_free(&mb);
	mb_init(&mb);
	mb_str(&mb, "../../etc/passwd");
	ck_assert_str_eq(check(CTL_QUEUE_VIEW, &mb, command, sizeof(command)),
	    "invalid message id");
	mb_free(&mb);

	mb_init(&mb);
	ck_assert_int_eq(wire_domain_encode(&mb, &d), 0);
	ck_assert_ptr_null(check(CTL_DNS_REFRESH, &mb, command, sizeof(command)));
	ck_assert_str_eq(command, "dns refresh example.org");
	mb_free(&mb);
	mb_init(&mb);
	mb_str(&mb, "exa mple.org");
	ck_assert_str_eq(check(CTL_DNS_REFRESH, &mb, command, sizeof(command)),
	    "not a domain name");
	mb_free(&mb);
}
END_TEST

static Suite *
ctld_commands_suite(void)
{
	Suite *s = suite_create("ctld_commands");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, only_control_requests_are_commands);
	tcase_add_test(tc, checks_are_the_codecs);
	suite_add_tcase(s, tc);
	return s;
}

TEST_SUITES(ctld_commands_suite);
