/* SPDX-License-Identifier: ISC */
/* Talking to ctld: connect to the control socket, send one framed request
 * and wait, bounded, for its answer. Everything ctld sends is checked by
 * the channel layer (framing) and by output.c (payload). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "empathctl.h"
#include "event.h"
#include "proto.h"
#include "util.h"
#include "wire_ctl.h"

#define REQUEST_ID 1

static const char *token;       /* sent before every request */

void
ctl_set_token(const char *t)
{
	token = t;
}

struct call {
	struct ctl_reply *reply;
	bool got, closed;
};

static void
on_msg(struct channel *ch, struct chan_msg *m, void *arg)
{
	struct call *call = arg;

	(void)ch;
	/* Answers to anything but our request (there are none today) and
	 * a second answer are ignored; a passed fd is closed by the channel. */
	if (call->got || m->peerid != REQUEST_ID)
		return;
	call->reply->type = m->type;
	call->reply->len = m->len;   /* <= CHAN_MAX_PAYLOAD, checked by the channel */
	memcpy(call->reply->data, m->data, m->len);
	call->got = true;
}

static void
on_close(struct channel *ch, void *arg)
{
	struct call *call = arg;

	(void)ch;
	call->closed = true;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { .tv_sec = CTL_TIMEOUT_MS / 1000 };
	int fd;

	if (sun_fill(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* connect() on a Unix socket blocks while ctld's backlog is full;
	 * the send timeout bounds that wait too. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return close_failed(fd);
	return fd;
}

int
ctl_roundtrip(const char *path, uint16_t type, const void *payload,
    size_t len, struct ctl_reply *reply, char *err, size_t errlen)
{
	struct call call = { .reply = reply };
	struct channel *ch;
	uint64_t deadline, now;
	int fd;

	if ((fd = connect_to(path)) == -1) {
		(void)snprintf(err, errlen, "cannot connect to %s: %s", path,
		    errno == EAGAIN ? "timed out (ctld busy)" : strerror(errno));
		return -1;
	}
	ev_init();                    /* channels register with the loop */
	ch = chan_new(fd, "ctld", on_msg, on_close, &call);
	if (token != NULL) {
		struct wire_auth w = { token };
		struct msgbuf mb;
		int rc;

		/* No answer comes to it: a bad token is reported with the
		 * command's own answer. */
		mb_init(&mb);
		rc = wire_auth_encode(&mb, &w);
		if (rc == 0)
			rc = chan_send_mb(ch, CTL_AUTH, 0, -1, &mb);
		if (mb.data != NULL)          /* the channel has its own copy */
			explicit_bzero(mb.data, mb.cap);
		mb_free(&mb);
		if (rc == -1) {
			chan_free(ch);
			(void)snprintf(err, errlen, "token too large");
			return -1;
		}
	}
	if (chan_send(ch, type, REQUEST_ID, -1, payload, len) == -1) {
		chan_free(ch);
		(void)snprintf(err, errlen, "request too large");
		return -1;
	}
	deadline = mono_ms() + CTL_TIMEOUT_MS;
	while (!call.got && !call.closed) {
		now = mono_ms();
		if (now >= deadline)
			break;
		/* -1 on timeout or when the channel closed (then it is freed). */
		if (chan_wait(ch, (int)(deadline - now)) == -1)
			break;
	}
	if (!call.closed)
		chan_free(ch);
	if (call.got)
		return 0;
	if (call.closed)
		(void)snprintf(err, errlen, "ctld closed the connection without "
		    "answering");
	else
		(void)snprintf(err, errlen, "no answer from ctld within %d s",
		    CTL_TIMEOUT_MS / 1000);
	return -1;
}
