#!/usr/bin/env bash
# Installs the Debian 12 packages ringlan needs to build, test, demo and
# benchmark. Skips apt entirely when everything is already there.
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libsodium-dev libuv1-dev libminiupnpc-dev libnatpmp-dev liblmdb-dev
      libcmocka-dev iproute2 nftables conntrack iputils-ping jq
      miniupnpd-nftables miniupnpc natpmpc gnuplot-nox python3 procps)
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(iperf3 openvpn openssl)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # miniupnpd asks debconf questions and would start a service; keep it off.
  echo "miniupnpd miniupnpd/start_daemon boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
