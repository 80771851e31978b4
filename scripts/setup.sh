#!/usr/bin/env bash
# Installs what AxTract's demo and tests need on a Debian or Ubuntu machine:
# the PostgreSQL server binaries (AxTract starts a private cluster from them
# when no server responds), OpenSSH's sshd for SFTP, GnuPG, zstd, the
# pgaudit extension and Chromium, which the portal's browser tests drive
# headless. It installs only what is missing, and on other systems prints
# what to install instead.
set -euo pipefail

need=()
have_pg_server() {
  command -v initdb >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 ||
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}
have_pg_server || need+=(postgresql postgresql-contrib)
[ -x /usr/sbin/sshd ] || command -v sshd >/dev/null 2>&1 || need+=(openssh-server)
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
# The portal's browser tests (internal/web) look for /usr/bin/chromium first.
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || need+=(chromium)
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  for dir in /usr/lib/postgresql/*/; do
    v=$(basename "$dir")
    [ -f "/usr/share/postgresql/$v/extension/pgaudit.control" ] || need+=("postgresql-$v-pgaudit")
  done
fi

[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit 0
fi

echo "setup: missing packages: ${need[*]}" >&2
echo "setup: install them with your package manager (Debian and Ubuntu: sudo apt-get install ${need[*]}), then run make again" >&2
exit 1
