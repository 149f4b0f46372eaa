/* SPDX-License-Identifier: ISC */
/* One entry point to every codec, by message type (wire_ctl.h): the
 * tests and the fuzzer walk the table of proto_msgs.h through it, so a
 * type added there without a codec here is found at once. */
#include <string.h>

#include "envelope.h"
#include "wire.h"
#include "wire_ctl.h"

/* Decode m into a w of type T with PREFIX_decode, encode it again into
 * out (when given), and release it with FREE (a statement, may be empty). */
#define RECODE(T, PREFIX, FREE) do {                                  \
	T w_;                                                          \
	int rv_;                                                       \
                                                                       \
	memset(&w_, 0, sizeof(w_));                                    \
	rv_ = PREFIX##_decode(m, &w_);                                 \
	if (rv_ == 0 && out != NULL)                                   \
		rv_ = PREFIX##_encode(out, &w_);                       \
	{ T *f_ = &w_; (void)f_; FREE; }                               \
	return rv_;                                                    \
} while (0)

static int
recode_hello(const struct chan_msg *m, struct msgbuf *out)
{
	struct msgreader r;
	uint32_t v;

	mr_init(&r, m);
	v = mr_u32(&r);
	if (!mr_done(&r) || v != CHAN_VERSION)
		return -1;
	if (out != NULL)
		mb_u32(out, v);
	return 0;
}

static int
recode_env(const struct chan_msg *m)
{
	struct envelope e;
	struct msgreader r;
	int rv;

	mr_init(&r, m);
	rv = env_decode(&e, &r);
	if (rv == 0)
		env_clear(&e);
	return rv;
}

/* Large values off the stack. */
static int
recode_big(uint16_t type, const struct chan_msg *m, struct msgbuf *out)
{
	static struct wire_procs procs;
	static struct wire_ctl_status st;
	static struct wire_qstats qs;
	static struct wire_plugins pl;
	static struct wire_plugin_list pll;
	static struct wire_plugins_off off;
	int rv;

	switch (type) {
	case M_PROCS:
		memset(&procs, 0, sizeof(procs));
		rv = wire_procs_decode(m, &procs);
		return rv == 0 && out != NULL ? wire_procs_encode(out, &procs) : rv;
	case CTL_STATUS_REPLY:
		memset(&st, 0, sizeof(st));
		rv = wire_ctl_status_decode(m, &st);
		return rv == 0 && out != NULL ? wire_ctl_status_encode(out, &st) : rv;
	case CTL_QUEUE_STATS_REPLY:
		memset(&qs, 0, sizeof(qs));
		rv = wire_qstats_decode(m, &qs);
		return rv == 0 && out != NULL ? wire_qstats_encode(out, &qs) : rv;
	case M_PLUGINS:
		memset(&pl, 0, sizeof(pl));
		rv = wire_plugins_decode(m, &pl);
		return rv == 0 && out != NULL ? wire_plugins_encode(out, &pl) : rv;
	case CTL_PLUGIN_LIST_REPLY:
		memset(&pll, 0, sizeof(pll));
		rv = wire_plugin_list_decode(m, &pll);
		return rv == 0 && out != NULL ? wire_plugin_list_encode(out, &pll) :
		    rv;
	case M_PLUGINS_DISABLED:
		memset(&off, 0, sizeof(off));
		rv = wire_plugins_off_decode(m, &off);
		return rv == 0 && out != NULL ? wire_plugins_off_encode(out, &off) :
		    rv;
	}
	return -2;
}

int
wire_recode(uint16_t type, const struct chan_msg *m, struct msgbuf *out)
{
	switch (type) {
	case MSG_HELLO:
		return recode_hello(m, out);
	/* No payload (M_CONFIG passes only a descriptor). */
	case M_CONFIG: case M_START: case M_READY: case Q_CREATE:
	case D_STATUS_REQ: case Q_STATUS_REQ: case CTL_PING: case CTL_STATUS:
	case CTL_QUEUE_FREEZE: case CTL_QUEUE_UNFREEZE: case CTL_QUEUE_PROCESS:
	case CTL_QUEUE_STATS: case CTL_DNS_LIST: case CTL_DNS_CLEAR:
	case CTL_DNS_OVERRIDES: case CTL_PLUGIN_LIST:
		return m->len == 0 ? 0 : -1;
	case M_LISTEN:
		RECODE(struct wire_listen, wire_listen, );
	case M_PEER:
		RECODE(struct wire_peer, wire_peer, );
	case M_PROCS: case CTL_STATUS_REPLY: case CTL_QUEUE_STATS_REPLY:
	case M_PLUGINS: case CTL_PLUGIN_LIST_REPLY: case M_PLUGINS_DISABLED:
		return recode_big(type, m, out);
	case Q_CREATE_OK: case Q_COMMIT_OK: case Q_ROLLBACK:
	case CTL_QUEUE_VIEW: case CTL_QUEUE_DELETE: case CTL_QUEUE_RETRY:
		RECODE(struct wire_msgid, wire_msgid, );
	case Q_CREATE_FAIL: case Q_COMMIT_FAIL:
		RECODE(struct wire_fail, wire_fail, );
	case Q_COMMIT: case D_JOB:
		return recode_env(m);
	case D_RESULT: {
		struct wire_result w;
		int rv = wire_result_decode(m, &w);

		if (rv == 0 && out != NULL)
			rv = wire_result_encode(out, &w, SIZE_MAX, SIZE_MAX);
		wire_result_free(&w);
		return rv;
	}
	case D_STATUS:
		RECODE(struct wire_status, wire_status, );
	case M_USER_LOOKUP:
		RECODE(struct wire_user_lookup, wire_user_lookup, );
	case M_USER_NAME:
		RECODE(struct wire_user_name, wire_user_name, );
	case Q_STATUS:
		RECODE(struct wire_qstatus, wire_qstatus, );
	case Q_OP_FAIL:
		RECODE(struct wire_opfail, wire_opfail, );
	case D_DNS_FAIL: case CTL_PONG: case CTL_ERROR:
		RECODE(struct wire_text, wire_text, );
	case CTL_AUTH:
		RECODE(struct wire_auth, wire_auth, );
	case CTL_QUEUE_LIST:
		RECODE(struct wire_list_req, wire_list_req, );
	case CTL_QUEUE_LIST_REPLY:
		RECODE(struct wire_qlist, wire_qlist, wire_qlist_free(f_));
	case CTL_QUEUE_VIEW_REPLY:
		RECODE(struct wire_qview, wire_qview, wire_qview_free(f_));
	case CTL_QUEUE_OK: case CTL_DNS_OK:
		RECODE(struct wire_ok, wire_ok, );
	case CTL_DNS_LIST_REPLY:
		RECODE(struct wire_dns_list, wire_dns_list,
		    wire_dns_list_free(f_));
	case CTL_DNS_REFRESH:
		RECODE(struct wire_domain, wire_domain, );
	case CTL_DNS_OVERRIDES_REPLY:
		RECODE(struct wire_overrides, wire_overrides,
		    wire_overrides_free(f_));
	}
	return -2;
}
