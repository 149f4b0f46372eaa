/* SPDX-License-Identifier: ISC */
/* The service manager's readiness protocol (sd_notify(3) of systemd),
 * written without libsystemd: one datagram of "KEY=VALUE" lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET. */
#ifndef EMPATH_SDNOTIFY_H
#define EMPATH_SDNOTIFY_H

/* Send state (e.g. "READY=1") to $NOTIFY_SOCKET: 1 when sent, 0 when
 * the variable is unset or empty (not started by a service manager), -1
 * with errno set when it names no usable socket (not an absolute path or
 * an '@' abstract name, too long for sun_path) or the send failed. */
int sdnotify(const char *state);

/* Part `part` of `count` (at most 32) is ready: sends "READY=1" the
 * first time every part has been, never again. Returns sdnotify()'s
 * result when it sent, else 0. */
int sdnotify_part_ready(unsigned part, unsigned count);

#endif
