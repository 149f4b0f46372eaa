#!/bin/sh
# SPDX-License-Identifier: ISC
# Start Empath in the foreground from a build tree, unprivileged, on the
# developer configuration (SMTP on 127.0.0.1:2525, spool in ./run/spool,
# control socket ./run/control.sock, logs on the terminal). Used by
# `make run`.
#   usage: sh scripts/run-dev.sh [BUILD]
set -eu

BUILD=${1:-build}
cd "$(dirname "$0")/.."
MASTER="$BUILD/empath-master"
CONF=etc/empath.dev.conf
if ! [ -x "$MASTER" ]; then
	echo "run-dev: $MASTER is not built (try: make BUILD=$BUILD all)" >&2
	exit 1
fi
mkdir -p run/spool
chmod 700 run/spool
echo "run-dev: SMTP on 127.0.0.1:2525, control socket run/control.sock; Ctrl-C stops" >&2

if [ "$(id -u)" -ne 0 ]; then
	exec "$MASTER" -d -f "$CONF"
fi

# As root the master would drop the daemons' privileges to the configured
# user (_empath by default), which a development machine usually lacks.
# A developer run is meant to be unprivileged: run it all as nobody.
if ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null 2>&1; then
	echo "run-dev: running as root needs the user nobody and setpriv(1); run as an ordinary user" >&2
	exit 1
fi
AS_NOBODY="setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --clear-groups"
# shellcheck disable=SC2086 # AS_NOBODY is a command line
if ! $AS_NOBODY test -x "$MASTER" || ! $AS_NOBODY test -r "$CONF"; then
	echo "run-dev: nobody cannot reach $(pwd)/$MASTER (is the tree under /root?); run as an ordinary user" >&2
	exit 1
fi
chown -R nobody run
echo "run-dev: started as root: running as nobody" >&2
# shellcheck disable=SC2086
exec $AS_NOBODY "$MASTER" -d -f "$CONF"
