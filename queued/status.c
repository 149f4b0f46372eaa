/* The ctld side: queue counters for `empathctl system status`, health and
 * metrics. (Issue 4 adds the queue operations here: list, view, delete,
 * retry, freeze, stats.) */
#include "log.h"
#include "queued.h"

static void
send_status(struct qpeer *p, uint32_t reqid)
{
	uint64_t messages, rcpts, by_state[RCPT_STATE_COUNT];
	struct msgbuf mb;
	uint32_t i;

	/* No reply on error: ctld's request deadline turns it into an error
	 * for its client, rather than a false "queue is empty". */
	if (store_counts(Q.store, &messages, &rcpts, by_state) == -1)
		return;
	mb_init(&mb);
	mb_u64(&mb, messages);
	mb_u64(&mb, rcpts);
	mb_u32(&mb, RCPT_STATE_COUNT);
	for (i = 0; i < RCPT_STATE_COUNT; i++) {
		mb_u32(&mb, i);
		mb_u64(&mb, by_state[i]);
	}
	chan_send_mb(p->ch, Q_STATUS, reqid, -1, &mb);
	mb_free(&mb);
}

void
status_msg(struct qpeer *p, struct chan_msg *m)
{
	switch (m->type) {
	case Q_STATUS_REQ:
		send_status(p, m->peerid);
		break;
	default:
		log_warnx("ctld: unexpected %s, ignored", msg_name(m->type));
		break;
	}
}
