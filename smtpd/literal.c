/* SPDX-License-Identifier: ISC */
/* Address literals ("x@[192.0.2.1]", "x@[IPv6:2001:db8::1]") in MAIL
 * and RCPT. A client outside `relay from` has no business naming a host
 * by its address: a sender literal is where our notices would go, and
 * the literal of a private or loopback address turns them against this
 * host or its network (a reflection). So they are refused from such
 * clients unless `address-literals accept` says otherwise (on the
 * listener, else globally). A recipient literal from them is refused by
 * the relay rule anyway: no `accept` domain is a literal. */
#include "log.h"
#include "session.h"

bool
literal_refused(struct session *s, const struct smtp_cmd *cmd)
{
	char tmp[SMTP_PATH_MAX + 1];

	if (cmd->domain == NULL || cmd->domain[0] != '[')
		return false;
	if (config_address_literals_ok(smtpd_config(), s->listen,
	    (const struct sockaddr *)&s->ss))
		return false;
	log_sanitize(cmd->addr, tmp, sizeof(tmp));
	log_info("session %" PRIu64 ": address literal <%s> refused from [%s]",
	    s->id, tmp, s->addr);
	session_reply_error(s, "550 5.7.1 <%s>: address literals are not "
	    "accepted from this client", tmp);
	return true;
}
