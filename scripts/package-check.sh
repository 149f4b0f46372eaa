#!/bin/sh
# SPDX-License-Identifier: ISC
# The Debian packages, installed and run on a fresh Debian 12 tree as an
# administrator would: `make package-check`.
#
#   usage: sh scripts/package-check.sh [-k] [-r] [-d DEBDIR] [BUILD]
#
#   BUILD  the build directory of `make deb` (default: build); the
#          packages are built there first (make deb), unless
#   -d     DEBDIR already holds them
#   -k     keep the tree afterwards (for debugging; its path is printed)
#   -r     rebuild the cached base tree (shared with fresh-check.sh)
#
# Phases, each timed: build (make deb); base (the cached minbase tree of
# scripts/debian-tree.sh); install (apt-get install of the .deb with its
# dependencies from the Debian archive: the maintainer scripts run for
# real); installed (users, group, spool, statoverride, conffile,
# empath-master -n); run (empath-master -d on the default configuration
# in a network namespace of its own: a DNS server on 127.0.0.1:53 and an
# SMTP sink on a public test address, mail sent with sendmail -t as a
# user and over SMTP, sendmail while the master is stopped); reinstall
# (an administrator's statoverride kept; an existing spool, here as an
# older version left it, untouched by postinst; then empath-master, in a
# network namespace again, makes its drop directory and sets its mode);
# systemd (systemd-analyze verify of the installed unit); remove and
# purge; lintian on the .debs (this host's lintian, when installed).
#
# Whatever fails, the trap of each part cleans up: the servers and the
# master (SIGTERM, then SIGKILL), anything else still running in the tree,
# the mounts (in a mount namespace of their own besides), the network
# namespace (with its last process), the tree and the logs in /tmp
# (unless -k).
#
# Every step is a function step_NAME; PACKAGE_CHECK_SKIP="NAME ..." skips
# some (for developing this script; a skipped step is reported). Prints
# `package-check: passed` or `package-check: FAILED` last and exits 0 or 1;
# 77 (skipped) without root, debootstrap, unshare or dpkg-buildpackage;
# 2 when setting up failed.
set -eu

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
top=$(dirname "$(dirname "$self")")
. "$top/scripts/debian-tree.sh"

# The test world: a domain whose MX has a public test address (RFC 5737;
# deliverd refuses loopback and private ones), a local user of the tree.
DOMAIN=pkgcheck.test
SINK_ADDR=203.0.113.25
TUSER=pkcuser

say() { printf 'package-check: %s\n' "$*"; }
die() { printf 'package-check: %s\n' "$*" >&2; exit 2; }
now() { date +%s; }
phase_end() { say "phase $1: $(($(now) - $2)) s"; }

# Results go to files under $work, shared by the namespaces' processes.
fail() {
	say "FAIL: $*"
	printf '%s\n' "$*" >>"$work/failures"
}
ok() { say "ok: $*"; }
# expect DESCRIPTION COMMAND...: ok when the command succeeds.
expect() {
	d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
# expect_eq DESCRIPTION WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1: $3"; else fail "$1: want '$2', got '$3'"; fi
}
skipped() {
	case " ${PACKAGE_CHECK_SKIP:-} " in *" $1 "*) return 0 ;; esac
	return 1
}
# step NAME: run step_NAME, timed, unless skipped.
step() {
	if skipped "$1"; then
		say "step $1: skipped (PACKAGE_CHECK_SKIP)"
		echo "$1" >>"$work/skipped"
		return 0
	fi
	s0=$(now)
	if "step_$1"; then
		say "step $1: $(($(now) - s0)) s"
	else
		fail "step $1 stopped"
		say "step $1: $(($(now) - s0)) s"
		return 1
	fi
}
# A command in the tree, as root, with a clean environment.
in_tree() {
	chroot "$tree" /usr/bin/env -i PATH="$PATH_IN" HOME=/root LANG=C.UTF-8 \
	    DEBIAN_FRONTEND=noninteractive "$@"
}
# A command in the tree as the test user (the groups of that user).
as_user() {
	chroot --userspec="$TUSER:$TUSER" "$tree" /usr/bin/env -i \
	    PATH=/usr/bin:/bin:/usr/sbin HOME=/home/$TUSER LANG=C.UTF-8 \
	    LOGNAME=$TUSER USER=$TUSER "$@"
}
# owner:group mode of a path in the tree (as the tree names them).
tree_stat() { in_tree stat -c '%U:%G %a' "$1" 2>/dev/null || echo missing; }

# ---------------------------------------------------------------------------
# install: apt-get install of the .deb in the tree

step_install() {
	mkdir -p "$tree/root/debs"
	cp "$debdir"/empath_*.deb "$tree/root/debs/"
	deb=$(cd "$tree/root/debs" && ls empath_*.deb | head -n 1)
	in_tree apt-get update -q >"$work/apt-update.log" 2>&1 || {
		tail -n 20 "$work/apt-update.log"
		return 1
	}
	# ./file: apt-get takes a local package and fetches its dependencies.
	if ! in_tree apt-get install -y -q --no-install-recommends \
	    "/root/debs/$deb" >"$work/apt-install.log" 2>&1; then
		tail -n 30 "$work/apt-install.log"
		return 1
	fi
	grep -E '^(Setting up|Adding|Warning|W:|E:)' "$work/apt-install.log" |
	    sed 's/^/  /'
	# A user that sends mail with sendmail(8).
	in_tree adduser --quiet --disabled-password --gecos '' "$TUSER" >/dev/null
}

# systemd, for systemd-analyze verify (after the package: the package
# must install without it, as in a container), and man-db: verify checks
# that the unit's Documentation= pages exist.
step_install_systemd() {
	in_tree apt-get install -y -q --no-install-recommends systemd man-db \
	    >"$work/apt-systemd.log" 2>&1 || {
		tail -n 20 "$work/apt-systemd.log"
		return 1
	}
}

# ---------------------------------------------------------------------------
# installed: what postinst made

step_users() {
	for u in _empath _empathq; do
		e=$(in_tree getent passwd "$u" || true)
		expect "user $u exists ($e)" [ -n "$e" ]
		case $e in
		*:/nonexistent:/usr/sbin/nologin) ok "user $u: no home, nologin" ;;
		*) fail "user $u: home or shell: $e" ;;
		esac
	done
	g=$(in_tree getent group _empathdrop || true)
	expect "group _empathdrop exists ($g)" [ -n "$g" ]
	# Nobody is a member: only the setgid program acts with the group.
	expect_eq "members of _empathdrop" "" "$(echo "$g" | cut -d: -f4)"
}

step_spool() {
	expect_eq "/var/spool/empath" "_empathq:_empathdrop 710" \
	    "$(tree_stat /var/spool/empath)"
	expect_eq "/var/spool/empath/drop" "_empathq:_empathdrop 1730" \
	    "$(tree_stat /var/spool/empath/drop)"
}

step_sendmail_installed() {
	expect_eq "statoverride" "root _empathdrop 2755 /usr/sbin/empath-sendmail" \
	    "$(in_tree dpkg-statoverride --list /usr/sbin/empath-sendmail || true)"
	expect_eq "/usr/sbin/empath-sendmail" "root:_empathdrop 2755" \
	    "$(tree_stat /usr/sbin/empath-sendmail)"
	for l in /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq \
	    /usr/bin/newaliases; do
		expect_eq "$l" /usr/sbin/empath-sendmail \
		    "$(in_tree readlink -f "$l" || true)"
	done
}

step_conffile() {
	c=$(in_tree dpkg-query -W -f='${Conffiles}\n' empath || true)
	case $c in
	*" /etc/empath/empath.conf "*) ok "conffile /etc/empath/empath.conf" ;;
	*) fail "/etc/empath/empath.conf is not a conffile: $c" ;;
	esac
}

step_config_check() {
	if out=$(in_tree empath-master -n 2>&1); then
		ok "empath-master -n: $out"
	else
		fail "empath-master -n: $out"
	fi
}

# ---------------------------------------------------------------------------
# run: in a network namespace of its own (step_run re-enters this script)

master_pid=""
servers_pid=""

# Wait up to $1 seconds for the command "$2..." to succeed.
wait_for() {
	n=$(($1 * 10))
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

smtp_greets() {
	python3 - <<'EOF'
import socket, sys
with socket.create_connection(("127.0.0.1", 25), timeout=2) as s:
    sys.exit(0 if s.recv(512).startswith(b"220") else 1)
EOF
}

# The sink's file of the message to this recipient.
sink_file() { grep -l -x "X-Rcpt-To: $1" "$work/sink/"*.eml 2>/dev/null | head -n 1; }
delivered() { [ -n "$(sink_file "$1")" ]; }

step_net() {
	ip link set lo up &&
	    ip addr add "$SINK_ADDR/32" dev lo &&
	    printf 'nameserver 127.0.0.1\n' >"$tree/etc/resolv.conf"
}

step_servers() {
	mkdir -p "$work/sink"
	python3 "$top/scripts/package-check-servers.py" "$work/sink" "$DOMAIN" \
	    "$SINK_ADDR" >"$work/servers.log" 2>&1 &
	servers_pid=$!
	wait_for 15 test -e "$work/sink/ready" || {
		cat "$work/servers.log"
		return 1
	}
}

# As systemd would start it: /run/empath (RuntimeDirectory=) and
# /var/lib/empath (StateDirectory=) made first.
master_start() {
	mkdir -p "$tree/run/empath" "$tree/var/lib/empath"
	chmod 0755 "$tree/run/empath" "$tree/var/lib/empath"
	echo "==== start $(date +%T)" >>"$work/master.log"
	chroot "$tree" /usr/bin/env -i PATH="$PATH_IN" LANG=C.UTF-8 \
	    /usr/sbin/empath-master -d >>"$work/master.log" 2>&1 &
	master_pid=$!
	if ! wait_for 20 smtp_greets; then
		tail -n 30 "$work/master.log"
		return 1
	fi
}

# Is the process $1 running (not gone, not a zombie)?
running() {
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c 1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Stop the child $1: SIGTERM, SIGKILL after $2 seconds (default 10); its
# exit status in $stop_status.
stop_child() {
	kill -TERM "$1" 2>/dev/null || true
	n=$((${2:-10} * 10))
	while running "$1"; do
		n=$((n - 1))
		if [ "$n" -eq 0 ]; then
			say "pid $1 still runs after SIGTERM: SIGKILL" >&2
			kill -KILL "$1" 2>/dev/null || true
		fi
		sleep 0.1
	done
	stop_status=0
	wait "$1" 2>/dev/null || stop_status=$?
}

master_stop() {
	[ -n "$master_pid" ] || return 0
	stop_child "$master_pid" 30
	master_pid=""
	expect_eq "empath-master exit status after SIGTERM" 0 "$stop_status"
}

step_master_start() { master_start; }

step_send_smtp() {
	python3 - "$DOMAIN" <<'EOF'
import smtplib, sys
d = sys.argv[1]
with smtplib.SMTP("127.0.0.1", 25, local_hostname="client.example", timeout=30) as s:
    s.sendmail(f"tester@{d}", [f"smtp@{d}"],
               f"From: tester@{d}\r\nTo: smtp@{d}\r\nSubject: over SMTP\r\n\r\n"
               "sent to 127.0.0.1:25\r\n")
EOF
}

# sendmail -t as the test user; $1 the local part of the recipient.
send_with_sendmail() {
	printf 'To: %s@%s\nSubject: sendmail -t\n\nfrom a local user\n' "$1" "$DOMAIN" |
	    as_user /usr/sbin/sendmail -t
}

step_send_sendmail() {
	st=0
	send_with_sendmail local || st=$?
	expect_eq "sendmail -t exit status" 0 "$st"
}

step_delivered() {
	if wait_for 60 delivered "smtp@$DOMAIN"; then
		ok "the SMTP message reached the sink"
	else
		fail "the SMTP message did not reach the sink"
	fi
	if skipped send_sendmail; then
		return 0
	fi
	if wait_for 60 delivered "local@$DOMAIN"; then
		ok "the sendmail message reached the sink"
		uid=$(in_tree id -u "$TUSER")
		f=$(sink_file "local@$DOMAIN")
		# The Received: field of a local submission records the uid
		# (lib/localusers.c), folded over two lines.
		if tr -d '\r' <"$f" | grep -q "^Received: by .*(Empath, from userid $uid)"; then
			ok "Received: field with uid $uid"
		else
			fail "no Received: field with uid $uid in $f"
			sed -n '1,15p' "$f"
		fi
		expect "envelope sender $TUSER@..." grep -q "^X-Mail-From: $TUSER@" "$f"
	else
		fail "the sendmail message did not reach the sink"
	fi
}

# sendmail while the master is stopped: a drop file, delivered after the
# next start.
step_offline() {
	master_stop
	st=0
	send_with_sendmail offline || st=$?
	expect_eq "sendmail -t with empath-master stopped: exit status" 0 "$st"
	n=$(find "$tree/var/spool/empath/drop" -type f | wc -l)
	expect "a file in /var/spool/empath/drop ($n)" [ "$n" -ge 1 ]
	master_start || return 1
	if wait_for 90 delivered "offline@$DOMAIN"; then
		ok "the dropped message reached the sink after the start"
	else
		fail "the dropped message did not reach the sink"
	fi
	n=$(find "$tree/var/spool/empath/drop" -type f | wc -l)
	expect_eq "files left in the drop directory" 0 "$n"
}

step_master_stop() {
	master_stop
	# No daemon of the tree survives its master: none has a root in it.
	left=$(dt_procs "$tree" | tr '\n' ' ')
	expect_eq "processes left running from the tree" "" "$left"
}

# The trap of the parts in a network namespace: the namespace goes with
# its last process.
cleanup_net() {
	[ -z "$master_pid" ] || stop_child "$master_pid" 10
	[ -z "$servers_pid" ] || stop_child "$servers_pid" 5
	dt_kill_procs "$tree" || true
}

net_inner() {
	trap cleanup_net EXIT
	trap 'exit 130' INT TERM HUP
	step net || return 1
	step servers || return 1
	step master_start || return 1
	step send_smtp || true
	step send_sendmail || true
	step delivered || true
	step offline || true
	step master_stop || true
	# As systemd does when the service stops (RuntimeDirectory=).
	rm -rf "$tree/run/empath"
}

step_run() {
	cp "$tree/etc/resolv.conf" "$work/resolv.conf"
	st=0
	unshare --net sh "$self" --net "$tree" "$work" || st=$?
	cp "$work/resolv.conf" "$tree/etc/resolv.conf"
	return "$st"
}

# ---------------------------------------------------------------------------
# reinstall: postinst again, on a system already set up

# An administrator's statoverride is kept; an existing spool, here as an
# older version left it (no drop directory, the queue's group, mode 0700),
# is not touched: it is _empathq's, and postinst works by path names.
step_reinstall() {
	in_tree dpkg-statoverride --remove /usr/sbin/empath-sendmail
	in_tree dpkg-statoverride --update --add root _empathdrop 2750 \
	    /usr/sbin/empath-sendmail
	in_tree rmdir /var/spool/empath/drop
	in_tree chgrp _empathq /var/spool/empath
	in_tree chmod 0700 /var/spool/empath
	before=$(tree_stat /var/spool/empath)
	in_tree apt-get install -y -q --reinstall "/root/debs/$deb" \
	    >"$work/apt-reinstall.log" 2>&1 || {
		tail -n 20 "$work/apt-reinstall.log"
		return 1
	}
	expect_eq "the administrator's statoverride after a reinstall" \
	    "root _empathdrop 2750 /usr/sbin/empath-sendmail" \
	    "$(in_tree dpkg-statoverride --list /usr/sbin/empath-sendmail || true)"
	expect_eq "/usr/sbin/empath-sendmail after a reinstall" \
	    "root:_empathdrop 2750" "$(tree_stat /usr/sbin/empath-sendmail)"
	expect_eq "/var/spool/empath after a reinstall (left alone)" \
	    "_empathq:_empathq 700" "$(tree_stat /var/spool/empath)"
	expect_eq "/var/spool/empath/drop after a reinstall (left to empath-master)" \
	    missing "$(tree_stat /var/spool/empath/drop)"
	[ "$before" = "_empathq:_empathq 700" ] ||
	    fail "the older spool was not set up: $before"
}

# After the upgrade, the master's start (systemd restarts it from postinst)
# makes the drop directory and gives the spool its group and mode.
step_upgrade_start() {
	st=0
	unshare --net sh "$self" --net-start "$tree" "$work" || st=$?
	return "$st"
}

net_start_inner() {
	trap cleanup_net EXIT
	trap 'exit 130' INT TERM HUP
	ip link set lo up || return 1
	master_start || return 1
	expect_eq "/var/spool/empath after the master's start" \
	    "_empathq:_empathdrop 710" "$(tree_stat /var/spool/empath)"
	expect_eq "/var/spool/empath/drop after the master's start" \
	    "_empathq:_empathdrop 1730" "$(tree_stat /var/spool/empath/drop)"
	master_stop
	rm -rf "$tree/run/empath"
}

# ---------------------------------------------------------------------------
# systemd, remove, purge

step_systemd_verify() {
	if ! [ -x "$tree/usr/bin/systemd-analyze" ]; then
		fail "no systemd-analyze in the tree"
		return 0
	fi
	if out=$(in_tree systemd-analyze verify /lib/systemd/system/empath.service 2>&1) &&
	    [ -z "$out" ]; then
		ok "systemd-analyze verify empath.service: nothing to say"
	else
		fail "systemd-analyze verify empath.service:"
		printf '%s\n' "$out" | sed 's/^/  /'
	fi
}

step_remove() {
	in_tree apt-get remove -y -q empath >"$work/apt-remove.log" 2>&1 || {
		tail -n 20 "$work/apt-remove.log"
		return 1
	}
	expect_eq "dpkg status after remove" "deinstall ok config-files" \
	    "$(in_tree dpkg-query -W -f='${Status}' empath || true)"
	expect "/usr/sbin/empath-master gone" [ ! -e "$tree/usr/sbin/empath-master" ]
	expect "/usr/sbin/sendmail gone" [ ! -e "$tree/usr/sbin/sendmail" ]
	expect "/etc/empath/empath.conf kept" [ -f "$tree/etc/empath/empath.conf" ]
	expect "/var/spool/empath kept" [ -d "$tree/var/spool/empath" ]
}

step_purge() {
	in_tree apt-get purge -y -q empath >"$work/apt-purge.log" 2>&1 || {
		tail -n 20 "$work/apt-purge.log"
		return 1
	}
	expect_eq "dpkg status after purge" "" \
	    "$(in_tree dpkg-query -W -f='${Status}' empath 2>/dev/null || true)"
	for d in /var/spool/empath /etc/empath /var/lib/empath; do
		expect "$d gone" [ ! -e "$tree$d" ]
	done
	expect_eq "statoverride after purge" "" \
	    "$(in_tree dpkg-statoverride --list /usr/sbin/empath-sendmail || true)"
	# What stays on purpose (see debian/empath.postrm).
	say "left after purge: $(for n in _empath _empathq; do
		in_tree getent passwd "$n" >/dev/null && printf 'user %s, ' "$n"
	done)$(in_tree getent group _empathdrop >/dev/null && echo 'group _empathdrop')"
	left=$(cd "$tree" && ls -d var/spool/empath etc/empath run/empath \
	    var/lib/empath 2>/dev/null || true)
	say "left under /var/spool/empath /etc/empath /run/empath /var/lib/empath: ${left:-nothing}"
}

# ---------------------------------------------------------------------------
# The inner part: in a private mount namespace, the tree mounted.

inner() {
	trap 'dt_unmount_all "$tree"' EXIT
	trap 'exit 130' INT TERM HUP
	dt_mount "$tree"
	tp=$(now)
	step install || return 1
	phase_end install "$tp"

	tp=$(now)
	step users || true
	step spool || true
	step sendmail_installed || true
	step conffile || true
	step config_check || true
	phase_end installed "$tp"

	tp=$(now)
	step run || true
	phase_end run "$tp"

	tp=$(now)
	step reinstall || true
	step upgrade_start || true
	phase_end reinstall "$tp"

	tp=$(now)
	step install_systemd && step systemd_verify || true
	phase_end systemd "$tp"

	tp=$(now)
	step remove || true
	step purge || true
	phase_end "remove and purge" "$tp"
}

case ${1:-} in
--inner)
	tree=$2 work=$3 debdir=$4
	inner
	exit $?
	;;
--net)
	tree=$2 work=$3
	net_inner
	exit $?
	;;
--net-start)
	tree=$2 work=$3
	net_start_inner
	exit $?
	;;
esac

# ---------------------------------------------------------------------------
# The outer part

keep=0
refresh=0
debdir=""
while getopts krd: opt; do
	case $opt in
	k) keep=1 ;;
	r) refresh=1 ;;
	d) debdir=$OPTARG ;;
	*) die "usage: sh scripts/package-check.sh [-k] [-r] [-d DEBDIR] [BUILD]" ;;
	esac
done
shift $((OPTIND - 1))
build=${1:-build}

skip() {
	say "skipped: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, namespaces)"
for c in debootstrap unshare tar ip python3; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not found"
done
if [ -z "$debdir" ]; then
	command -v dpkg-buildpackage >/dev/null 2>&1 && command -v dh >/dev/null 2>&1 ||
	    skip "dpkg-buildpackage or dh not found (apt-get install dpkg-dev debhelper)"
fi
unshare --net --mount --propagation private true 2>/dev/null ||
    skip "no network or mount namespaces here (unshare)"

t0=$(now)
tree=""
work=$(mktemp -d /tmp/package-check.XXXXXX)
: >"$work/failures"
cleanup() {
	rc=$?
	trap - EXIT
	[ -z "$tree" ] || dt_remove_tree "$tree" "$keep"
	if [ "$keep" -eq 1 ]; then
		say "logs kept: $work"
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- phase: build ---------------------------------------------------------
ts=$(now)
if [ -z "$debdir" ]; then
	say "build: make deb BUILD=$build"
	make -C "$top" deb BUILD="$build" >"$work/deb.log" 2>&1 || {
		tail -n 30 "$work/deb.log"
		die "make deb failed (log above)"
	}
	case $build in /*) debdir=$build/deb ;; *) debdir=$top/$build/deb ;; esac
fi
ls "$debdir"/empath_*.deb >/dev/null 2>&1 || die "no empath_*.deb in $debdir"
for f in "$debdir"/*.deb; do
	say "package: $(basename "$f"): $(stat -c %s "$f") bytes," \
	    "installed size $(dpkg-deb -f "$f" Installed-Size) KiB"
done
phase_end build "$ts"

# --- phase: base ----------------------------------------------------------
dt_make_tree "$refresh"

# --- phases in the tree ---------------------------------------------------
set +e
dt_in_mount_ns sh "$self" --inner "$tree" "$work" "$debdir"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "the steps in the tree stopped early (status $rc)"

# --- phase: lintian -------------------------------------------------------
ts=$(now)
if command -v lintian >/dev/null 2>&1; then
	say "lintian --pedantic -I on $(cd "$debdir" && echo *.deb):"
	# Its temporary files in $work: lintian 2.116 leaves some behind.
	mkdir -p "$work/lintian-tmp"
	out=$(TMPDIR=$work/lintian-tmp lintian --pedantic -I "$debdir"/*.deb 2>&1 |
	    grep -v '^running with root' || true)
	printf '%s\n' "${out:-(nothing)}" | sed 's/^/  /'
	if printf '%s\n' "$out" | grep -q '^[EW]: '; then
		fail "lintian: errors or warnings"
	fi
else
	say "lintian: not installed here, not run"
fi
phase_end lintian "$ts"

say "total: $(($(now) - t0)) s"
if [ -s "$work/skipped" ]; then
	say "steps skipped: $(tr '\n' ' ' <"$work/skipped")"
fi
if [ -s "$work/failures" ]; then
	say "failures:"
	sed 's/^/  /' "$work/failures"
	echo "package-check: FAILED"
	exit 1
fi
echo "package-check: passed"
exit 0
