/* SPDX-License-Identifier: ISC */
/* The configuration snapshot, as parsed by lib/parse.y. Every process
 * parses the same text, handed over by the master. Durations are in
 * seconds, sizes in bytes. See empath.conf(5) for the language. */
#ifndef EMPATH_CONFIG_H
#define EMPATH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

enum tls_policy { TLS_NONE = 0, TLS_OPPORTUNISTIC, TLS_REQUIRED };
/* `address-literals`: may clients outside `relay from` use them? */
enum addr_literals { ADDRLIT_REFUSE = 0, ADDRLIT_ACCEPT };
/* `tls` mode of a listener: plain with optional STARTTLS, STARTTLS required
 * before MAIL, or TLS from the first byte (port 465). */
enum listen_tls { LTLS_STARTTLS = 0, LTLS_REQUIRED, LTLS_IMPLICIT };

struct cfg_listen {
	TAILQ_ENTRY(cfg_listen) entry;
	unsigned index;                   /* 0-based order in the file */
	char    *addr;                    /* as written: "0.0.0.0", "::1", "localhost" */
	struct sockaddr_storage ss;       /* resolved numerically */
	socklen_t sslen;
	uint16_t port;
	size_t   max_message_size;        /* default 35M */
	unsigned max_recipients;          /* default 1000 */
	unsigned max_connections;         /* default 1000 */
	unsigned max_connections_per_ip;  /* default 20 */
	unsigned max_errors;              /* default 10 */
	char    *tls_cert, *tls_key;      /* NULL: no TLS on this listener */
	enum listen_tls tls_mode;
	unsigned tls_line;                /* line of its tls statement (checks) */
	unsigned to_command;              /* 5m */
	unsigned to_data_init;            /* 2m */
	unsigned to_data_block;           /* 3m */
	unsigned to_data_term;            /* 10m */
	unsigned to_connection;           /* 30m */
	int      address_literals;        /* -1 unset (use global), else enum */
};
TAILQ_HEAD(cfg_listen_list, cfg_listen);

struct cfg_netmask {
	TAILQ_ENTRY(cfg_netmask) entry;
	int      family;                  /* AF_INET or AF_INET6 */
	uint8_t  addr[16];
	unsigned prefix;
};
TAILQ_HEAD(cfg_netmask_list, cfg_netmask);

struct cfg_domain {
	TAILQ_ENTRY(cfg_domain) entry;
	char    *name;                    /* lower case, A-labels ("xn--") */
	char    *spelling;                /* as written (U-labels kept) */
	unsigned line;
	bool     accept;
	char    *relay_host;              /* NULL: MX lookup */
	uint16_t relay_port;              /* default 25 */
	int      accept_invalid_certs;    /* -1 unset (use global), 0, 1 */
	double   rate;                    /* messages per second, 0 = unset */
	unsigned burst;
	int      tls;                     /* -1 unset, else enum tls_policy */
	struct cfg_netmask_list mx_allow; /* added to the delivery block's */
};
TAILQ_HEAD(cfg_domain_list, cfg_domain);

struct cfg_delivery {
	unsigned max_attempts;            /* 0: no limit */
	unsigned retry_initial;           /* 60 s */
	unsigned retry_max;               /* 4 h */
	unsigned expire;                  /* 5 d */
	unsigned concurrency;             /* 64 */
	unsigned per_domain;              /* 8 */
	double   rate;                    /* 0 = unlimited */
	unsigned burst;
	enum tls_policy tls;              /* opportunistic */
	bool     accept_invalid_certs;    /* no */
	char    *relay_host;              /* smarthost, NULL: none */
	uint16_t relay_port;
	unsigned to_connect, to_ehlo, to_starttls, to_mail, to_rcpt, to_data, to_quit;
	/* 30s 30s 30s 30s 30s 2m 10s */
	uint16_t mx_port;                 /* 25: port of MX hosts (tests) */
	unsigned breaker_failures;        /* 5: circuit breaker, 0 = off */
	unsigned breaker_cooldown;        /* 60 s */
	/* Special addresses (loopback, private...) MX hosts may have. */
	struct cfg_netmask_list mx_allow;
};

/* plugin "name" { args "a" "b" }: the name becomes plugin-dir/name.so,
 * so config_plugin_name_ok() takes [A-Za-z0-9._+-] not starting with
 * '.', 1 to CFG_PLUGIN_NAME_MAX bytes. */
#define CFG_PLUGIN_NAME_MAX 64
#define CFG_PLUGIN_ARGS_MAX 64
/* A hook that runs longer stalls every session of its daemon: logged. */
#define CFG_PLUGIN_WARN_MS_DEFAULT 100
struct cfg_plugin {
	TAILQ_ENTRY(cfg_plugin) entry;
	char    *name;                    /* checked by plugin_name_ok() */
	char   **args;                    /* nargs strings, then NULL */
	size_t   nargs;
	unsigned line;
};
TAILQ_HEAD(cfg_plugin_list, cfg_plugin);

#define CFG_LOGIN_MAX   32        /* a login name, as useradd(8) allows */
#define CFG_TRUSTED_MAX 64
struct config {
	char    *hostname;                /* default: gethostname() */
	char    *user;                    /* "_empath" */
	char    *queue_user;              /* "_empathq": owns the spool, runs queued */
	char    *spool;                   /* "/var/spool/empath" */
	struct cfg_listen_list  listeners;
	struct cfg_netmask_list relay_from;
	struct cfg_domain_list  domains;
	struct cfg_delivery     delivery;

	char    *resolver_addr;           /* NULL: /etc/resolv.conf */
	uint16_t resolver_port;           /* 53 */
	unsigned resolver_timeout;        /* 5 s per try */
	unsigned resolver_attempts;       /* 2 rounds over the servers */
	unsigned resolver_min_ttl;        /* 5 s: cache-min-ttl */
	unsigned resolver_max_ttl;        /* 1 d: cache-max-ttl */

	char    *dsn_reporting_mta;       /* default hostname */
	char    *dsn_postmaster;          /* default "postmaster@" hostname */
	unsigned dsn_delay_warning;       /* 4h, 0 = off */
	size_t   dsn_return_limit;        /* 50K: octets of a returned message */

	unsigned max_hops;                /* 100 Received: fields */
	enum addr_literals address_literals;   /* refuse */

	char    *control_socket;          /* "/run/empath/control.sock" */
	/* local-submission: sendmail(8) and the offline drop directory
	 * (see doc/architecture.md, "Local submission") */
	char    *submit_socket;           /* default: submit.sock beside control */
	char    *drop_group;              /* "_empathdrop": may write SPOOL/drop */
	char   **trusted_users;           /* may set any envelope sender */
	size_t   ntrusted_users;          /* default: "root" */
	char    *control_group;           /* NULL: primary group of user */
	char   **token_hashes;            /* hex SHA-256, lower case */
	size_t   ntoken_hashes;

	bool     health_enabled;
	char    *health_addr;
	struct sockaddr_storage health_ss;
	socklen_t health_sslen;
	uint16_t health_port;

	int      log_target;              /* enum log_target */
	int      log_format;              /* enum log_format */
	int      log_level;               /* enum log_level */

	struct cfg_plugin_list plugins;   /* in the order of the file */
	char    *plugin_dir;              /* PLUGINDIR of the build */
	unsigned plugin_warn_ms;          /* plugin-hook-warn-ms 100, 0 off */
	bool     hostname_given;          /* false: hostname is gethostname()'s */
};

/* Parse text (name is used in error messages). On error, prints
 * "name:line: message" lines through errfn (stderr when NULL) and returns
 * NULL. Semantic checks (duplicate listeners, retry max < initial, ...) are
 * errors too. */
struct config *config_parse(const char *name, const char *text, size_t len,
                            void (*errfn)(const char *line));
/* Read a file and parse it; *textp (if not NULL) receives the text.
 * Without a hostname in the file, the text gets one more line, hostname
 * "NAME", with /etc/mailname's name or gethostname()'s (mailname.h). */
struct config *config_load(const char *path, char **textp, size_t *lenp,
                           void (*errfn)(const char *line));
void config_free(struct config *);

/* Lookups used by the daemons. config_domain() finds the block of a
 * domain written either way (U-labels or A-labels, any case, with or
 * without a trailing dot); only a non-ASCII argument costs an IDNA2008
 * conversion. */
struct cfg_domain *config_domain(const struct config *, const char *domain);
bool config_relay_allowed(const struct config *, const struct sockaddr *);
/* lib/config_loops.c. May this client use address literals in MAIL and
 * RCPT: inside `relay from`, or `address-literals accept` on its listener
 * (else globally)? */
bool config_address_literals_ok(const struct config *,
    const struct cfg_listen *, const struct sockaddr *client);
/* Is address sa in `mx-allow` of the delivery block or of domain's block
 * (the two lists add up)? */
bool config_mx_allowed(const struct config *, const char *domain,
    const struct sockaddr *sa);

/* The value syntax of empath.conf(5), shared by the parser and by tools.
 * Each returns 0 on success, -1 on a malformed or out-of-range value. */
int  config_parse_size(const char *, size_t *);        /* 512, 64K, 35M, 1G */
int  config_parse_duration(const char *, unsigned *);  /* 30, 30s, 5m, 4h, 5d, 1h30m */
int  config_parse_rate(const char *, double *);        /* 10/s, 600/m, 1/h: per second */
int  config_parse_netmask(const char *, struct cfg_netmask *); /* 10.0.0.0/8, ::1 */
/* "host:port", "[v6]:port", "[v6]", "host" (port 25); *hostp is
 * allocated and never has brackets. Brackets hold an IPv6 address and
 * nothing else. A bare IPv6 address is refused when it could also be
 * read as an address and a port (config_hostport_ambiguous()). */
int  config_parse_hostport(const char *, char **hostp, uint16_t *portp);
/* Is s an unbracketed IPv6 address whose last group could as well be a
 * port, "::1:2525" (::1:2525, or ::1 port 2525)? */
bool config_hostport_ambiguous(const char *s);
/* A numeric IPv4/IPv6 literal (brackets allowed) or "localhost". */
int  config_parse_listen_addr(const char *, uint16_t port,
                              struct sockaddr_storage *, socklen_t *);
bool config_plugin_name_ok(const char *);
bool config_netmask_match(const struct cfg_netmask *, const struct sockaddr *);
/* A listener with every default of empath.conf(5) (free() it). */
struct cfg_listen *cfg_listen_new(void);

#endif
