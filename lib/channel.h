/* SPDX-License-Identifier: ISC */
/* imsg-style channels: framed messages over a Unix stream socket, each
 * with at most one file descriptor passed by SCM_RIGHTS.
 *
 * Frame: a 16-byte header (type u16, flags u16, len u32 = header + payload,
 * peerid u32, pid u32) in host byte order (both ends are on this machine),
 * then at most CHAN_MAX_PAYLOAD bytes. The first frame each way is
 * MSG_HELLO carrying CHAN_VERSION; anything else first, a bad length or a
 * missing descriptor closes the channel (never the process). */
#ifndef EMPATH_CHANNEL_H
#define EMPATH_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAN_HDR_LEN      16
/* Large enough for an envelope of 1000 recipients with ORCPTs. */
#define CHAN_MAX_PAYLOAD  (1024 * 1024)
#define CHAN_VERSION      1
/* Past this much unsent output a producer must stop reading its source. */
#define CHAN_HIGH_WATER   (4 * 1024 * 1024)
#define CHAN_FLAG_FD      0x0001

struct chan_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t peerid;
	uint32_t pid;
};

struct chan_msg {
	uint16_t type;
	uint32_t peerid;          /* request id, echoed in replies */
	uint32_t pid;             /* sender's pid */
	int      fd;              /* -1, or a descriptor the handler may take */
	const uint8_t *data;
	size_t   len;
};

struct channel;

/* The handler may take m->fd (set it to -1); an fd left in m is closed. */
typedef void (*chan_msg_cb)(struct channel *, struct chan_msg *m, void *arg);
/* Called once when the channel closes (EOF, error, protocol violation).
 * The channel is freed right after the callback returns. */
typedef void (*chan_close_cb)(struct channel *, void *arg);

/* Wrap a connected socket; sends HELLO. name is for logs ("smtpd>queued"). */
struct channel *chan_new(int fd, const char *name, chan_msg_cb, chan_close_cb, void *arg);
/* Close and free without calling the close callback. Safe from inside the
 * channel's own callbacks (the release then waits until they return). */
void chan_free(struct channel *);

/* Queue a frame. fd >= 0 is duplicated: the caller keeps its own. Returns
 * 0, or -1 when the payload is too large or the channel is dead. */
int  chan_send(struct channel *, uint16_t type, uint32_t peerid, int fd,
               const void *data, size_t len);
size_t chan_pending(const struct channel *);     /* bytes not yet written */
bool chan_congested(const struct channel *);     /* over the high-water mark */
const char *chan_name(const struct channel *);
/* Called whenever the output queue drains below the high-water mark. */
void chan_on_drain(struct channel *, void (*cb)(struct channel *, void *));

/* Lower-level entry points, used by the event glue and by the unit tests:
 * read what is available and dispatch every complete frame (returns -1 once
 * the channel has closed, after the close callback), and write what can be
 * written (1 when empty, 0 when more remains, -1 on error). */
int  chan_read(struct channel *);
int  chan_flush(struct channel *);
/* Blocking round trip for simple clients (empathctl, which must still call
 * ev_init() first): flush, then wait up to timeout_ms until at least one
 * message has been handed to the message callback. Returns 0, or -1 on
 * timeout or when the channel closed (the close callback has then run and
 * the channel is freed). */
int  chan_wait(struct channel *, int timeout_ms);

/* ---- payload building and reading, with bounds checks ---- */

struct msgbuf {
	uint8_t *data;
	size_t   len, cap;
	bool     err;             /* set when the payload grew too large */
};
void mb_init(struct msgbuf *);
void mb_free(struct msgbuf *);
void mb_u32(struct msgbuf *, uint32_t);
void mb_u64(struct msgbuf *, uint64_t);
void mb_bytes(struct msgbuf *, const void *, size_t);   /* u32 length + bytes */
void mb_str(struct msgbuf *, const char *);             /* NULL is sent as "" */
int  chan_send_mb(struct channel *, uint16_t type, uint32_t peerid, int fd,
                  const struct msgbuf *);

struct msgreader {
	const uint8_t *p;
	size_t   len, off;
	bool     err;             /* set on any short or malformed read */
};
void mr_init(struct msgreader *, const struct chan_msg *);
uint32_t mr_u32(struct msgreader *);
uint64_t mr_u64(struct msgreader *);
/* Points into the message; NUL-terminated; "" on error (err set). Strings
 * with an embedded NUL are malformed. */
const char *mr_str(struct msgreader *);
const void *mr_bytes(struct msgreader *, size_t *len);
/* True when everything was read without error and nothing is left. */
bool mr_done(const struct msgreader *);

#endif
