#!/bin/sh
# Start Empath in the foreground from a build tree, unprivileged, on the
# developer configuration (SMTP on 127.0.0.1:2525, spool in ./run/spool,
# control socket ./run/control.sock). Used by `make run`.
set -eu

BUILD=${1:-build}
cd "$(dirname "$0")/.."
if ! [ -x "$BUILD/empath-master" ]; then
	echo "run-dev: $BUILD/empath-master not built (try: make BUILD=$BUILD all)" >&2
	exit 1
fi
mkdir -p run/spool
chmod 700 run/spool
echo "run-dev: SMTP on 127.0.0.1:2525, control socket run/control.sock; Ctrl-C stops" >&2
exec "$BUILD/empath-master" -d -f etc/empath.dev.conf
