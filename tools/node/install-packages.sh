#!/usr/bin/env bash
# Debian packages a local node needs (docs/node.md); installs only the missing ones.
#   containerd runc containernetworking-plugins: the container runtime and pod network
#   gcc libc6-dev: the static pause binary (no registry to pull pause from)
#   busybox-static: the test pods' image (nslookup, nc)
#   iptables iproute2 util-linux: kube-proxy/kubelet rules, the veth pair, nsenter
# Debian's containerd package enables a systemd unit; the node never uses it, it runs a
# private containerd (and this machine's PID 1 is not systemd anyway).
set -euo pipefail
packages=(containerd runc containernetworking-plugins gcc libc6-dev busybox-static
          iptables iproute2 util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "node: installing ${missing[*]}" >&2
  sudo=(); [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi
