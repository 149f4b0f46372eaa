# SPDX-License-Identifier: ISC
# Sourced by scripts/fresh-check.sh and scripts/package-check.sh: a fresh
# minimal Debian 12 tree to chroot into, from a base tree shared by both
# (debootstrap --variant=minbase from the Debian archive, cached as a
# tarball under $FRESH_CACHE, default /var/tmp/empath-fresh, rebuilt after
# $FRESH_MAX_AGE days, default 7), and the mounts a chroot needs.
#
# The caller defines say, die, now and phase_end (NAME START).

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

# A new tree for one run in $CACHE, its path in $tree, with / searchable by
# everyone (tests run daemons as nobody; mktemp makes a 0700 directory):
# the cached base unpacked, or a new debootstrap (cached for the next run
# unless $1 is 1: rebuild it anyway). Prints the phases base and cache.
dt_make_tree() {
	refresh=${1:-0}
	mkdir -p "$CACHE"
	base=$CACHE/$SUITE-minbase.tar
	tree=$(mktemp -d "$CACHE/run.XXXXXX")
	chmod 0755 "$tree"

	ts=$(now)
	fresh_base=0
	if [ "$refresh" -eq 0 ] && [ -s "$base" ] &&
	    [ -z "$(find "$base" -mtime +"$MAX_AGE" 2>/dev/null)" ]; then
		say "base: unpacking the cached $SUITE tree ($base)"
		tar -C "$tree" -xpf "$base"
	else
		say "base: debootstrap --variant=minbase $SUITE from $MIRROR"
		if ! debootstrap --variant=minbase "$SUITE" "$tree" "$MIRROR" \
		    >"$CACHE/debootstrap.log" 2>&1; then
			tail -n 20 "$CACHE/debootstrap.log" >&2
			die "debootstrap failed (log: $CACHE/debootstrap.log)"
		fi
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
		tar -C "$tree" --one-file-system -cpf "$base.tmp" . &&
		    mv "$base.tmp" "$base"
		phase_end cache "$ts"
	fi
}

# Remove the tree $1 unless $2 is 1 (keep) or something is still mounted
# under it (then rm -rf through a bind mount of /dev would delete the
# host's device nodes).
dt_remove_tree() {
	if dt_mounted "$1"; then
		say "still mounted under $1; left in place" >&2
	elif [ "${2:-0}" -eq 1 ]; then
		say "tree kept: $1 (chroot $1)"
	else
		rm -rf --one-file-system "$1"
	fi
}

# Unmount everything at or under the tree $1, deepest first (what ran in
# it may have mounted a tmpfs of its own).
dt_unmount_all() {
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
