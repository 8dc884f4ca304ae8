# shellcheck shell=bash
# The NAT test bed: a small internet in network namespaces (docs/nat.md).
# Source it after lib.sh (it uses t_ns, t_attach, t_veth, T_PIDS, cleanup):
#
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/natlab.sh"
#   t_init my_test
#   nl_core                                  # core router + bridge
#   nl_public pub 192.0.2.10                 # (e) a public host, no NAT
#   nl_site fc fullcone 198.51.100.11 11     # (a) full cone
#   nl_site pr prc      198.51.100.12 12     # (b) port-restricted cone
#   nl_site sy sym      198.51.100.13 13     # (c) symmetric
#   nl_site up upnp     203.0.113.14 14      # (d) miniupnpd (UPnP IGD + NAT-PMP)
#   nl_site bl blocked  203.0.113.17 17      # (f) no UDP at all (TCP only)
#   nl_selfcheck fc pr sy up pub bl          # probes verify each class
#
#                 core: bridge, 192.0.2.1 198.51.100.1 203.0.113.1 (routes)
#    +-----------+------------+-----------+------------+--------------+
#   pub         fcr          prr         syr          upr            stun, e1, e2, tp
#   192.0.2.10  198.51.100.11 ...        ...          203.0.113.14   (public helpers)
#   (no NAT)     | 192.168.11.1           | masquerade   | miniupnpd
#               fc 192.168.11.2          sy fully-random up 192.168.14.2
#
# Every public address is a /32 with an on-link route to the core and a
# default route through it, so site-to-site traffic crosses one routed hop
# as on the internet. A site NAME is two namespaces: router NAMEr (WAN on the
# core bridge, LAN 192.168.X.1/24) and host NAME (192.168.X.2, default route
# via the router). Members run in the host namespace NAME.
#
# NAT classes (RFC 4787), all on the router with nftables:
#   fullcone  endpoint-independent mapping and filtering: masquerade plus a
#             dynamic map (external port -> internal address.port) filled from
#             SNAT'ed flows and used to DNAT inbound UDP
#   prc       port-restricted cone: masquerade, forward only replies
#   sym       symmetric: masquerade fully-random (a new port per destination)
#   upnp      like prc, plus Debian's miniupnpd (UPnP IGD + NAT-PMP) adding
#             DNAT/forward rules on request; it learns (and trusts) its WAN
#             address from the STUN responder in the core (nl_stun)
#   blocked   like prc for TCP, and every UDP datagram to or from the WAN is
#             dropped (a campus or corporate firewall that passes only TCP):
#             members there need a TCP transport (issue 9, item 5)
#
# Everything stays inside namespaces created by this run (prefix T_P); the
# processes started here are tracked in T_PIDS and stopped by lib.sh's trap.

NL_TOOLS=${NL_TOOLS:-$RL_BUILD}
NL_STUN_IP1=203.0.113.250 NL_STUN_IP2=203.0.113.251 NL_STUN_PORT1=3478 NL_STUN_PORT2=3479
NL_E1=192.0.2.250 NL_E2=198.51.100.250 NL_TP=203.0.113.249 NL_ECHO_PORT=7000
declare -A NL_KIND=()   # site -> fullcone|prc|sym|upnp|blocked|none
declare -A NL_WAN=()    # site -> public address (router WAN, or the host itself)
declare -A NL_HOST=()   # site -> the host's own address
# shellcheck disable=SC2034  # for the tests that source this file
declare -A NL_UPNPD_LOG=() NL_UPNPD_PID=()
NL_CORE_UP=0 NL_HELPERS_UP=0

nl_need_tools() {
  local t
  t_need nft
  for t in stun_responder udp_probe; do
    [ -x "$NL_TOOLS/$t" ] || { echo "missing $NL_TOOLS/$t (cmake --build build --target $t)" >&2; exit 1; }
  done
}

# nl_sysctl NS KEY VALUE: sets KEY (dotted) inside namespace NS through
# /proc/sys (no dependency on procps' sysctl).
nl_sysctl() {
  t_in "$1" sh -c "echo $3 > /proc/sys/$(printf '%s' "$2" | tr . /)" || t_fail "sysctl $2 in $1"
}

# The core's own address in the /24 of a public address.
nl_gw_for() { printf '%s.1' "${1%.*}"; }

# nl_core: the core namespace with the bridge and one address per /24.
nl_core() {
  nl_need_tools
  t_ns core
  t_bridge core br
  local br=$T_P"br" a
  # A fixed MAC: a bridge otherwise takes the lowest MAC of its ports, so
  # attaching a host later can change it and leave every neighbour with a
  # stale ARP entry for the core (seconds of silent loss).
  ip -n "$(t_nsname core)" link set "$br" address 02:00:5e:00:53:01
  for a in 192.0.2.1/24 198.51.100.1/24 203.0.113.1/24; do
    ip -n "$(t_nsname core)" addr add "$a" dev "$br"
  done
  nl_sysctl core "net.ipv4.ip_forward" 1
  # hosts share one segment but must talk through the router: no redirects
  nl_sysctl core "net.ipv4.conf.all.send_redirects" 0
  nl_sysctl core "net.ipv4.conf.$br.send_redirects" 0
  NL_CORE_UP=1
}

# nl_wan NS IP...: attaches namespace NS to the core with IP/32 (more IPs on
# the same interface) and routes everything through the core. Sets NL_IF.
nl_wan() {
  local n=$1 ip=$2 gw; shift 2
  t_attach core br "$n" "$ip/32"
  NL_IF=$T_IF
  local extra
  for extra in "$@"; do ip -n "$(t_nsname "$n")" addr add "$extra/32" dev "$NL_IF"; done
  gw=$(nl_gw_for "$ip")
  t_in "$n" ip route add "$gw" dev "$NL_IF"
  t_in "$n" ip route add default via "$gw" dev "$NL_IF" onlink
}

# nl_public NAME IP: (e) a host with a public address, no NAT.
nl_public() {
  t_ns "$1"
  nl_wan "$1" "$2"
  NL_KIND[$1]=none NL_WAN[$1]=$2 NL_HOST[$1]=$2
}

# nl_site NAME KIND WAN_IP X: router NAMEr with WAN_IP, host NAME at
# 192.168.X.2 behind it. KIND: fullcone | prc | sym | upnp | blocked.
nl_site() {
  local s=$1 kind=$2 wan=$3 r="${1}r" wif lif lan="192.168.$4"
  [ "$NL_CORE_UP" = 1 ] || t_fail "nl_site: call nl_core first"
  t_ns "$r"; t_ns "$s"
  nl_wan "$r" "$wan"; wif=$NL_IF
  t_veth "$r" "$lan.1/24" "$s" "$lan.2/24"; lif=$T_IF1
  t_in "$s" ip route add default via "$lan.1"
  nl_sysctl "$r" "net.ipv4.ip_forward" 1
  NL_KIND[$s]=$kind NL_WAN[$s]=$wan NL_HOST[$s]=$lan.2
  case $kind in
  prc | sym)
    local masq=masquerade; [ "$kind" = sym ] && masq="masquerade fully-random"
    t_home_router_nft "$r" "$wif" "$lif" "$lan" "$masq"
    ;;
  blocked)
    # A home router for TCP; before its rules (lower priority number), no
    # UDP crosses the WAN in either direction, forwarded or the router's own.
    t_home_router_nft "$r" "$wif" "$lif" "$lan" masquerade
    t_in "$r" nft -f - <<NFT || t_fail "nftables (UDP blocked) in $(t_nsname "$r")"
table ip udpblock {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    iifname "$wif" meta l4proto udp drop
    oifname "$wif" meta l4proto udp drop
  }
  chain input { type filter hook input priority filter - 10; policy accept; iifname "$wif" meta l4proto udp drop; }
  chain output { type filter hook output priority filter - 10; policy accept; oifname "$wif" meta l4proto udp drop; }
}
NFT
    ;;
  fullcone)
    # The map remembers, for every SNAT'ed UDP flow, external port ->
    # internal address.port; inbound UDP to that port from anyone is DNAT'ed
    # back (endpoint-independent filtering). The filter chain runs after
    # srcnat, when the reply tuple holds the external port.
    t_in "$r" nft -f - <<NFT || t_fail "nftables (full cone) in $(t_nsname "$r")"
table ip nat {
  map fc { type inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout 300s; }
  chain prerouting {
    type nat hook prerouting priority dstnat;
    iifname "$wif" meta l4proto udp dnat ip addr . port to udp dport map @fc
  }
  chain postrouting { type nat hook postrouting priority srcnat; oifname "$wif" ip saddr $lan.0/24 masquerade; }
  chain track {
    type filter hook postrouting priority srcnat + 10;
    oifname "$wif" meta l4proto udp ct status snat update @fc { ct reply proto-dst : ct original ip saddr . ct original proto-src }
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct status dnat accept
    iifname "$lif" oifname "$wif" accept
  }
  # Like a home router: nothing unsolicited reaches the router itself.
  # (Accepting it lets a peer's early punch create a conntrack entry that
  # gives our own outgoing flow a different port: see ../shared/nat notes.)
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "$lif" accept
  }
}
NFT
    ;;
  upnp)
    # The structure Debian's miniupnpd (nftables backend) expects
    # (/etc/miniupnpd/nft_init.sh: table inet filter, chains miniupnpd,
    # prerouting_miniupnpd, postrouting_miniupnpd), plus our port-restricted
    # masquerade.
    t_in "$r" nft -f - <<NFT || t_fail "nftables (miniupnpd) in $(t_nsname "$r")"
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "$lif" oifname "$wif" accept
    jump miniupnpd
  }
  chain miniupnpd { }
  # (No input policy here: miniupnpd's STUN check needs answers from a
  # changed address and port, which a strict home-router policy drops.)
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "$wif" ip saddr $lan.0/24 masquerade
  }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
NFT
    nl_stun
    nl_miniupnpd "$s" "$wif" "$lif" "$lan"
    ;;
  *) t_fail "nl_site: unknown kind $kind" ;;
  esac
}

# nl_bg NS LOG CMD...: runs CMD in namespace NS in the background (tracked).
nl_bg() {
  local n=$1 log=$2; shift 2
  ip netns exec "$(t_nsname "$n")" "$@" >"$log" 2>&1 </dev/null &
  T_PIDS+=("$!")
  NL_PID=$!
}

# nl_stun: the STUN responder (two addresses, two ports) in namespace stun.
nl_stun() {
  [ -z "${NL_STUN_UP:-}" ] || return 0
  t_ns stun
  nl_wan stun "$NL_STUN_IP1" "$NL_STUN_IP2"
  nl_bg stun "$T_DIR/stun.log" "$NL_TOOLS/stun_responder" "$NL_STUN_IP1" "$NL_STUN_IP2" \
    "$NL_STUN_PORT1" "$NL_STUN_PORT2" 1800
  wait_until 5 grep -q ready "$T_DIR/stun.log" || t_fail "STUN responder did not start: $(cat "$T_DIR/stun.log")"
  NL_STUN_UP=1
}

# nl_miniupnpd SITE WAN_IF LAN_IF LAN24: miniupnpd in the foreground in the
# router namespace, listening on the LAN interface only.
nl_miniupnpd() {
  local s=$1 wif=$2 lif=$3 lan=$4 r="${1}r" conf log uuid
  conf=$T_DIR/$r.miniupnpd.conf log=$T_DIR/$r.miniupnpd.log
  uuid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n' |
         sed 's/\(........\)\(....\)\(....\)\(....\)\(............\)/\1-\2-\3-\4-\5/')
  cat >"$conf" <<CONF
ext_ifname=$wif
listening_ip=$lif
port=0
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=no
notify_interval=60
clean_ruleset_interval=600
uuid=$uuid
ext_perform_stun=yes
ext_stun_host=$NL_STUN_IP1
ext_stun_port=$NL_STUN_PORT1
allow 1024-65535 $lan.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
  nl_bg "$r" "$log" miniupnpd -d -f "$conf" -P "$T_DIR/$r.miniupnpd.pid"
  # shellcheck disable=SC2034  # results for the caller (e.g. kill -STOP)
  NL_UPNPD_LOG[$s]=$log NL_UPNPD_PID[$s]=$NL_PID
  wait_until 15 grep -q "Listening for NAT-PMP" "$log" ||
    { tail -n 30 "$log" >&2; t_fail "miniupnpd in $(t_nsname "$r") did not start"; }
  t_log "miniupnpd in $(t_nsname "$r") (pid $NL_PID) listening on $lif"
}

# nl_upnp_list SITE: the UDP port mappings miniupnpd holds (its nft chain).
nl_upnp_rules() { t_in "${1}r" nft list chain inet filter prerouting_miniupnpd 2>/dev/null; }

# ------------------------------------------------------------------ self-check
# nl_helpers: two echo servers (e1, e2) and a third host (tp) in the core.
nl_helpers() {
  [ "$NL_HELPERS_UP" = 1 ] && return 0
  local h ip
  for h in e1 e2; do
    ip=$NL_E1; [ $h = e2 ] && ip=$NL_E2
    t_ns $h; nl_wan $h "$ip"
    nl_bg $h "$T_DIR/$h.log" "$NL_TOOLS/udp_probe" serve "$ip" "$NL_ECHO_PORT" 1800
    wait_until 5 grep -q ready "$T_DIR/$h.log" || t_fail "echo server $h did not start"
  done
  t_ns tp; nl_wan tp "$NL_TP"
  NL_HELPERS_UP=1
}

# nl_classify SITE LPORT: probes from SITE's host; sets NL_CLASS to what the
# probes saw (none | fullcone | prc | sym | blocked, or broken:WHY). Call
# nl_helpers first.
#  - no UDP answer from either server: blocked if TCP to e1 passes (and
#    e1 sees the site's WAN address), else broken
#  - reflexive address seen by e1 and by e2 (same port: endpoint-independent
#    mapping; different: symmetric; equal to the host's own: no NAT)
#  - an unsolicited datagram from tp and one from e1's other port to the
#    reflexive address (arrives: endpoint-independent filtering)
nl_classify() {
  local s=$1 lport=$2 out r1 r2 third other f
  f=$T_DIR/probe.$s.$lport
  # a long hold (the machine may be loaded); stopped once the answers are in
  nl_bg "$s" "$f" "$NL_TOOLS/udp_probe" ask "$lport" 8000 "$NL_E1:$NL_ECHO_PORT" "$NL_E2:$NL_ECHO_PORT"
  local pid=$NL_PID
  wait_until 6 nl_lines_ge "$f" 2 || true
  r1=$(awk -v d="$NL_E1:$NL_ECHO_PORT" '$1 == "reflexive" && $2 == d {print $3}' "$f")
  r2=$(awk -v d="$NL_E2:$NL_ECHO_PORT" '$1 == "reflexive" && $2 == d {print $3}' "$f")
  if [ -n "$r1" ]; then
    t_in tp "$NL_TOOLS/udp_probe" send 0 "$r1" third || true
    t_in e1 "$NL_TOOLS/udp_probe" send $((NL_ECHO_PORT + 1)) "$r1" otherport || true
    # both arrive within microseconds when they pass at all; 2 s covers a
    # slow scheduler, and is what a filtering NAT costs us
    wait_until 2 nl_both_unsolicited "$f" || true
  fi
  t_stop_pid "$pid"
  third=no other=no
  grep -q '^unsolicited .* third$' "$f" && third=yes
  grep -q '^unsolicited .* otherport$' "$f" && other=yes
  if [ -z "$r1" ] && [ -z "$r2" ]; then
    local tr
    tr=$(t_in "$s" "$NL_TOOLS/udp_probe" tcpask "$NL_E1:$NL_ECHO_PORT" | awk '$1 == "tcp-reflexive" {print $3}' || true)
    out="broken:no-udp-no-tcp"
    [ -z "$tr" ] || out="broken:tcp-reflexive-$tr"
    [ "${tr%:*}" != "${NL_WAN[$s]}" ] || out=blocked
    t_log "probe $s: no UDP answer; over TCP e1 saw ${tr:-nothing}"
  elif [ -z "$r1" ] || [ -z "$r2" ]; then out="broken:no-reflexive"
  elif [ "$r1" = "${NL_HOST[$s]}:$lport" ] && [ "$r2" = "$r1" ]; then
    out=none; [ $third = yes ] || out="broken:public-host-filters"
  elif [ "${r1%:*}" != "${NL_WAN[$s]}" ] || [ "${r2%:*}" != "${NL_WAN[$s]}" ]; then
    out="broken:reflexive-ip-$r1-$r2"
  elif [ "${r1#*:}" != "${r2#*:}" ]; then
    out=sym; [ $third = no ] || out="broken:symmetric-but-open"
  elif [ $third = yes ] && [ $other = yes ]; then out=fullcone
  elif [ $third = no ] && [ $other = no ]; then out=prc
  else out="broken:third=$third,otherport=$other"
  fi
  NL_CLASS=$out
  t_log "probe $s: e1 saw $r1, e2 saw $r2, unsolicited from tp: $third, from e1's other port: $other -> $out"
}

nl_both_unsolicited() { grep -q '^unsolicited .* third$' "$1" && grep -q '^unsolicited .* otherport$' "$1"; }

# nl_lines_ge FILE N: FILE has at least N answer lines (reflexive/timeout).
nl_lines_ge() { [ "$(grep -c '^reflexive\|^timeout' "$1" 2>/dev/null)" -ge "$2" ]; }

# nl_sites_standard: the test sites on the core, checked: public pub, full
# cone fc, two port-restricted cones pr and pr2 (two ordinary home routers
# without port mapping), two symmetric NATs sy and sy2, miniupnpd up, and bl
# that blocks UDP.
nl_sites_standard() {
  nl_public pub 192.0.2.10
  nl_site fc fullcone 198.51.100.11 11
  nl_site pr prc 198.51.100.12 12
  nl_site sy sym 198.51.100.13 13
  nl_site up upnp 203.0.113.14 14
  nl_site pr2 prc 198.51.100.15 15
  nl_site sy2 sym 198.51.100.16 16
  nl_site bl blocked 203.0.113.17 17
  nl_selfcheck pub fc pr sy up pr2 sy2 bl
}

# nl_selfcheck SITE...: every site must behave as the class it was built as
# (upnp sites filter like prc). Fails the test otherwise.
nl_selfcheck() {
  local s want got port=40100
  nl_helpers
  for s in "$@"; do
    want=${NL_KIND[$s]}; [ "$want" = upnp ] && want=prc
    nl_classify "$s" $port; got=$NL_CLASS
    port=$((port + 1))
    [ "$got" = "$want" ] || t_fail "test bed self-check: site $s built as ${NL_KIND[$s]} behaves as $got"
  done
  t_log "self-check: $* behave as built"
}
