/* SPDX-License-Identifier: ISC */
/* Control requests from ctld about DNS and routes (dns_control.c). */
#ifndef EMPATH_DELIVERD_DNS_CONTROL_H
#define EMPATH_DELIVERD_DNS_CONTROL_H

#include <stdbool.h>

#include "channel.h"

/* Handle a D_DNS_* request; false when m is not one. */
bool control_msg(struct channel *, struct chan_msg *);
/* The channel closed: forget the requests still waiting on it. */
void control_channel_gone(struct channel *);

#endif
