#!/bin/bash
# The real kernel's pod -> ClusterIP -> pod UDP path across two "nodes" (the baseline row of
# bench/datapath.bench.ts; adapted from the project's reference overlay anchor). Each node is a
# network namespace with a cni0 bridge and a pod namespace behind a veth; the nodes share a veth
# "underlay". Node 1 DNATs the ClusterIP 10.96.0.10:9000 to the far pod (as kube-proxy's
# KUBE-SVC/KUBE-SEP chains end), both nodes carry flannel's MASQUERADE rule (so conntrack runs
# on both, as in the emulator), and the overlay is either
#   udp:   a flannel0 TUN (MTU 1472) with a single-threaded userspace UDP forwarder (tunproxy)
#   vxlan: a kernel flannel.1 (VNI 1, port 8472, nolearning, static neigh + FDB, MTU 1450).
# The pod on node 1 sends COUNT 64-byte datagrams from one source port (one established flow)
# at RATE per second; the pod on node 2 counts them.
#
# Prints one line: result mode=M tx=N rx=N procs_us=N ksoftirqd_us=N load=L
#   procs_us: getrusage (user + system) of the sender, the receiver and the two forwarders, each
#             reported by the program itself at exit;
#   ksoftirqd_us: utime + stime of the ksoftirqd threads over the run (machine-wide, so an
#             upper bound: other processes' deferred softirqs count too).
# Namespaces are named bk<pid>* and always removed. Needs root, iproute2, iptables.
# Usage: kernel-overlay.sh MODE COUNT RATE BINDIR
set -u
MODE=$1 COUNT=$2 RATE=$3 BIN=$4
P=bk$$
N1=${P}n1 N2=${P}n2 P1=${P}p1 P2=${P}p2
PIDS=""
OUT=$(mktemp -d)
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in $P1 $P2 $N1 $N2; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
set -e
for ns in $N1 $N2 $P1 $P2; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add ${P}u1 netns $N1 type veth peer name ${P}u2 netns $N2
ip -n $N1 link set ${P}u1 name eth0; ip -n $N2 link set ${P}u2 name eth0
ip -n $N1 addr add 192.168.77.1/24 dev eth0; ip -n $N2 addr add 192.168.77.2/24 dev eth0
ip -n $N1 link set eth0 up; ip -n $N2 link set eth0 up
for i in 1 2; do
  n=${P}n$i p=${P}p$i
  ip -n "$n" link add cni0 type bridge; ip -n "$n" addr add 10.78.$i.1/24 dev cni0; ip -n "$n" link set cni0 up
  ip link add ${P}v$i netns "$n" type veth peer name ${P}e$i netns "$p"
  ip -n "$n" link set ${P}v$i master cni0; ip -n "$n" link set ${P}v$i up
  ip -n "$p" link set ${P}e$i name eth0; ip -n "$p" addr add 10.78.$i.2/24 dev eth0; ip -n "$p" link set eth0 up
  ip -n "$p" route add default via 10.78.$i.1
  ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$n" iptables -t nat -A POSTROUTING -s 10.78.$i.0/24 ! -d 10.78.0.0/16 -j MASQUERADE
done
ip netns exec $N1 iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p udp --dport 9000 -j DNAT --to-destination 10.78.2.2:9000
if [ "$MODE" = udp ]; then
  ip netns exec $N1 "$BIN/tunproxy" flannel0 8285 192.168.77.2 8285 600 >"$OUT/f1" 2>&1 & PIDS="$PIDS $!"
  ip netns exec $N2 "$BIN/tunproxy" flannel0 8285 192.168.77.1 8285 600 >"$OUT/f2" 2>&1 & PIDS="$PIDS $!"
  for i in 1 2; do
    n=${P}n$i
    for _ in $(seq 50); do ip -n "$n" link show flannel0 >/dev/null 2>&1 && break; sleep 0.1; done
    ip -n "$n" addr add 10.78.$i.0/16 dev flannel0; ip -n "$n" link set flannel0 mtu 1472 txqueuelen 20000; ip -n "$n" link set flannel0 up
  done
elif [ "$MODE" = vxlan ]; then
  for i in 1 2; do
    n=${P}n$i
    ip -n "$n" link add flannel.1 type vxlan id 1 local 192.168.77.$i dev eth0 dstport 8472 nolearning
    ip -n "$n" link set flannel.1 mtu 1450; ip -n "$n" addr add 10.78.$i.0/32 dev flannel.1; ip -n "$n" link set flannel.1 up
  done
  M1=$(ip -n $N1 link show flannel.1 | awk '/link\/ether/ {print $2}')
  M2=$(ip -n $N2 link show flannel.1 | awk '/link\/ether/ {print $2}')
  ip -n $N1 route add 10.78.2.0/24 via 10.78.2.0 dev flannel.1 onlink
  ip -n $N1 neigh add 10.78.2.0 lladdr "$M2" dev flannel.1 nud permanent
  ip netns exec $N1 bridge fdb append "$M2" dev flannel.1 dst 192.168.77.2
  ip -n $N2 route add 10.78.1.0/24 via 10.78.1.0 dev flannel.1 onlink
  ip -n $N2 neigh add 10.78.1.0 lladdr "$M1" dev flannel.1 nud permanent
  ip netns exec $N2 bridge fdb append "$M1" dev flannel.1 dst 192.168.77.1
else
  echo "unknown mode $MODE" >&2; exit 2
fi
ip netns exec $P2 "$BIN/udpsink" 9000 600 >"$OUT/sink" 2>&1 & SINK=$!; PIDS="$PIDS $SINK"
for _ in $(seq 50); do grep -q ready "$OUT/sink" 2>/dev/null && break; sleep 0.1; done
# Warm-up outside the count: neighbour entries and the flow's conntrack entry. The sink's
# count is reduced by it below; the forwarders' and the sink's CPU include it (WARM of COUNT).
WARM=100
ip netns exec $P1 "$BIN/udpblast" 10.96.0.10 9000 $WARM 10000 40000 >/dev/null
sleep 0.3
ksoft() { local t=0; for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do set -- $(cut -d')' -f2- "/proc/$p/stat"); t=$((t + ${12} + ${13})); done; echo $t; }
HZ=$(getconf CLK_TCK)
K0=$(ksoft)
ip netns exec $P1 "$BIN/udpblast" 10.96.0.10 9000 "$COUNT" "$RATE" 40000 >"$OUT/send"
sleep 0.5
K1=$(ksoft)
for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=""
cat "$OUT"/f1 "$OUT"/f2 "$OUT"/sink "$OUT"/send 2>/dev/null | grep cpu_us= >&2 || true
RX=$(awk -F'rx=' '/^sink/ {split($2, a, " "); print a[1] - w}' w=$WARM "$OUT/sink")
TX=$(awk -F'tx=' '/^sender/ {split($2, a, " "); print a[1]}' "$OUT/send")
CPU=$(cat "$OUT"/f1 "$OUT"/f2 "$OUT"/sink "$OUT"/send 2>/dev/null | awk -F'cpu_us=' '/cpu_us=/ {s += $2} END {print s + 0}')
echo "result mode=$MODE tx=$TX rx=$RX procs_us=$CPU ksoftirqd_us=$(( (K1 - K0) * 1000000 / HZ )) load=$(cut -d' ' -f1 /proc/loadavg)"
