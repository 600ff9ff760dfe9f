#!/usr/bin/env bash
# Distribution packages the test suite needs: tmux (end-to-end tests) and OpenSSH's server (the remote
# tests start their own sshd on the loopback address; the system service is never enabled or started).
# Installs only what is missing.
set -euo pipefail
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[deps] missing: ${missing[*]} — install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "[deps] installing ${missing[*]}"
apt-get update -qq
# policy-rc.d exit 101: Debian's maintainer scripts must not start (or enable) the ssh service here.
policy=/usr/sbin/policy-rc.d
placed=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && placed=1
fi
trap '[ "$placed" -eq 1 ] && rm -f "$policy"' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The package enables its boot-time service; gildash only ever runs sshd itself, from the tests.
if [[ " ${missing[*]} " == *" openssh-server "* ]] && command -v deb-systemd-helper >/dev/null 2>&1; then
  # (deb-systemd-helper acts only when it believes a package script called it.)
  DPKG_MAINTSCRIPT_PACKAGE=openssh-server deb-systemd-helper disable ssh.service >/dev/null 2>&1 || true
fi
