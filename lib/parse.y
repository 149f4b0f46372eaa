/* SPDX-License-Identifier: ISC */
/* The grammar of empath.conf(5): keywords, quoted or bare strings,
 * numbers, { } blocks and # comments; newlines are plain white space.
 * Every process parses the same text, so this file must be pure: no
 * globals, no I/O, callable any number of times. Errors are collected as
 * "name:line: message"; parsing goes on after an error to report as many
 * as it can, and the result is then NULL. Values (sizes, durations, ...)
 * are parsed by lib/config.c and lib/config_values.c. */

%code requires {
/* The parser state, shared with the lexer in lib/config.c. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CFG_STRING_MAX 1024    /* longest quoted or bare string */
#define CFG_ERRORS_MAX 50      /* stop after this many errors */
#define CFG_BRACES_MAX 32

struct parser {
	const char     *name;
	const char     *text;
	size_t          len, pos;
	unsigned        line;
	void          (*errfn)(const char *);
	struct cfg_error {
		unsigned line;
		char    *msg;
	}               errors[CFG_ERRORS_MAX];
	unsigned        nerrors;
	bool            stop;             /* too many errors: read no more */
	struct config  *cfg;

	/* The block being filled. */
	struct cfg_listen *listen;
	struct cfg_domain *domain;
	struct cfg_plugin *plugin;
	bool            plugin_dir_given;
	unsigned        listen_line, tls_line;

	/* Facts for the checks done once the whole file is read. */
	unsigned        retry_line, health_line;
	bool            relay_given;
	bool            trusted_given;
	struct cfg_netmask_list *mx_allow;   /* the mx-allow being filled */

	/* The last token, for syntax error messages. */
	char            tok[72];
	bool            tok_quoted;
	bool            tok_keyword;      /* quoted, but a keyword's text */
	unsigned        braces[CFG_BRACES_MAX];   /* lines of the open '{' */
	unsigned        nbraces;
};
}

%code provides {
/* lib/config.c: the lexer and the error reporting. */
int  cfgyylex(CFGYYSTYPE *, CFGYYLTYPE *, struct parser *);
void cfg_error(struct parser *, unsigned, const char *, ...)
    __attribute__((format(printf, 3, 4)));
/* Hand the errors to errfn (or stderr) in line order, and free them. */
void cfg_report_errors(struct parser *);
/* A value quoted for a message: printable ASCII only, bounded. */
const char *cfg_show(const char *, char *, size_t);
/* Objects with every default of empath.conf(5). */
struct config *cfg_new(void);
struct cfg_listen *cfg_listen_new(void);
bool cfg_same_sockaddr(const struct sockaddr_storage *,
    const struct sockaddr_storage *);
/* lib/config_delivery.c: values of the delivery, domain and resolver
 * blocks. */
void cfg_set_rate(double *, unsigned *, double, int64_t);
void cfg_set_route(struct parser *, char **, uint16_t *, char *, unsigned);
/* lib/config_values.c: the checks and conversions of values; size,
 * duration and rate take a NUMBER (s == NULL, value v) or a STRING
 * (freed), and return -1 after reporting an error. */
enum value_kind { V_PATH, V_HOST, V_NAME, V_ADDR };
bool cfg_valid_chars(const char *, const char *extra);
void cfg_set_string(struct parser *, char **, char *, const char *, unsigned,
    enum value_kind);
int64_t cfg_count_value(struct parser *, int64_t, unsigned);
int64_t cfg_port_value(struct parser *, int64_t, unsigned);
int64_t cfg_size_value(struct parser *, char *, int64_t, unsigned);
int64_t cfg_duration_value(struct parser *, char *, int64_t, unsigned);
double  cfg_rate_value(struct parser *, char *, int64_t, unsigned);
void cfg_set_duration(struct parser *, unsigned *, int64_t, unsigned);
/* plugin "name" { args ... }: the name is checked and owned here. */
void cfg_plugin_begin(struct parser *, char *, unsigned);
void cfg_plugin_arg(struct parser *, char *, unsigned);
/* lib/config_loops.c: mx-allow lists. */
void cfg_mx_allow_add(struct parser *, struct cfg_netmask_list *, char *,
    unsigned);
void cfg_netmasks_free(struct cfg_netmask_list *);
}

%{
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "idn.h"
#include "log.h"
#include "util.h"
%}

%define api.pure full
%define api.prefix {cfgyy}
%define api.token.prefix {T_}
%define parse.error custom
%define parse.lac full
%locations
%param {struct parser *p}

/* gcc cannot see that the lexer sets the value before it is read. */
%initial-action { memset(&$$, 0, sizeof($$)); }

%union {
	int64_t  num;
	double   rate;
	char    *str;
}

%code {
#define COUNT_MAX INT_MAX

static void yyerror(YYLTYPE *, struct parser *, const char *);

#define LINE(loc) ((loc).first_line)
#define DLV (p->cfg->delivery)
#define LST (*p->listen)
/* Set a field from a value that is -1 when already reported invalid. */
#define SET_COUNT(f, v) do { if ((v) > 0) (f) = (unsigned)(v); } while (0)
#define SET_DURATION(f, v, loc) set_duration(p, &(f), (v), LINE(loc))
#define Q(s) cfg_show((s), qbuf, sizeof(qbuf))
/* The value helpers of lib/config_values.c, by their short names. */
#define valid_chars cfg_valid_chars
#define set_string cfg_set_string
#define count_value cfg_count_value
#define port_value cfg_port_value
#define size_value cfg_size_value
#define duration_value cfg_duration_value
#define rate_value cfg_rate_value
#define set_duration cfg_set_duration

static void listen_begin(struct parser *, char *, int64_t, unsigned);
static void listen_end(struct parser *);
static void listen_tls_mode(struct parser *, enum listen_tls, unsigned);
static void relay_add(struct parser *, char *, unsigned);
static void trusted_add(struct parser *, char *, unsigned);
static void domain_begin(struct parser *, char *, unsigned);
static void health_begin(struct parser *, char *, int64_t, unsigned);
static void token_hash_add(struct parser *, char *, unsigned);
static void not_implemented(struct parser *, const char *, const char *,
    unsigned);
}

%token <str> STRING "string"
%token <num> NUMBER "number"
%token ACCEPT "accept" ACCEPTINVALID "accept-invalid-certs" ARGS "args"
%token BURST "burst" CERTIFICATE "certificate" COMMAND "command"
%token CONCURRENCY "concurrency" CONNECT "connect" CONNECTION "connection"
%token CONTEXT "context" CONTROL "control" DATA "data"
%token DATABLOCK "data-block" DATAINIT "data-init" DATATERM "data-termination"
%token DEBUG "debug" DELAYWARNING "delay-warning" DELIVERY "delivery"
%token DOMAIN "domain" DSN "dsn" EHLO "ehlo" ERR "err" EXPIRE "expire"
%token FORMAT "format" FROM "from" GROUP "group" HEALTH "health"
%token HOSTNAME "hostname" IMPLICIT "implicit" INFO "info" INITIAL "initial"
%token JSON "json" KEY "key" LEVEL "level" LISTEN "listen" LOG "log"
%token MAIL "mail" MAX "max" MAXATTEMPTS "max-attempts"
%token MAXCONN "max-connections" MAXCONNIP "max-connections-per-ip"
%token MAXERRORS "max-errors" MAXMSGSIZE "max-message-size"
%token MAXQUEUE "max-queue-size" MAXRCPT "max-recipients" NO "no"
%token NONE "none" ON "on" OPPORTUNISTIC "opportunistic"
%token PERDOMAIN "per-domain" PLUGIN "plugin" PORT "port"
%token POSTMASTER "postmaster" QUIT "quit" RATELIMIT "rate-limit" RCPT "rcpt"
%token RELAY "relay" REPORTINGMTA "reporting-mta" REQUIRED "required"
%token RESOLVER "resolver" RETRY "retry" SOCKET "socket" SPOOL "spool"
%token STARTTLS "starttls" STDERR "stderr" SYSLOG "syslog" TARGET "target"
%token TEXT "text" TIMEOUT "timeout" TLS "tls" TOKENHASH "token-hash"
%token USER "user" VIA "via" WARN "warn" YES "yes"
%token ATTEMPTS "attempts" CACHEMAXTTL "cache-max-ttl"
%token CACHEMINTTL "cache-min-ttl" CIRCUITBREAKER "circuit-breaker"
%token COOLDOWN "cool-down" MXPORT "mx-port"
%token MAXHOPS "max-hops" ADDRLITERALS "address-literals" REFUSE "refuse"
%token MXALLOW "mx-allow" RETURNLIMIT "return-limit"
%token QUEUEUSER "queue-user"
%token PLUGINDIR "plugin-dir" PLUGINWARN "plugin-hook-warn-ms"
%token LOCALSUB "local-submission" TRUSTEDUSERS "trusted-users"
%token DROPGROUP "drop-group"

%type <num> port port_opt count size duration yesno tls_policy burst_opt
%type <num> log_level addr_literals
%type <rate> rate

%destructor { free($$); } <str>

%%

grammar		: %empty
		| grammar stmt
		| grammar error
		;

stmt		: HOSTNAME STRING {
			set_string(p, &p->cfg->hostname, $2, "hostname", LINE(@1),
			    V_HOST);
		}
		| USER STRING {
			set_string(p, &p->cfg->user, $2, "user", LINE(@1), V_NAME);
		}
		| QUEUEUSER STRING {
			set_string(p, &p->cfg->queue_user, $2, "queue-user", LINE(@1),
			    V_NAME);
		}
		| SPOOL STRING {
			set_string(p, &p->cfg->spool, $2, "spool", LINE(@1), V_PATH);
		}
		| listen_head listen_block { listen_end(p); }
		| RELAY FROM relay_list { p->relay_given = true; }
		| domain_head '{' domain_opts '}'
		| DELIVERY '{' delivery_opts '}'
		| RESOLVER STRING port_opt resolver_block {
			char qbuf[80];
			struct in6_addr a;

			if (inet_pton(AF_INET, $2, &a) != 1 &&
			    inet_pton(AF_INET6, $2, &a) != 1)
				cfg_error(p, LINE(@2), "invalid resolver address %s"
				    " (a numeric IPv4 or IPv6 address)", Q($2));
			set_string(p, &p->cfg->resolver_addr, $2, "resolver",
			    LINE(@1), V_PATH);
			if ($3 > 0)
				p->cfg->resolver_port = (uint16_t)$3;
		}
		| RESOLVER '{' resolver_opts '}'
		| DSN '{' dsn_opts '}'
		| CONTROL '{' control_opts '}'
		| LOCALSUB '{' lsub_opts '}'
		| health_head health_block
		| LOG '{' log_opts '}'
		| plugin_head plugin_block
		| PLUGINDIR STRING {
			if (p->plugin_dir_given)
				cfg_error(p, LINE(@1), "plugin-dir given twice");
			else if ($2[0] != '/')
				cfg_error(p, LINE(@2), "plugin-dir must be an absolute"
				    " path");
			p->plugin_dir_given = true;
			free(p->cfg->plugin_dir);
			p->cfg->plugin_dir = $2;
		}
		| PLUGINWARN NUMBER {
			if ($2 < 0 || $2 > 600000)
				cfg_error(p, LINE(@2), "plugin-hook-warn-ms %lld out of"
				    " range (0 to 600000)", (long long)$2);
			else
				p->cfg->plugin_warn_ms = (unsigned)$2;
		}
		| MAXHOPS count { SET_COUNT(p->cfg->max_hops, $2); }
		| ADDRLITERALS addr_literals {
			p->cfg->address_literals = (enum addr_literals)$2;
		}
		;
addr_literals	: ACCEPT { $$ = ADDRLIT_ACCEPT; }
		| REFUSE { $$ = ADDRLIT_REFUSE; }
		;
/* mx-allow { 127.0.0.0/8, ::1 } or mx-allow 10.0.0.0/8, into p->mx_allow */
mx_allow	: STRING { cfg_mx_allow_add(p, p->mx_allow, $1, LINE(@1)); }
		| '{' mx_allow_masks '}'
		;
mx_allow_masks	: %empty
		| mx_allow_list
		| mx_allow_list ','
		;
mx_allow_list	: STRING { cfg_mx_allow_add(p, p->mx_allow, $1, LINE(@1)); }
		| mx_allow_list STRING {
			cfg_mx_allow_add(p, p->mx_allow, $2, LINE(@2));
		}
		| mx_allow_list ',' STRING {
			cfg_mx_allow_add(p, p->mx_allow, $3, LINE(@3));
		}
		;

/* Block heads are rules of their own so that their strings are owned by
 * the action of a complete rule (error recovery never frees them twice). */
listen_head	: LISTEN ON STRING port_opt { listen_begin(p, $3, $4, LINE(@1)); }
		;
domain_head	: DOMAIN STRING { domain_begin(p, $2, LINE(@2)); }
		;
health_head	: HEALTH LISTEN ON STRING PORT port {
			health_begin(p, $4, $6, LINE(@1));
		}
		;
plugin_head	: PLUGIN STRING { cfg_plugin_begin(p, $2, LINE(@1)); }
		;

port		: NUMBER { $$ = port_value(p, $1, LINE(@1)); }
		;
port_opt	: %empty { $$ = -1; }
		| PORT port { $$ = $2; }
		;
count		: NUMBER { $$ = count_value(p, $1, LINE(@1)); }
		;
size		: NUMBER { $$ = size_value(p, NULL, $1, LINE(@1)); }
		| STRING { $$ = size_value(p, $1, 0, LINE(@1)); }
		;
duration	: NUMBER { $$ = duration_value(p, NULL, $1, LINE(@1)); }
		| STRING { $$ = duration_value(p, $1, 0, LINE(@1)); }
		;
rate		: NUMBER { $$ = rate_value(p, NULL, $1, LINE(@1)); }
		| STRING { $$ = rate_value(p, $1, 0, LINE(@1)); }
		;
burst_opt	: %empty { $$ = 0; }
		| BURST count { $$ = $2; }
		;
yesno		: YES { $$ = 1; }
		| NO { $$ = 0; }
		;
tls_policy	: NONE { $$ = TLS_NONE; }
		| OPPORTUNISTIC { $$ = TLS_OPPORTUNISTIC; }
		| REQUIRED { $$ = TLS_REQUIRED; }
		;

/* listen on ADDR [port N] [{ ... }] */
listen_block	: %empty
		| '{' listen_opts '}'
		;
listen_opts	: %empty
		| listen_opts listen_opt
		| listen_opts error
		;
listen_opt	: MAXMSGSIZE size {
			if ($2 > 0)
				p->listen->max_message_size = (size_t)$2;
		}
		| MAXRCPT count { SET_COUNT(LST.max_recipients, $2); }
		| MAXCONN count { SET_COUNT(LST.max_connections, $2); }
		| MAXCONNIP count { SET_COUNT(LST.max_connections_per_ip, $2); }
		| MAXERRORS count { SET_COUNT(LST.max_errors, $2); }
		| TLS { p->tls_line = LINE(@1); } listen_tls_opts
		| TIMEOUT listen_timeouts
		| CONTEXT STRING STRING {
			not_implemented(p, "context", "no daemon of this version"
			    " reads a listener's context", LINE(@1));
			free($2);
			free($3);
		}
		| ADDRLITERALS addr_literals { LST.address_literals = (int)$2; }
		;
listen_tls_opts	: listen_tls_opt
		| listen_tls_opts listen_tls_opt
		;
listen_tls_opt	: CERTIFICATE STRING {
			set_string(p, &p->listen->tls_cert, $2, "tls certificate",
			    LINE(@1), V_PATH);
		}
		| KEY STRING {
			set_string(p, &p->listen->tls_key, $2, "tls key", LINE(@1),
			    V_PATH);
		}
		| REQUIRED { listen_tls_mode(p, LTLS_REQUIRED, LINE(@1)); }
		| IMPLICIT { listen_tls_mode(p, LTLS_IMPLICIT, LINE(@1)); }
		;
listen_timeouts	: listen_timeout
		| listen_timeouts listen_timeout
		;
listen_timeout	: COMMAND duration { SET_DURATION(LST.to_command, $2, @2); }
		| DATAINIT duration { SET_DURATION(LST.to_data_init, $2, @2); }
		| DATABLOCK duration { SET_DURATION(LST.to_data_block, $2, @2); }
		| DATATERM duration { SET_DURATION(LST.to_data_term, $2, @2); }
		| CONNECTION duration { SET_DURATION(LST.to_connection, $2, @2); }
		;

/* relay from { 127.0.0.0/8, ::1 } or relay from 10.0.0.0/8 */
relay_list	: STRING { relay_add(p, $1, LINE(@1)); }
		| '{' netmasks '}'
		;
netmasks	: %empty
		| netmask_list
		| netmask_list ','
		;
netmask_list	: STRING { relay_add(p, $1, LINE(@1)); }
		| netmask_list STRING { relay_add(p, $2, LINE(@2)); }
		| netmask_list ',' STRING { relay_add(p, $3, LINE(@3)); }
		;

domain_opts	: %empty
		| domain_opts domain_opt
		| domain_opts error
		;
domain_opt	: ACCEPT { p->domain->accept = true; }
		| RELAY VIA STRING {
			cfg_set_route(p, &p->domain->relay_host,
			    &p->domain->relay_port, $3, LINE(@3));
		}
		| ACCEPTINVALID yesno { p->domain->accept_invalid_certs = (int)$2; }
		| RATELIMIT rate burst_opt {
			cfg_set_rate(&p->domain->rate, &p->domain->burst, $2, $3);
		}
		| TLS tls_policy { p->domain->tls = (int)$2; }
		| MXALLOW { p->mx_allow = &p->domain->mx_allow; } mx_allow
		;

delivery_opts	: %empty
		| delivery_opts delivery_opt
		| delivery_opts error
		;
delivery_opt	: MAXATTEMPTS NUMBER {
			/* 0: no limit, the lifetime (expire) alone ends it. */
			if ($2 < 0 || $2 > COUNT_MAX)
				cfg_error(p, LINE(@2), "number %lld out of range "
				    "(0 to %d)", (long long)$2, COUNT_MAX);
			else
				DLV.max_attempts = (unsigned)$2;
		}
		| RETRY { p->retry_line = LINE(@1); } retry_opts
		| EXPIRE duration { SET_DURATION(DLV.expire, $2, @2); }
		| CONCURRENCY count { SET_COUNT(DLV.concurrency, $2); }
		| CONCURRENCY count PERDOMAIN count {
			SET_COUNT(DLV.concurrency, $2);
			SET_COUNT(DLV.per_domain, $4);
		}
		| CONCURRENCY PERDOMAIN count { SET_COUNT(DLV.per_domain, $3); }
		| RATELIMIT rate burst_opt { cfg_set_rate(&DLV.rate, &DLV.burst, $2, $3); }
		| TLS tls_policy { p->cfg->delivery.tls = (enum tls_policy)$2; }
		| TIMEOUT delivery_timeouts
		| RELAY VIA STRING {
			cfg_set_route(p, &p->cfg->delivery.relay_host,
			    &p->cfg->delivery.relay_port, $3, LINE(@3));
		}
		| ACCEPTINVALID yesno {
			p->cfg->delivery.accept_invalid_certs = $2 != 0;
		}
		| MXPORT port { if ($2 > 0) DLV.mx_port = (uint16_t)$2; }
		| CIRCUITBREAKER count breaker_opt { SET_COUNT(DLV.breaker_failures, $2); }
		| CIRCUITBREAKER NO { DLV.breaker_failures = 0; }
		| MXALLOW { p->mx_allow = &DLV.mx_allow; } mx_allow
		;
breaker_opt	: %empty
		| COOLDOWN duration { SET_DURATION(DLV.breaker_cooldown, $2, @2); }
		;

/* resolver "addr" [port N] [{ ... }], or resolver { ... } alone */
resolver_block	: %empty
		| '{' resolver_opts '}'
		;
resolver_opts	: %empty
		| resolver_opts resolver_opt
		| resolver_opts error
		;
resolver_opt	: TIMEOUT duration { SET_DURATION(p->cfg->resolver_timeout, $2, @2); }
		| ATTEMPTS count {
			if ($2 > 10)
				cfg_error(p, LINE(@2), "attempts %lld out of range (1 to"
				    " 10)", (long long)$2);
			else
				SET_COUNT(p->cfg->resolver_attempts, $2);
		}
		| CACHEMINTTL duration {
			/* 0 is allowed: answers are cached for their TTL. */
			if ($2 >= 0)
				p->cfg->resolver_min_ttl = (unsigned)$2;
		}
		| CACHEMAXTTL duration {
			SET_DURATION(p->cfg->resolver_max_ttl, $2, @2);
		}
		;
retry_opts	: retry_opt
		| retry_opts retry_opt
		;
retry_opt	: INITIAL duration { SET_DURATION(DLV.retry_initial, $2, @2); }
		| MAX duration { SET_DURATION(DLV.retry_max, $2, @2); }
		;
delivery_timeouts : delivery_timeout
		| delivery_timeouts delivery_timeout
		;
delivery_timeout : CONNECT duration { SET_DURATION(DLV.to_connect, $2, @2); }
		| EHLO duration { SET_DURATION(DLV.to_ehlo, $2, @2); }
		| STARTTLS duration { SET_DURATION(DLV.to_starttls, $2, @2); }
		| MAIL duration { SET_DURATION(DLV.to_mail, $2, @2); }
		| RCPT duration { SET_DURATION(DLV.to_rcpt, $2, @2); }
		| DATA duration { SET_DURATION(DLV.to_data, $2, @2); }
		| QUIT duration { SET_DURATION(DLV.to_quit, $2, @2); }
		;

dsn_opts	: %empty
		| dsn_opts dsn_opt
		| dsn_opts error
		;
dsn_opt		: REPORTINGMTA STRING {
			set_string(p, &p->cfg->dsn_reporting_mta, $2,
			    "reporting-mta", LINE(@1), V_HOST);
		}
		| POSTMASTER STRING {
			set_string(p, &p->cfg->dsn_postmaster, $2, "postmaster",
			    LINE(@1), V_ADDR);
		}
		| DELAYWARNING duration {
			/* 0 turns the warning off. */
			if ($2 >= 0)
				p->cfg->dsn_delay_warning = (unsigned)$2;
		}
		| RETURNLIMIT size {
			if ($2 > 0)
				p->cfg->dsn_return_limit = (size_t)$2;
		}
		;

control_opts	: %empty
		| control_opts control_opt
		| control_opts error
		;
control_opt	: SOCKET STRING {
			set_string(p, &p->cfg->control_socket, $2, "socket",
			    LINE(@1), V_PATH);
		}
		| GROUP STRING {
			set_string(p, &p->cfg->control_group, $2, "group", LINE(@1),
			    V_NAME);
		}
		| TOKENHASH STRING { token_hash_add(p, $2, LINE(@2)); }
		;

/* local-submission { socket "P"  trusted-users { "root" ... }
 *                    drop-group "G" } */
lsub_opts	: %empty
		| lsub_opts lsub_opt
		| lsub_opts error
		;
lsub_opt	: SOCKET STRING {
			set_string(p, &p->cfg->submit_socket, $2, "socket",
			    LINE(@1), V_PATH);
		}
		| DROPGROUP STRING {
			set_string(p, &p->cfg->drop_group, $2, "drop-group",
			    LINE(@1), V_NAME);
		}
		| TRUSTEDUSERS '{' trusted_users '}' { p->trusted_given = true; }
		;
trusted_users	: %empty
		| trusted_list
		| trusted_list ','
		;
trusted_list	: STRING { trusted_add(p, $1, LINE(@1)); }
		| trusted_list STRING { trusted_add(p, $2, LINE(@2)); }
		| trusted_list ',' STRING { trusted_add(p, $3, LINE(@3)); }
		;

health_block	: %empty
		| '{' health_opts '}'
		;
health_opts	: %empty
		| health_opts health_opt
		| health_opts error
		;
health_opt	: MAXQUEUE count {
			(void)$2;
			not_implemented(p, "max-queue-size", "the readiness check of"
			    " this version does not count the queue", LINE(@1));
		}
		;

log_opts	: %empty
		| log_opts log_opt
		| log_opts error
		;
log_opt		: TARGET SYSLOG { p->cfg->log_target = LOGT_SYSLOG; }
		| TARGET STDERR { p->cfg->log_target = LOGT_STDERR; }
		| FORMAT TEXT { p->cfg->log_format = LOGF_TEXT; }
		| FORMAT JSON { p->cfg->log_format = LOGF_JSON; }
		| LEVEL log_level { p->cfg->log_level = (int)$2; }
		;
log_level	: ERR { $$ = LOGL_ERR; }
		| WARN { $$ = LOGL_WARN; }
		| INFO { $$ = LOGL_INFO; }
		| DEBUG { $$ = LOGL_DEBUG; }
		;

plugin_block	: %empty
		| '{' plugin_opts '}'
		;
plugin_opts	: %empty
		| plugin_opts plugin_opt
		| plugin_opts error
		;
plugin_opt	: ARGS plugin_args
		;
plugin_args	: STRING { cfg_plugin_arg(p, $1, LINE(@1)); }
		| plugin_args STRING { cfg_plugin_arg(p, $2, LINE(@2)); }
		;

%%

/* ---------------------------------------------------------------- */
/* Errors */

static void
yyerror(YYLTYPE *lloc, struct parser *p, const char *msg)
{
	cfg_error(p, (unsigned)lloc->first_line, "%s", msg);
}

/* The name of a token in a message: "hostname", "}", end of file. */
static void
token_name(yysymbol_kind_t sym, char *buf, size_t len)
{
	const char *name = yysymbol_name(sym);
	size_t n = strlen(name);

	if (sym == YYSYMBOL_YYEOF || sym == YYSYMBOL_STRING ||
	    sym == YYSYMBOL_NUMBER)
		strlcpy(buf, name, len);
	else if (n >= 2 && (name[0] == '\'' || name[0] == '"'))
		snprintf(buf, len, "\"%.*s\"", (int)(n - 2), name + 1);
	else
		snprintf(buf, len, "\"%s\"", name);
}

static int
yyreport_syntax_error(const yypcontext_t *ctx, struct parser *p)
{
	yysymbol_kind_t exp[YYNTOKENS], la = yypcontext_token(ctx);
	char msg[512], name[64];
	bool want_value = false;
	int n, i;

	if ((n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS)) < 0)
		return n;
	for (i = 0; i < n; i++)
		if (exp[i] == YYSYMBOL_STRING || exp[i] == YYSYMBOL_NUMBER)
			want_value = true;
	if (la == YYSYMBOL_STRING && !p->tok_quoted && !want_value)
		snprintf(msg, sizeof(msg), "unknown keyword %s", p->tok);
	else if (la == YYSYMBOL_STRING || la == YYSYMBOL_NUMBER)
		snprintf(msg, sizeof(msg), "syntax error, unexpected %s %s",
		    yysymbol_name(la), p->tok);
	else {
		token_name(la, name, sizeof(name));
		snprintf(msg, sizeof(msg), "syntax error, unexpected %s", name);
	}
	if (la == YYSYMBOL_STRING && p->tok_keyword)
		strlcat(msg, " (keywords are not quoted)", sizeof(msg));
	/* A short list of what would do helps; a long one is noise. */
	if (n > 0 && n <= 4) {
		strlcat(msg, ", expecting ", sizeof(msg));
		for (i = 0; i < n; i++) {
			if (i > 0)
				strlcat(msg, i == n - 1 ? " or " : ", ", sizeof(msg));
			token_name(exp[i], name, sizeof(name));
			strlcat(msg, name, sizeof(msg));
		}
	}
	if (la == YYSYMBOL_YYEOF && p->nbraces > 0 && p->nbraces <= CFG_BRACES_MAX)
		snprintf(msg, sizeof(msg), "unexpected end of file, missing \"}\""
		    " of the block opened at line %u", p->braces[p->nbraces - 1]);
	cfg_error(p, (unsigned)yypcontext_location(ctx)->first_line, "%s", msg);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Blocks */

static void
listen_begin(struct parser *p, char *addr, int64_t port, unsigned line)
{
	char qbuf[80];
	struct cfg_listen *l = cfg_listen_new(), *o;

	l->addr = addr;
	l->port = port < 0 ? 25 : (uint16_t)port;
	if (config_parse_listen_addr(addr, l->port, &l->ss, &l->sslen) == -1) {
		cfg_error(p, line, "invalid listen address %s (a numeric IPv4"
		    " or IPv6 address, or localhost)", Q(addr));
		l->sslen = 0;
	} else if (l->port != 0) {
		TAILQ_FOREACH(o, &p->cfg->listeners, entry)
			if (o->sslen != 0 && o->port != 0 &&
			    cfg_same_sockaddr(&o->ss, &l->ss)) {
				cfg_error(p, line, "duplicate listener %s port %u",
				    Q(addr), l->port);
				break;
			}
	}
	o = TAILQ_LAST(&p->cfg->listeners, cfg_listen_list);
	l->index = o == NULL ? 0 : o->index + 1;
	TAILQ_INSERT_TAIL(&p->cfg->listeners, l, entry);
	p->listen = l;
	p->listen_line = line;
	p->tls_line = 0;
}

static void
listen_end(struct parser *p)
{
	struct cfg_listen *l = p->listen;
	unsigned line = p->tls_line ? p->tls_line : p->listen_line;

	l->tls_line = line;
	if ((l->tls_cert == NULL) != (l->tls_key == NULL))
		cfg_error(p, line, "tls needs both a certificate and a key");
	else if (l->tls_cert == NULL && l->tls_mode != LTLS_STARTTLS)
		cfg_error(p, line, "tls %s needs a certificate and a key",
		    l->tls_mode == LTLS_REQUIRED ? "required" : "implicit");
}

static void
listen_tls_mode(struct parser *p, enum listen_tls mode, unsigned line)
{
	if (p->listen->tls_mode != LTLS_STARTTLS && p->listen->tls_mode != mode)
		cfg_error(p, line, "tls required and tls implicit exclude each"
		    " other");
	p->listen->tls_mode = mode;
}

static void
relay_add(struct parser *p, char *s, unsigned line)
{
	char qbuf[80];
	struct cfg_netmask m, *n;

	if (config_parse_netmask(s, &m) == -1)
		cfg_error(p, line, "invalid netmask %s", Q(s));
	else {
		n = xmalloc(sizeof(*n));
		*n = m;
		TAILQ_INSERT_TAIL(&p->cfg->relay_from, n, entry);
	}
	free(s);
}

/* A login name of trusted-users: what useradd(8) accepts, no more. */
static void
trusted_add(struct parser *p, char *s, unsigned line)
{
	char qbuf[80];
	struct config *c = p->cfg;
	size_t i, n = strlen(s);
	bool ok = n > 0 && n <= CFG_LOGIN_MAX && s[0] != '-';

	for (i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)s[i]) || strchr("._-", s[i]) != NULL;
	if (!ok) {
		cfg_error(p, line, "invalid user name %s in trusted-users", Q(s));
		free(s);
		return;
	}
	if (c->ntrusted_users >= CFG_TRUSTED_MAX) {
		cfg_error(p, line, "more than %d trusted-users", CFG_TRUSTED_MAX);
		free(s);
		return;
	}
	c->trusted_users = xreallocarray(c->trusted_users, c->ntrusted_users + 1,
	    sizeof(*c->trusted_users));
	c->trusted_users[c->ntrusted_users++] = s;
}

static void
domain_begin(struct parser *p, char *name, unsigned line)
{
	char qbuf[80], qbuf2[80], alabel[IDN_DOMAIN_MAX] = "";
	struct cfg_domain *d = xcalloc(1, sizeof(*d)), *other;
	size_t len = strlen(name), i;
	bool idn;

	d->spelling = xstrdup(name);
	d->line = line;
	if (len > 1 && name[len - 1] == '.')
		name[--len] = '\0';
	for (i = 0; i < len; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	/* U-labels or A-labels: kept as the A-label form (IDNA2008, RFC
	 * 5891 section 4), which is what config_domain() compares. */
	idn = idn_non_ascii(name) || strstr(name, "xn--") != NULL;
	if (idn && (idn_to_ascii(name, alabel, sizeof(alabel)) == -1 ||
	    strlen(alabel) > 253))
		cfg_error(p, line, "invalid domain %s (not an IDNA2008 name)",
		    Q(d->spelling));
	else if (!idn && (len == 0 || len > 253 || name[0] == '.' ||
	    name[0] == '-' || strstr(name, "..") != NULL ||
	    !valid_chars(name, "-._")))
		cfg_error(p, line, "invalid domain %s", Q(name));
	else if ((other = config_domain(p->cfg, idn ? alabel : name)) != NULL) {
		/* Cite the other block when the spellings differ by more
		 * than case. */
		if (strcasecmp(other->spelling, d->spelling) == 0)
			cfg_error(p, line, "duplicate domain %s",
			    Q(idn ? d->spelling : name));
		else
			cfg_error(p, line, "duplicate domain %s (line %u has "
			    "it as %s)", Q(idn ? d->spelling : name), other->line,
			    cfg_show(other->spelling, qbuf2, sizeof(qbuf2)));
	}
	if (idn && alabel[0] != '\0') {
		free(name);
		name = xstrdup(alabel);
	}
	d->name = name;
	d->relay_port = 25;
	d->accept_invalid_certs = -1;
	d->tls = -1;
	TAILQ_INIT(&d->mx_allow);
	TAILQ_INSERT_TAIL(&p->cfg->domains, d, entry);
	p->domain = d;
}

static void
health_begin(struct parser *p, char *addr, int64_t port, unsigned line)
{
	char qbuf[80];
	struct config *c = p->cfg;

	if (c->health_addr != NULL) {
		cfg_error(p, line, "health listen given twice");
		free(addr);
		return;
	}
	c->health_addr = addr;
	c->health_port = (uint16_t)port;
	c->health_enabled = true;
	if (config_parse_listen_addr(addr, c->health_port, &c->health_ss,
	    &c->health_sslen) == -1) {
		cfg_error(p, line, "invalid health listen address %s (a numeric"
		    " IPv4 or IPv6 address, or localhost)", Q(addr));
		c->health_sslen = 0;
	}
	p->health_line = line;
}

static void
token_hash_add(struct parser *p, char *s, unsigned line)
{
	struct config *c = p->cfg;
	size_t i;

	for (i = 0; s[i] != '\0' && isxdigit((unsigned char)s[i]); i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	if (i != 64 || s[i] != '\0') {
		cfg_error(p, line, "invalid token-hash (64 hexadecimal digits of"
		    " a SHA-256 expected)");
		free(s);
		return;
	}
	c->token_hashes = xreallocarray(c->token_hashes, c->ntoken_hashes + 1,
	    sizeof(*c->token_hashes));
	c->token_hashes[c->ntoken_hashes++] = s;
}

/* Keywords of the language that nothing implements yet are refused, so
 * that a configuration never seems to do what it does not. */
static void
not_implemented(struct parser *p, const char *keyword, const char *why,
    unsigned line)
{
	cfg_error(p, line, "%s: not implemented yet (%s)",
	    keyword, why);
}

/* ---------------------------------------------------------------- */
/* The whole file */

/* Checks that need the whole file, then the defaults that depend on
 * other values. */
static void
config_finish(struct parser *p)
{
	struct config *c = p->cfg;
	struct cfg_listen *l;
	struct cfg_netmask *m;
	char host[256];

	if (c->delivery.retry_max < c->delivery.retry_initial)
		cfg_error(p, p->retry_line, "retry max is shorter than retry"
		    " initial");
	if (c->health_enabled && c->health_sslen != 0 && c->health_port != 0)
		TAILQ_FOREACH(l, &c->listeners, entry)
			if (l->sslen != 0 && cfg_same_sockaddr(&l->ss, &c->health_ss))
				cfg_error(p, p->health_line, "health listen uses"
				    " the address and port of a listen statement");
	if (p->nerrors > 0)
		return;

	/* config_load() reads /etc/mailname when this is false; the text
	 * alone decides here (the daemons parse in a chroot). */
	c->hostname_given = c->hostname != NULL;
	if (c->hostname == NULL) {
		if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		c->hostname = xstrdup(host);
	}
	if (c->user == NULL)
		c->user = xstrdup("_empath");
	if (c->queue_user == NULL)
		c->queue_user = xstrdup("_empathq");
	if (c->spool == NULL)
		c->spool = xstrdup("/var/spool/empath");
	if (c->control_socket == NULL)
		c->control_socket = xstrdup("/run/empath/control.sock");
	/* Beside the control socket unless given: one runtime directory. */
	if (c->submit_socket == NULL) {
		const char *slash = strrchr(c->control_socket, '/');

		xasprintf(&c->submit_socket, "%.*s/submit.sock",
		    slash != NULL ? (int)(slash - c->control_socket) : 1,
		    slash != NULL ? c->control_socket : ".");
	}
	if (c->drop_group == NULL)
		c->drop_group = xstrdup("_empathdrop");
	if (!p->trusted_given && c->ntrusted_users == 0) {
		c->trusted_users = xcalloc(1, sizeof(*c->trusted_users));
		c->trusted_users[c->ntrusted_users++] = xstrdup("root");
	}
	if (c->dsn_reporting_mta == NULL)
		c->dsn_reporting_mta = xstrdup(c->hostname);
	if (c->dsn_postmaster == NULL)
		xasprintf(&c->dsn_postmaster, "postmaster@%s", c->hostname);
	/* Without relay from, only this host may relay. */
	if (!p->relay_given) {
		m = xcalloc(1, sizeof(*m));
		config_parse_netmask("127.0.0.0/8", m);
		TAILQ_INSERT_TAIL(&c->relay_from, m, entry);
		m = xcalloc(1, sizeof(*m));
		config_parse_netmask("::1", m);
		TAILQ_INSERT_TAIL(&c->relay_from, m, entry);
	}
}

struct config *
config_parse(const char *name, const char *text, size_t len,
    void (*errfn)(const char *))
{
	struct parser p;

	memset(&p, 0, sizeof(p));
	p.name = name != NULL ? name : "config";
	p.text = text;
	p.len = text != NULL ? len : 0;
	p.line = 1;
	p.errfn = errfn;
	p.cfg = cfg_new();
	if (cfgyyparse(&p) != 0 && p.nerrors == 0)
		cfg_error(&p, p.line, "parse failed");
	config_finish(&p);
	if (p.nerrors > 0) {
		cfg_report_errors(&p);
		config_free(p.cfg);
		return NULL;
	}
	return p.cfg;
}
