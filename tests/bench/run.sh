#!/bin/sh
# SPDX-License-Identifier: ISC
# make bench: the performance figures of Empath, measured on this machine.
#   accepted messages/s (4 KiB, a 250 only after the sync) at 1, 10, 50 sessions
#   relayed messages/s end to end (SMTP in, SMTP out to a local sink), 50 sessions
#   memory of smtpd per idle session (1,000 idle connections)
#   accepted messages/s at 50 sessions with the example plugins loaded,
#   beside the rate without them (PLUGINS_ONLY=1 runs this section alone)
# The spool lives under the build directory (a real disk, never tmpfs) so
# that syncs cost what they cost in production.
set -eu
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-gcc}
mkdir -p "$BUILD/bench"
$CC -O2 -Wall -Wextra -o "$BUILD/bench/smtpload" "$HERE/smtpload.c" -lpthread
$CC -O2 -Wall -Wextra -o "$BUILD/bench/smtpsink" "$HERE/smtpsink.c" -lpthread
$CC -O2 -Wall -Wextra -o "$BUILD/bench/disksync" "$HERE/disksync.c"
ulimit -n 8192 2>/dev/null || true

W="$BUILD/bench/work"
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MASTER=""; SINK=""
stop_empath() {
	[ -n "$MASTER" ] && kill "$MASTER" 2>/dev/null && wait "$MASTER" 2>/dev/null || true
	MASTER=""
}
cleanup() {
	stop_empath
	[ -n "$SINK" ] && kill "$SINK" 2>/dev/null || true
	SINK=""
}
trap cleanup EXIT INT TERM

# start_empath RELAYPORT [EXTRA]: a fresh spool, SMTP on $PORT, sink.test
# relayed to 127.0.0.1:RELAYPORT; EXTRA is appended to the configuration.
start_empath() {
	stop_empath
	rm -rf "$W"; mkdir -p "$W/spool"
	PORT=$(freeport)
	cat > "$W/empath.conf" <<CONF
hostname "bench.empath.local"
user "nobody"
queue-user "daemon"
spool "$W/spool"
listen on 127.0.0.1 port $PORT {
    max-message-size 10M
    max-connections 5000
    max-connections-per-ip 5000
}
relay from { 127.0.0.1/32 }
domain "sink.test" {
    accept
    relay via "127.0.0.1:$1"
}
delivery {
    retry initial 1h max 4h
    concurrency 64 per-domain 64
}
control { socket "$W/control.sock" }
log { target stderr level warn }
${2:-}
CONF
	"$BUILD/empath-master" -d -f "$W/empath.conf" 2>"$W/master.log" &
	MASTER=$!
	for i in $(seq 1 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1).close()" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: empath did not start" >&2; cat "$W/master.log" >&2; exit 1
}

# Disk syncs per accepted message, as queued counts them (its write
# pipeline shares each sync among every message of a round).
syncs_per_message() {
	"$BUILD/empathctl" -s "$W/control.sock" --json queue stats 2>/dev/null |
	python3 -c 'import sys, json
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
n = d["accepted"] + d["notices"]
print("              %d syncs for %d messages: %.3f syncs per message, "
      "%.1f messages per round, %.2f ms per sync" % (d["syncs"], n,
      d["syncs_per_message"], n / max(d["sync_rounds"], 1),
      d["sync_us"] / max(d["syncs"], 1) / 1000))' || true
}

smtpd_pid() {
	for p in $(pgrep -P "$MASTER"); do
		if tr '\0' ' ' < /proc/$p/cmdline | grep -q 'empath: smtpd'; then echo "$p"; return; fi
	done
}

queued_pid() {
	for p in $(pgrep -P "$MASTER"); do
		if tr '\0' ' ' < /proc/$p/cmdline | grep -q 'empath: queued'; then echo "$p"; return; fi
	done
}

# lone_session LABEL RELAYPORT N: one client sending N messages back to
# back; the latency of each 250 after DATA, and the syncs queued made
# (strace counts them too when STRACE=1 and strace is installed).
lone_session() {
	start_empath "$2"
	printf '  %s\n' "$1"
	ST=""
	if [ "${STRACE:-0}" = 1 ] && command -v strace >/dev/null; then
		strace -f -c -o "$W/strace.out" -e trace=fsync,fdatasync,syncfs,sync_file_range \
		    -p "$(queued_pid)" 2>/dev/null & ST=$!
		sleep 0.5
	fi
	"$BUILD/bench/smtpload" -p "$PORT" -c 1 -n "$3" -s 4096 | sed 's/^/    /'
	sleep 1                   # deliveries, and the removals after them
	syncs_per_message | sed 's/^ *//; s/^/    /'
	if [ -n "$ST" ]; then
		kill -INT "$ST"; wait "$ST" 2>/dev/null || true
		awk -v n="$3" '$NF ~ /^(fsync|fdatasync|syncfs|sync_file_range)$/ {
		    printf "    strace: %d %s, %.2f per message\n", $4, $NF, $4 / n }' "$W/strace.out"
	fi
}

# rate50 OUT [EXTRA]: accepted messages per second at 50 sessions,
# deliveries deferred (to a closed port), into the file OUT. Not run in
# $(...): the daemons would hold its pipe open.
rate50() {
	start_empath "$DEAD" "${2:-}"
	"$BUILD/bench/smtpload" -p "$PORT" -c 50 -n 10000 -s 4096 > "$W/load.out"
	sed -n 's/.*rate=\([0-9.]*\).*/\1/p' "$W/load.out" | head -n 1 > "$1"
}

# The three example plugins: reject-list with a list no bench recipient is
# on, correlation-id, event-log writing to a file under the work directory
# (one line per event of smtpd, queued and deliverd). Each run gets a spool
# of its own, all removed at the end: ext4 makes file creation slow for
# half a minute after many deletions (it skips recently freed inodes),
# which would penalise whichever run came second. Runs in the order
# without, with, with, without, so that a trend of the machine cancels.
plugins_section() {
	echo "== accepted messages per second with the example plugins (4 KiB, 50 sessions)"
	L="$BUILD/bench/plugins"
	WORK="$W"
	rm -rf "$L"; mkdir -p "$L"
	printf '# no bench recipient is here\nnobody@elsewhere.test\nspam@example.org\n' > "$L/reject-list"
	PCONF="plugin-dir \"$BUILD/plugins\"
plugin \"reject-list\" { args \"$L/reject-list\" }
plugin \"correlation-id\"
plugin \"event-log\" { args \"$L/events.json\" \"correlation-id\" }"
	for r in 1 2 3 4; do
		W="$L/work$r"
		case $r in
		1|4) rate50 "$L/without$r" ;;
		*) rate50 "$L/with$r" "$PCONF"; sleep 1 ;;  # the last events
		esac
	done
	stop_empath
	lines=$(wc -l < "$L/events.json" 2>/dev/null || echo 0)
	python3 - "$L" "$lines" <<'PY'
import sys
d, lines = sys.argv[1], int(sys.argv[2])
r = {n: float(open(f"{d}/{n}").read()) for n in ("without1", "with2", "with3", "without4")}
a = (r["without1"] + r["without4"]) / 2
b = (r["with2"] + r["with3"]) / 2
print(f"  without plugins: {a:.0f} msg/s ({r['without1']:.0f}, {r['without4']:.0f})")
print(f"  with plugins: {b:.0f} msg/s, {100 * b / a:.0f}% of without "
      f"({r['with2']:.0f}, {r['with3']:.0f}; {lines} event lines)")
PY
	rm -rf "$L"/work?
	W="$WORK"
}

DEAD=$(freeport)
if [ "${PLUGINS_ONLY:-0}" = 1 ]; then plugins_section; cleanup; exit 0; fi

echo "== one session (4 KiB, back to back)"
"$BUILD/bench/disksync" "$BUILD/bench" 300 | sed 's/^/  /'
lone_session "no delivery (deferred)" "$(freeport)" 1000
SINKPORT=$(freeport)
"$BUILD/bench/smtpsink" "$SINKPORT" "$W.sink" & SINK=$!
lone_session "relayed to a local sink" "$SINKPORT" 1000
kill "$SINK" 2>/dev/null; SINK=""
[ "${LONE_ONLY:-0}" = 1 ] && exit 0

echo "== accepted messages per second (4 KiB, durable before 250)"
# Deliveries go to a closed port and are deferred for an hour: this measures
# reception, with a failed connection attempt per message in the background.
for c in 1 10 50; do
	case $c in 1) n=2000;; 10) n=5000;; *) n=10000;; esac
	start_empath "$DEAD"
	printf '  %2d sessions: ' "$c"
	"$BUILD/bench/smtpload" -p "$PORT" -c "$c" -n "$n" -s 4096 |
	    sed '2,$s/^/              /'
	syncs_per_message
done

echo "== relayed end to end (4 KiB, 50 sessions, to a local sink)"
SINKPORT=$(freeport)
"$BUILD/bench/smtpsink" "$SINKPORT" "$W.sink" & SINK=$!
start_empath "$SINKPORT"
n=10000
"$BUILD/bench/smtpload" -p "$PORT" -c 50 -n "$n" -s 4096 > "$W/load.out"
for i in $(seq 1 1200); do
	got=$(cut -d' ' -f1 "$W.sink" 2>/dev/null || echo 0)
	[ "${got:-0}" -ge "$n" ] && break
	sleep 0.1
done
python3 - "$W/load.out" "$W.sink" "$n" <<'PY'
import sys, re
load = open(sys.argv[1]).read()
secs_in = float(re.search(r"seconds=([\d.]+)", load).group(1))
got, span = open(sys.argv[2]).read().split()
got = int(got); n = int(sys.argv[3])
# From the first byte sent to the last message at the sink.
total = max(secs_in, float(span))
print(f"  relayed {got}/{n} messages, in {secs_in:.2f}s, out by {total:.2f}s: rate={got/total:.0f}/s")
PY
syncs_per_message
kill "$SINK" 2>/dev/null; SINK=""

echo "== memory per idle SMTP session (1000 idle connections)"
start_empath "$DEAD"
pid=$(smtpd_pid)
before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
"$BUILD/bench/smtpload" -p "$PORT" -i 1000 -H 5 > "$W/idle.out" &
LOAD=$!
for i in $(seq 1 100); do [ -s "$W/idle.out" ] && break; sleep 0.1; done
sleep 0.5
after=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
wait $LOAD || true
python3 -c "import sys; b,a=int(sys.argv[1]),int(sys.argv[2]); print(f'  {open(sys.argv[3]).read().strip()}; smtpd RSS {b} KiB -> {a} KiB: {(a-b)/1000:.1f} KiB per idle session')" "$before" "$after" "$W/idle.out"

plugins_section
cleanup
