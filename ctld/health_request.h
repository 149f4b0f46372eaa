/* SPDX-License-Identifier: ISC */
/* The request head of the health endpoint's HTTP/1.x, parsed without
 * side effects or allocation so that a fuzzer can drive it directly. */
#ifndef EMPATH_CTLD_HEALTH_REQUEST_H
#define EMPATH_CTLD_HEALTH_REQUEST_H

#include <stddef.h>

enum health_head {
	HEAD_INCOMPLETE,             /* no empty line yet: read more */
	HEAD_DONE,                   /* a well-formed head; see the request */
	HEAD_BAD,                    /* malformed: answer 400 */
	HEAD_TOO_LARGE,              /* max bytes and no end in sight: 400 */
};

enum health_method { HM_GET = 1, HM_OTHER };
enum health_target { HT_LIVE = 1, HT_READY, HT_OTHER };

struct health_request {
	enum health_method method;
	enum health_target target;
};

/* Look at the len bytes received so far (any bytes, NULs included; buf
 * is not changed and need not be terminated). A request line
 * "METHOD SP /target[?query] SP HTTP/1.x" followed by header lines and
 * an empty line; the headers are not interpreted. *req is set only for
 * HEAD_DONE. A malformed request line is reported as soon as it is
 * complete, without waiting for the rest of the head. */
enum health_head health_request_parse(const char *buf, size_t len, size_t max,
                                      struct health_request *req);

#endif
