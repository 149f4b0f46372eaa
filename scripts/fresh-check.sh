#!/bin/sh
# SPDX-License-Identifier: ISC
# Run the README's test command (`make check`) on a clean Debian 12 tree,
# as CI would on a new machine: nothing installed by hand on this host can
# hide a missing step in scripts/deps.sh.
#
#   usage: sh scripts/fresh-check.sh [-k] [-r] [-j N] [-s SHARED] [REPO [REF]]
#
#   REPO  path or URL of the repository (default: the one holding this
#         script); REF a commit, branch or tag of it (default: HEAD, that is
#         the committed HEAD: uncommitted changes are not tested)
#   -k    keep the tree afterwards (for debugging; its path is printed)
#   -r    rebuild the cached base system instead of reusing it
#   -j N  run `make -jN check` instead of `make check` (faster)
#   -s    the directory copied as ../shared beside the clone (default:
#         REPO/../shared, else /work/shared; CI has one there)
#
# Phases: a minimal Debian 12 base (debootstrap --variant=minbase from the
# Debian archive, cached as a tarball under $FRESH_CACHE, default
# /var/tmp/empath-fresh, rebuilt after $FRESH_MAX_AGE days, default 7);
# a fresh copy of it for every run; a clone of REPO at REF into it (cloned
# from this host: the base has no git, and make check must not need it);
# then, as root in a chroot with /proc, /sys, /dev and /dev/pts mounted,
# `sh scripts/deps.sh && make check` (apt-get from the Debian archive; the
# new machine has no make, so deps.sh comes first, as in .ci/run). The mounts live in a private mount
# namespace and are also unmounted by a trap, so nothing is left mounted
# on this host even when a step fails. Needs root, debootstrap, git and
# unshare (util-linux).
#
# Prints the time of each phase and make check's last line, `check: ...`,
# and exits with make check's status (2 when a setup step failed).
set -eu

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
# The base tree and the mounts, shared with scripts/package-check.sh.
. "$(dirname "$self")/debian-tree.sh"
# Where the project sits inside the tree; ../shared goes beside it.
SRC=/build/empath

say() { printf 'fresh-check: %s\n' "$*"; }
die() { printf 'fresh-check: %s\n' "$*" >&2; exit 2; }
now() { date +%s; }
phase_end() { # NAME START: print how long a phase took
	say "phase $1: $(($(now) - $2)) s"
}

# ---------------------------------------------------------------------------
# Inside a private mount namespace (started below by the outer part): mount,
# chroot, run make check. Every mount made here disappears with the
# namespace; the trap still unmounts them, innermost first, so a kept tree
# is left with nothing mounted.
inner() {
	tree=$1
	shift
	unmount_all() { dt_unmount_all "$tree"; }
	trap unmount_all EXIT
	trap 'exit 130' INT TERM HUP
	set -e
	dt_mount "$tree"

	out=$tree/root/check.log
	rcf=$tree/root/check.rc
	mark=$tree/root/check.marks
	: >"$mark"
	set +e
	# As CI runs it: root, no terminal, CI=true, a clean environment.
	{
		chroot "$tree" /usr/bin/env -i PATH="$PATH_IN" HOME=/root \
		    LANG=C.UTF-8 TERM=dumb CI=true \
		    sh -c "cd $SRC && $1" \
		    </dev/null 2>&1
		echo $? >"$rcf"
	} | while IFS= read -r line; do
		printf '%s\n' "$line"
		printf '%s\n' "$line" >>"$out"
		# The start of each part of make check, to time it.
		case $line in
		"deps: "*) echo "deps $(now)" >>"$mark" ;;
		"make"*"all unit"*) echo "build $(now)" >>"$mark" ;;
		"== unit tests"*) echo "unit $(now)" >>"$mark" ;;
		"== end-to-end tests"*) echo "e2e $(now)" >>"$mark" ;;
		"check: "*) echo "end $(now)" >>"$mark" ;;
		esac
	done
	rc=$(cat "$rcf" 2>/dev/null || echo 2)
	unmount_all
	trap - EXIT
	return "$rc"
}

if [ "${1:-}" = "--inner" ]; then
	shift
	set +e
	inner "$@"
	exit $?
fi

# ---------------------------------------------------------------------------
keep=0
refresh=0
jobs=""
shared=""
while getopts krj:s: opt; do
	case $opt in
	k) keep=1 ;;
	r) refresh=1 ;;
	j) jobs=$OPTARG ;;
	s) shared=$OPTARG ;;
	*) die "usage: sh scripts/fresh-check.sh [-k] [-r] [-j N] [-s SHARED] [REPO [REF]]" ;;
	esac
done
shift $((OPTIND - 1))

repo=${1:-$(git -C "$(dirname "$self")" rev-parse --show-toplevel)}
ref=${2:-HEAD}
# The README's test command. A new machine has no make yet: deps.sh first,
# as .ci/run does (make check runs it again and finds everything there).
case $jobs in
"") makecmd="sh scripts/deps.sh && make check" ;;
*[!0-9]* | 0) die "-j wants a positive number" ;;
*) makecmd="sh scripts/deps.sh && make -j$jobs check" ;;
esac
# A local repository by absolute path (the clone's remote means nothing
# inside the tree, but a relative path would be resolved from elsewhere).
if [ -d "$repo" ]; then
	repo=$(cd "$repo" && pwd)
fi
if [ -z "$shared" ]; then
	if [ -d "$repo" ] && [ -d "$repo/../shared" ]; then
		shared=$repo/../shared
	elif [ -d /work/shared ]; then
		shared=/work/shared
	fi
fi

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot)"
for c in debootstrap git unshare tar; do
	command -v "$c" >/dev/null 2>&1 ||
	    die "$c not found (apt-get install debootstrap git util-linux tar)"
done

t0=$(now)

# --- phase: base system ----------------------------------------------------
tree=""
cleanup() {
	rc=$?
	trap - EXIT # the exit below must not run this again
	if [ -n "$tree" ]; then
		dt_cleanup_tmp
		dt_kill_procs "$tree" || true
		if [ "$keep" -eq 1 ] && ! dt_mounted "$tree"; then
			say "tree kept: $tree (chroot $tree; the project is in $SRC)"
		else
			dt_remove_tree "$tree" "$keep"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
dt_make_tree "$refresh"

# --- phase: clone -----------------------------------------------------------
ts=$(now)
dest=$tree$SRC
mkdir -p "$(dirname "$dest")"
git clone -q --no-checkout "$repo" "$dest" || die "cannot clone $repo"
git -C "$dest" fetch -q origin "$ref" || die "no $ref in $repo"
git -C "$dest" checkout -q --detach FETCH_HEAD
commit=$(git -C "$dest" rev-parse HEAD)
say "clone: $repo $ref = $commit"
if [ -n "$shared" ]; then
	[ -d "$shared" ] || die "no directory $shared"
	# As CI lays it: a copy, without write bits.
	cp -a "$shared" "$(dirname "$dest")/shared"
	chmod -R a-w "$(dirname "$dest")/shared"
	say "clone: ../shared from $shared"
else
	say "clone: no shared directory found; ../shared left out" >&2
fi
phase_end clone "$ts"

# --- phase: make check in the chroot ---------------------------------------
ts=$(now)
say "run: $makecmd in $SRC (chroot $tree)"
set +e
# Without a mount namespace, the inner part mounts in this one; its trap
# unmounts.
dt_in_mount_ns sh "$self" --inner "$tree" "$makecmd"
rc=$?
set -e
te=$(now)

# Parts of make check, from the marks the inner part wrote.
marks=$tree/root/check.marks
at() { sed -n "s/^$1 //p" "$marks" 2>/dev/null | head -n 1; }
d=$(at deps)
b=$(at build)
u=$(at unit)
e=$(at e2e)
z=$(at end)
[ -n "$z" ] || z=$te
if [ -n "$d" ] && [ -n "$b" ]; then
	say "phase deps (apt-get update and install): $((b - d)) s"
fi
if [ -n "$b" ] && [ -n "$u" ]; then
	say "phase build: $((u - b)) s"
fi
if [ -n "$u" ] && [ -n "$e" ]; then
	say "phase unit tests: $((e - u)) s"
fi
if [ -n "$e" ]; then
	say "phase end-to-end tests: $((z - e)) s"
fi
phase_end "chroot (deps.sh, make check)" "$ts"
say "total: $(($(now) - t0)) s, commit $commit"
last=$(grep '^check: ' "$tree/root/check.log" 2>/dev/null | tail -n 1)
echo "${last:-check: (no summary line: make check stopped early, status $rc)}"
exit "$rc"
