/* SPDX-License-Identifier: ISC */
/* Every message type of every channel, one line each: MSG(enum name,
 * numeric value, name in logs). The includer defines MSG(); this file
 * generates enum msg_type (proto.h) and msg_name() (proto.c), so the two
 * cannot drift. Values are on the wire: never renumber one.
 * Payload layouts are written next to each type: u32/u64 are host-order
 * integers, str is a length-prefixed string (see channel.h). Requests carry
 * an id in peerid; replies echo it. Every payload has one typed codec:
 * wire.h (master, smtpd <-> queued, queued <-> deliverd) or wire_ctl.h
 * (the control path), both reachable by type through wire_recode().
 * No include guard: included once per use, on purpose. */

MSG(MSG_HELLO, 1, "HELLO")  /* u32 CHAN_VERSION; first frame, every channel */

/* master -> every daemon */
MSG(M_CONFIG, 10, "M_CONFIG")  /* fd: memfd with the configuration text */
MSG(M_LISTEN, 11, "M_LISTEN")  /* fd: bound socket; u32 kind (LISTEN_*), u32 index */
MSG(M_PEER, 12, "M_PEER")  /* fd: channel to a peer; u32 proc_id of the peer */
MSG(M_START, 13, "M_START")  /* setup complete: drop privileges and run */
MSG(M_PROCS, 14, "M_PROCS")  /* to ctld: u64 master start (wall s); u32 n; n * (u32 proc, u32 pid, u64 started, u32 restarts) */
MSG(M_READY, 19, "M_READY")  /* daemon -> master: privileges dropped, start() done */
/* smtpd, queued <-> master: who a local uid is now (doc/architecture.md,
 * "Local submission"); the master asks getpwuid_r(3) each time, so a
 * renamed, deleted or reused uid is seen at once. */
MSG(M_USER_LOOKUP, 20, "M_USER_LOOKUP")  /* daemon: u64 cookie, u32 uid */
MSG(M_USER_NAME, 21, "M_USER_NAME")  /* master: u64 cookie, u32 uid, str login name (0..CFG_LOGIN_MAX octets, "": none) */

/* smtpd <-> queued */
MSG(Q_CREATE, 30, "Q_CREATE")  /* smtpd: no payload */
MSG(Q_CREATE_OK, 31, "Q_CREATE_OK")  /* queued: fd = writable incoming file; str msgid */
MSG(Q_CREATE_FAIL, 32, "Q_CREATE_FAIL")  /* queued: u32 smtp code, str enhanced code + text */
MSG(Q_COMMIT, 33, "Q_COMMIT")  /* smtpd: envelope (envelope.h) */
MSG(Q_COMMIT_OK, 34, "Q_COMMIT_OK")  /* queued: str msgid; sent only once durable */
MSG(Q_COMMIT_FAIL, 35, "Q_COMMIT_FAIL")  /* queued: u32 smtp code, str enhanced code + text */
MSG(Q_ROLLBACK, 36, "Q_ROLLBACK")  /* smtpd: str msgid; no reply */

/* queued <-> deliverd */
MSG(D_JOB, 50, "D_JOB")  /* queued: fd = read-only message file; envelope (one domain) */
MSG(D_RESULT, 51, "D_RESULT")  /* deliverd: str msgid, u32 n, n * (u64 rcpt id, u32 RCPT_*, str remote host, str diagnostic) */
MSG(D_STATUS_REQ, 52, "D_STATUS_REQ")  /* queued/ctld: no payload */
MSG(D_STATUS, 53, "D_STATUS")  /* deliverd: u32 active jobs, u32 active connections */

/* deliverd -> ctld: a DNS command failed (the commands are the CTL_DNS_
 * types below). Numbers 60-66 are retired: never reuse them. */
MSG(D_DNS_FAIL, 67, "D_DNS_FAIL")  /* deliverd: str message */

/* ctld <-> queued: the queue size, for `system status` and health */
MSG(Q_STATUS_REQ, 70, "Q_STATUS_REQ")  /* ctld: no payload */
MSG(Q_STATUS, 71, "Q_STATUS")  /* queued: u64 messages, u64 recipients, u32 n (<= RCPT_STATE_COUNT), n * (u32 RCPT_*, u64 count) */

/* queued -> ctld: a queue command failed (the commands are the
 * CTL_QUEUE_ types below). Numbers 80-91 are retired: never reuse them. */
MSG(Q_OP_FAIL, 92, "Q_OP_FAIL")  /* queued: u32 Q_ERR_*, str text */

/* empathctl <-> ctld (control socket) */
MSG(CTL_PING, 100, "CTL_PING")  /* no payload */
MSG(CTL_PONG, 101, "CTL_PONG")  /* str version */
MSG(CTL_STATUS, 102, "CTL_STATUS")  /* no payload */
MSG(CTL_STATUS_REPLY, 103, "CTL_STATUS_REPLY")  /* str version, u64 uptime s, u64 queue messages, u64 queue recipients,
                             u32 n, n * (str proc, u32 pid, u32 running, u32 restarts) */
MSG(CTL_ERROR, 104, "CTL_ERROR")  /* str message */
MSG(CTL_AUTH, 105, "CTL_AUTH")  /* str token (1..CTL_TOKEN_MAX octets); peerid 0, no answer: it
                             authenticates the commands that follow on this connection */

/* empathctl -> ctld -> queued: queue commands. ctld checks the request
 * and forwards it to queued under the same type with the same payload;
 * queued answers with the reply type, which ctld relays as it came, or
 * with Q_OP_FAIL, which ctld turns into a CTL_ERROR. ids are ULIDs,
 * checked by every end; "counts" is u32 n (= RCPT_STATE_COUNT), n * u64,
 * the recipients in each RCPT_* state. */
MSG(CTL_QUEUE_LIST, 110, "CTL_QUEUE_LIST")  /* u32 state (RCPT_* or Q_STATE_ANY), str after (id or ""), u32 limit (1..Q_LIST_MAX) */
MSG(CTL_QUEUE_LIST_REPLY, 111, "CTL_QUEUE_LIST_REPLY")  /* u32 n, n * (str id, str sender, u64 size, u64 created,
                             u64 next attempt (0: none), counts), u32 more */
MSG(CTL_QUEUE_VIEW, 112, "CTL_QUEUE_VIEW")  /* str id */
MSG(CTL_QUEUE_VIEW_REPLY, 113, "CTL_QUEUE_VIEW_REPLY")  /* str id, str sender, str helo, str client addr, str client name,
                             str body, str envid, u32 ret, u32 smtputf8, u64 size, u64 created, u32 n, n * (u64 rcpt id,
                             str addr, str orcpt, u32 notify, u32 state, u32 attempts, u64 next attempt, u64 last attempt
                             (0: none), str last error, str last host), u32 more recipients, str headers, u32 headers cut */
MSG(CTL_QUEUE_DELETE, 114, "CTL_QUEUE_DELETE")  /* str id */
MSG(CTL_QUEUE_RETRY, 115, "CTL_QUEUE_RETRY")  /* str id */
MSG(CTL_QUEUE_FREEZE, 116, "CTL_QUEUE_FREEZE")  /* no payload */
MSG(CTL_QUEUE_UNFREEZE, 117, "CTL_QUEUE_UNFREEZE")  /* no payload */
MSG(CTL_QUEUE_PROCESS, 118, "CTL_QUEUE_PROCESS")  /* no payload (every queued/deferred recipient due now) */
MSG(CTL_QUEUE_OK, 119, "CTL_QUEUE_OK")  /* u64 count affected, str text; sent once the change is durable */
MSG(CTL_QUEUE_STATS, 120, "CTL_QUEUE_STATS")  /* no payload */
MSG(CTL_QUEUE_STATS_REPLY, 121, "CTL_QUEUE_STATS_REPLY")  /* u64 messages, u64 recipients, u32 frozen, u64 oldest age s,
                             counts, u32 n, n * (str domain, counts), u64 domains in all, u64 uptime s, u32 jobs in flight,
                             u64 accepted, u64 notices, u64 transactions, u64 sync rounds, u64 syncs, u64 sync us */

/* empathctl -> ctld -> deliverd: DNS commands, forwarded and relayed as
 * the queue commands are; deliverd fails with D_DNS_FAIL. */
MSG(CTL_DNS_LIST, 130, "CTL_DNS_LIST")  /* no payload */
MSG(CTL_DNS_LIST_REPLY, 131, "CTL_DNS_LIST_REPLY")  /* u32 nservers, nservers * str server, u32 n, n * (str name,
                             str type, str status, u32 ttl, u32 seconds left (0: expired), str data), u32 more */
MSG(CTL_DNS_CLEAR, 132, "CTL_DNS_CLEAR")  /* no payload */
MSG(CTL_DNS_REFRESH, 133, "CTL_DNS_REFRESH")  /* str domain; answered once the new lookup is done */
MSG(CTL_DNS_OVERRIDES, 134, "CTL_DNS_OVERRIDES")  /* no payload */
MSG(CTL_DNS_OVERRIDES_REPLY, 135, "CTL_DNS_OVERRIDES_REPLY")  /* u32 n, n * (str domain ("*": the smarthost),
                             str relay host, u32 port, str tls policy ("": the global one), str rate ("": none)) */
MSG(CTL_DNS_OK, 136, "CTL_DNS_OK")  /* u64 count (entries dropped), str text (refresh: the new route) */

/* Plugin supervision (empath-master(8), empath-plugin(3)). Before
 * M_CONFIG the master sends each plugin daemon the plugins it must not
 * load and its crash page (a memfd of PLUGIN_PAGE_SIZE octets, MAP_SHARED:
 * u32 index + 1 in the configuration of the plugin running now, 0 none;
 * u32 its em_point + 1). The daemons report their registry; the master
 * relays the last one of each to ctld. */
MSG(M_PLUGINS_DISABLED, 15, "M_PLUGINS_DISABLED")  /* fd: crash page; u32 n, n * str plugin name */
MSG(M_PLUGINS, 16, "M_PLUGINS")  /* u32 proc, u32 n, n * (str name, str version, u32 disabled, u64 hook calls,
                             u64 event calls, u64 slow calls) */

/* empathctl -> ctld: ctld answers from the master's relayed registries. */
MSG(CTL_PLUGIN_LIST, 140, "CTL_PLUGIN_LIST")  /* no payload */
MSG(CTL_PLUGIN_LIST_REPLY, 141, "CTL_PLUGIN_LIST_REPLY")  /* u32 n, n * (str daemon, str name, str version, u32 disabled,
                             u64 hook calls, u64 event calls, u64 slow calls) */
