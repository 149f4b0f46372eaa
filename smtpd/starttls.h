/* SPDX-License-Identifier: ISC */
/* The TLS server contexts of smtpd's listeners, for the daemon (main.c);
 * STARTTLS and the handshakes of a session are in session.h. */
#ifndef EMPATH_SMTPD_STARTTLS_H
#define EMPATH_SMTPD_STARTTLS_H

struct config;

/* Load each listener's certificate and key (before the privilege drop);
 * -1 with a message logged when one cannot be loaded. */
int  starttls_configure(const struct config *);
void starttls_free(void);

#endif
