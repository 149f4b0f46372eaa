#!/bin/sh
# Install the Debian packages Empath needs to build and test, but only
# those that are missing. Safe to run unattended (no stdin, CI=true): when
# everything is present it prints one line and touches nothing.
set -eu

# Build: compiler and make, pkg-config, bison (lib/parse.y) and the
# libraries the daemons link (libseccomp for the system call filters,
# libidn2 for internationalised domain names).
PKGS="build-essential pkg-config bison libbsd-dev libssl-dev libldns-dev libsqlite3-dev libseccomp-dev libidn2-dev"
# Tests: check (unit tests); python3 (e2e suite; its ssl and sqlite3
# modules are in the standard library package); openssl (test
# certificates); swaks and, for its --tls, Net::SSLeay (only recommended by
# swaks, so --no-install-recommends would leave it out); ldns-testns from
# ldnsutils (the tests' DNS server); mount (a small tmpfs spool).
PKGS="$PKGS check python3 openssl swaks libnet-ssleay-perl ldnsutils mount"
# Documentation: mandoc, to read and lint man/*.5 and man/*.8 (mandoc -Tlint).
PKGS="$PKGS mandoc"

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: dpkg-query not found (not Debian?); install by hand: $PKGS" >&2
	exit 0
fi

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all build and test dependencies are installed"
	exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: not root and no sudo; install as root:$missing" >&2
	exit 1
fi

# Without a terminal, apt must never prompt and sudo must fail rather than
# wait for a password nobody can type (-n).
if [ -n "$SUDO" ] && ! [ -t 0 ]; then
	SUDO="sudo -n"
fi
$SUDO apt-get update </dev/null
# shellcheck disable=SC2086 # word splitting of the package list is wanted
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends $missing </dev/null
