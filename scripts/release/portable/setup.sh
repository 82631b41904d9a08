#!/bin/sh
# Reach client setup from the portable archive: config directory, key pair, and the line to run on
# the server to authorize this machine. Safe to run again: an existing config and key are kept.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
reach="$here/reach"

"$reach" --init
if "$reach" --show-key >/dev/null 2>&1; then
  echo "A key already exists (kept)."
else
  "$reach" --generate-key >/dev/null
fi
pub=$("$reach" --show-key 2>/dev/null)
echo
echo "Public key:"
echo "  $pub"
echo
echo "On the server, authorize this machine:"
echo "  reach-server authorize '$pub'"
echo
echo "Then connect:"
echo "  $here/run.sh -s your-server.example.com -p 2222"

# Offer a per-user service when asked interactively and systemd --user is there.
if [ -t 0 ] && command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment >/dev/null 2>&1; then
  printf 'Install a systemd --user service that keeps the client connected? Server host (empty to skip): '
  read -r host
  if [ -n "$host" ]; then
    printf 'Server SSH port [2222]: '
    read -r port
    unit="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/reach.service"
    mkdir -p "$(dirname "$unit")"
    cat >"$unit" <<UNIT
[Unit]
Description=Reach client
After=network-online.target

[Service]
ExecStart=$reach -s $host -p ${port:-2222}
Restart=always
RestartSec=5

[Install]
WantedBy=default.target
UNIT
    systemctl --user daemon-reload
    systemctl --user enable --now reach.service
    echo "Installed $unit (systemctl --user status reach)"
  fi
fi
