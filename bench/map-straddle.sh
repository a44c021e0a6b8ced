#!/bin/bash
# The straddle behind the replace test's lost connections (docs/nftlb.md, "The cause"), without
# nftlb or kube-nftlb: two namespaces, new UDP flows (a fresh source port each) through a
# prerouting chain that marks each new flow by `numgen inc mod 2 map`, after a walk of 216,000
# no-op rules (three levels of 60 jumps) that widens the time between the chain's start and the
# map lookup. Each of N commits rewrites the choice, either as nftlb does (`anon`: the rule
# flushed and re-added with a new anonymous map) or element-wise (`named`: one element of a named
# map deleted and re-added with another value). Prints how many new flows went unmarked.
#   flock /tmp/kube-nftlb-bench.lock bench/map-straddle.sh anon 200    (root)
#   flock /tmp/kube-nftlb-bench.lock bench/map-straddle.sh named 200
# 2026-12-04, kernel 6.18, 200 commits each, alternating, load 14-19: anon 9 of 2,283 and 12 of
# 1,724 flows unmarked; named 0 of 1,546 and 0 of 1,396.
set -e
MODE=${1:?anon or named}
N=${2:-200}
A=straddle-a
B=straddle-b
cleanup() {
  [ -n "$TP" ] && kill "$TP" 2>/dev/null || true
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
}
trap cleanup EXIT
ip netns add $A
ip netns add $B
ip link add va netns $A type veth peer name vb netns $B
ip -n $A addr add 10.97.0.2/24 dev va
ip -n $A link set va up
ip -n $A route add default via 10.97.0.1
ip -n $B addr add 10.97.0.1/24 dev vb
ip -n $B link set vb up
nft() { ip netns exec $B nft "$@"; }
choice() {
  if [ "$MODE" = anon ]; then echo "ct mark set numgen inc mod 2 map { 0 : $1, 1 : 2 }"; else echo "ct mark set numgen inc mod 2 map @named"; fi
}
{
  echo "add table ip t"
  echo "add chain ip t pre { type filter hook prerouting priority -150; }"
  echo "add chain ip t after { type filter hook prerouting priority -140; }"
  echo "add chain ip t choice"
  echo "add map ip t named { typeof numgen inc mod 2 : ct mark; }"
  echo "add element ip t named { 0 : 1, 1 : 2 }"
  echo "add counter ip t unmarked"
  echo "add counter ip t flows"
  for c in w1 w2 w3; do echo "add chain ip t $c"; done
  for _ in $(seq 60); do
    echo "add rule ip t w3 ip saddr 192.0.2.1 counter"
    echo "add rule ip t w2 jump w3"
    echo "add rule ip t w1 jump w2"
  done
  echo "add rule ip t pre ct state new jump w1"
  echo "add rule ip t pre ct state new jump choice"
  echo "add rule ip t choice $(choice 1)"
  echo "add rule ip t after udp dport 9999 ct state new ct mark 0 counter name unmarked"
  echo "add rule ip t after udp dport 9999 ct state new counter name flows"
} | nft -f -
ip netns exec $A python3 -c '
import socket
while True:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("10.97.0.1", 9999)); s.close()
' &
TP=$!
sleep 1
for i in $(seq "$N"); do
  if [ "$MODE" = anon ]; then
    nft "flush chain ip t choice; add rule ip t choice $(choice $((i % 2 + 1)))"
  else
    nft "delete element ip t named { 0 }; add element ip t named { 0 : $((i % 2 + 1)) }"
  fi
done
nft list counter ip t unmarked | grep -o 'packets [0-9]*' | sed 's/^/unmarked /'
nft list counter ip t flows | grep -o 'packets [0-9]*' | sed 's/^/flows /'
