# SPDX-License-Identifier: ISC
# Sourced by scripts/fresh-check.sh and scripts/package-check.sh: a fresh
# minimal Debian 12 tree to chroot into, from a base tree shared by both
# (debootstrap --variant=minbase from the Debian archive, cached as a
# tarball under $FRESH_CACHE, default /var/tmp/empath-fresh, rebuilt after
# $FRESH_MAX_AGE days, default 7), and the mounts a chroot needs.
#
# The caller defines say, die, now and phase_end (NAME START).
#
# The cache is root's and nobody else may write it: root unpacks its
# tarball and chroots into the result. It is made 0700, and a run stops
# (status 2) when it is anything else than a directory owned by root
# without group or other write permission (in /var/tmp anyone could have
# made it first, or left a symbolic link there). Files in it are made
# with mktemp and renamed into place, never opened through a name that
# could already exist.

SUITE=bookworm
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
CACHE=${FRESH_CACHE:-/var/tmp/empath-fresh}
MAX_AGE=${FRESH_MAX_AGE:-7}
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Is anything mounted at or under the directory $1?
dt_mounted() {
	awk -v t="$1" '$5 == t || index($5, t "/") == 1 { f = 1 } END { exit !f }' \
	    /proc/self/mountinfo
}

# Make $CACHE (mode 0700) or check the one there: a directory, not a
# link to one, owned by root, not writable by group or others, in a
# directory that others may not write or that is sticky; else stop with
# status 2 (die).
dt_cache() {
	parent=$(dirname "$CACHE")
	[ -d "$parent" ] || mkdir -p "$parent"
	# Others may write the parent only if it is sticky (/var/tmp): else
	# they could rename the cache and put another in its place.
	m=$(stat -L -c '%a' "$parent")
	if [ $((0$m & 022)) -ne 0 ] && [ $((0$m & 01000)) -eq 0 ]; then
		die "cache $CACHE: others may write $parent (mode $m) and it is" \
		    "not sticky: choose another FRESH_CACHE"
	fi
	mkdir -m 0700 "$CACHE" 2>/dev/null || true
	# One lstat (stat without -L): what the name itself is, not where a
	# link would lead.
	set -- $(stat -c '%u %a %F' "$CACHE" 2>/dev/null || echo missing)
	case $* in
	"0 "*" directory") ;;
	missing) die "cannot make the cache directory $CACHE" ;;
	*) die "cache $CACHE must be a directory (not a link) owned by root," \
	    "it is: $(stat -c '%U %A %F' "$CACHE"); check it, remove it, run again" ;;
	esac
	# Mode in octal: no write bit for the group (0020) or others (0002).
	if [ $((0$2 & 022)) -ne 0 ]; then
		die "cache $CACHE is writable by its group or by others (mode $2):" \
		    "check it, remove it, run again"
	fi
}

# Temporary files of dt_make_tree in $CACHE, removed by dt_cleanup_tmp.
dt_tmp=""
dt_cleanup_tmp() {
	for f in $dt_tmp; do rm -f "$f"; done
	dt_tmp=""
}

# The processes whose root directory is the tree $1 or under it (chroot):
# one find, not a readlink for each process of the host.
dt_procs() {
	find /proc -mindepth 2 -maxdepth 2 -name root \
	    \( -lname "$1" -o -lname "$1/*" \) 2>/dev/null | cut -d / -f 3
}

# Stop what still runs in the tree $1: SIGTERM, SIGKILL after 5 s. A
# daemon left there would keep its mount namespace, and the tree's mounts
# in it, alive.
dt_kill_procs() {
	pids=$(dt_procs "$1")
	[ -n "$pids" ] || return 0
	say "stopping what still runs in $1:" $pids >&2
	kill -TERM $pids 2>/dev/null || true
	t0=$(date +%s)
	while sleep 0.2 && pids=$(dt_procs "$1") && [ -n "$pids" ]; do
		el=$(($(date +%s) - t0))
		if [ "$el" -ge 8 ]; then
			say "still running in $1:" $pids >&2
			return 1
		elif [ "$el" -ge 5 ]; then
			kill -KILL $pids 2>/dev/null || true
		fi
	done
}

# A new tree for one run in $CACHE, its path in $tree, with / searchable by
# everyone (tests run daemons as nobody; mktemp makes a 0700 directory):
# the cached base unpacked, or a new debootstrap (cached for the next run
# unless $1 is 1: rebuild it anyway). Prints the phases base and cache.
dt_make_tree() {
	refresh=${1:-0}
	dt_cache
	base=$CACHE/$SUITE-minbase.tar
	tree=$(mktemp -d "$CACHE/run.XXXXXX")
	chmod 0755 "$tree"

	ts=$(now)
	fresh_base=0
	if [ "$refresh" -eq 0 ] && [ -f "$base" ] && ! [ -L "$base" ] &&
	    [ -s "$base" ] &&
	    [ -z "$(find "$base" -mtime +"$MAX_AGE" 2>/dev/null)" ]; then
		say "base: unpacking the cached $SUITE tree ($base)"
		tar -C "$tree" -xpf "$base"
	else
		say "base: debootstrap --variant=minbase $SUITE from $MIRROR"
		log=$(mktemp "$CACHE/debootstrap.log.XXXXXX")
		dt_tmp="$dt_tmp $log"
		if ! debootstrap --variant=minbase "$SUITE" "$tree" "$MIRROR" \
		    >"$log" 2>&1; then
			tail -n 20 "$log" >&2
			mv -fT "$log" "$CACHE/debootstrap.log"
			die "debootstrap failed (log: $CACHE/debootstrap.log)"
		fi
		# The last log is kept beside the tarball it made.
		mv -fT "$log" "$CACHE/debootstrap.log"
		fresh_base=1
	fi
	phase_end base "$ts"

	# What a new Debian 12 machine has and a bare debootstrap lacks: the
	# updates and security suites, and an /etc/hosts naming localhost.
	cat >"$tree/etc/apt/sources.list" <<EOS
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOS
	if ! [ -s "$tree/etc/hosts" ]; then
		printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
		    >"$tree/etc/hosts"
	fi
	# A chroot, not a booted system: packages must not start services.
	printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
	chmod 0755 "$tree/usr/sbin/policy-rc.d"

	if [ "$fresh_base" -eq 1 ]; then
		# Cached before anything of this run is in the tree; written
		# aside, then renamed, so a run never reads half a tarball.
		ts=$(now)
		tmp=$(mktemp "$CACHE/base.tar.XXXXXX")
		dt_tmp="$dt_tmp $tmp"
		tar -C "$tree" --one-file-system -cpf "$tmp" . &&
		    mv -fT "$tmp" "$base"
		phase_end cache "$ts"
	fi
}

# Remove the tree $1 unless $2 is 1 (keep) or something is still mounted
# under it (then rm -rf through a bind mount of /dev would delete the
# host's device nodes); first stop what still runs there and remove the
# temporary files of dt_make_tree.
dt_remove_tree() {
	dt_cleanup_tmp
	dt_kill_procs "$1" || true
	if dt_mounted "$1"; then
		say "still mounted under $1; left in place" >&2
	elif [ "${2:-0}" -eq 1 ]; then
		say "tree kept: $1 (chroot $1)"
	else
		rm -rf --one-file-system "$1"
	fi
}

# Unmount everything at or under the tree $1, deepest first (what ran in
# it may have mounted a tmpfs of its own), once nothing runs there.
dt_unmount_all() {
	dt_kill_procs "$1" || true
	awk -v t="$1" '$5 == t || index($5, t "/") == 1 { print $5 }' \
	    /proc/self/mountinfo | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

# Mount /proc, /sys, /dev, /dev/pts and /dev/shm in the tree $1 and give
# it this host's resolver. Call in a private mount namespace (unshare
# --mount --propagation private), with dt_unmount_all in a trap.
dt_mount() {
	mount -t proc proc "$1/proc"
	mount -t sysfs sysfs "$1/sys" 2>/dev/null ||
	    mount --rbind /sys "$1/sys"
	# /dev from this host (device nodes), a new instance of /dev/pts and
	# a /dev/shm of its own, so nothing in the tree writes to the host's.
	mount --bind /dev "$1/dev"
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$1/dev/pts" 2>/dev/null ||
	    mount --bind /dev/pts "$1/dev/pts"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$1/dev/shm"
	cp -L /etc/resolv.conf "$1/etc/resolv.conf"
}

# Run "$@" in a private mount namespace when this host allows one, else
# here (the caller's trap unmounts then).
dt_in_mount_ns() {
	if unshare --mount --propagation private true 2>/dev/null; then
		unshare --mount --propagation private "$@"
	else
		"$@"
	fi
}
