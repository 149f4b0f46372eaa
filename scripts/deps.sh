#!/bin/sh
# SPDX-License-Identifier: ISC
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
# Interoperability tests (tests/interop): Debian's postfix, which the tests
# run as instances of their own in temporary directories. It is installed
# without a configuration and without starting the system service (below).
# Installing it removes any other MTA package (they all provide
# mail-transport-agent): fine on a CI or test machine, not on a mail server.
PKGS="$PKGS postfix"
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

case " $missing " in
*" postfix "*)
	# "No configuration": no /etc/postfix/main.cf, no system mail service.
	echo 'postfix postfix/main_mailer_type select No configuration' |
	    $SUDO debconf-set-selections
	# Forbid starting services during the install (exit 101, see
	# invoke-rc.d(8)), with a policy-rc.d of our own that goes away
	# afterwards; one that was there before is left alone.
	if ! [ -e /usr/sbin/policy-rc.d ]; then
		policy=ours
		trap '[ "$policy" != ours ] || $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
		trap 'exit 1' INT TERM
		printf '#!/bin/sh\n# written by scripts/deps.sh during apt-get install\nexit 101\n' |
		    $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod 755 /usr/sbin/policy-rc.d
	fi
	;;
esac
# shellcheck disable=SC2086 # word splitting of the package list is wanted
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends $missing </dev/null
if [ "${policy:-}" = ours ]; then
	$SUDO rm -f /usr/sbin/policy-rc.d
	policy=removed
fi
