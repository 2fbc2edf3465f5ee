#!/bin/sh
# Installs the Debian packages the test suite needs: headless Chromium for the
# browser tests; PostgreSQL server binaries (initdb, pg_ctl), Caddy and wrk for
# the chaos and deployment suites (tests/reliability) and the benchmarks; valgrind for
# bench.query_instructions.
# Idempotent; needs root (or sudo) only when something is missing.
set -eu
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v caddy >/dev/null 2>&1 || missing="$missing caddy"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
echo "system-deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
