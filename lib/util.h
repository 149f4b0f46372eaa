/* SPDX-License-Identifier: ISC */
/* Small helpers shared by every Empath program. */
#ifndef EMPATH_UTIL_H
#define EMPATH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define EMPATH_VERSION "0.1.0"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that aborts on exhaustion: an MTA that cannot allocate a few
 * bytes cannot make progress, and the master restarts the daemon. */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xreallocarray(void *, size_t, size_t);
char *xstrdup(const char *);
int   xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

int   fd_nonblock(int fd);
int   fd_cloexec(int fd, bool on);

/* Milliseconds on the monotonic clock; seconds on the wall clock. */
uint64_t mono_ms(void);
int64_t  wall_s(void);

/* Numeric rendering of a socket address without port: "192.0.2.1",
 * "2001:db8::1" ("::ffff:192.0.2.1" as "192.0.2.1"), "unix" for AF_UNIX.
 * Returns buf. */
const char *sa_ntop(const struct sockaddr *sa, char *buf, size_t len);
/* Parse "host:port", "[v6]:port" or "host" (then *port = defport; an
 * error when defport == 0). A bad port (not 1..65535) or a host longer
 * than hostlen - 1 returns -1; 0 on success. */
int   hostport_split(const char *in, char *host, size_t hostlen, uint16_t *port,
                     uint16_t defport);
/* Fill in a sockaddr for a numeric address and port. 0 on success. */
int   sa_from_numeric(const char *host, uint16_t port,
                      struct sockaddr_storage *ss, socklen_t *len);

/* The key a client is counted by in per-address caps, as 16 bytes: an
 * IPv4 address and a v4-mapped IPv6 one alike as the v4-mapped address,
 * other IPv6 as its /64 (low 64 bits zero), since one host is usually
 * given a whole /64. false for other families (AF_UNIX), not counted. */
bool  sa_client_key(const struct sockaddr *sa, uint8_t key[16]);

/* The part after the last '@' (a pointer into addr, not a copy and not
 * case-folded), or "" when there is no '@'. */
const char *addr_domain(const char *addr);

/* sun zeroed, then an AF_UNIX address for path; -1 with errno
 * ENAMETOOLONG when path does not fit sun_path. */
struct sockaddr_un;
int   sun_fill(struct sockaddr_un *sun, const char *path);

/* Close fd on a failure, errno kept as the failure left it; -1. */
int   close_failed(int fd);

/* Write the whole buffer to a (blocking) fd, retrying on EINTR. */
int   write_all(int fd, const void *buf, size_t len);

#endif
