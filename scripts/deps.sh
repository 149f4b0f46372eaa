#!/bin/sh
# Install the Debian packages Empath needs to build and test, but only
# those that are missing. Safe to run unattended (no stdin, CI=true): when
# everything is present it prints one line and touches nothing.
set -eu

PKGS="build-essential pkg-config bison libbsd-dev libssl-dev libldns-dev libsqlite3-dev check python3 swaks ldnsutils mandoc openssl"

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
