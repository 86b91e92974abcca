#!/usr/bin/env bash
# The Debian packages the test suite drives: Chromium (console browser tests, via playwright-core, which downloads
# no browser), pgbouncer (pooler tests) and openssl (the TLS test makes a private CA). Installs only what is
# missing, so a machine that has them pays nothing. Needs root (or sudo) and Debian's package index.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed from Debian: ${missing[*]}"
