#!/usr/bin/env bash
# tools/fresh-debian.sh — run one of the README's commands the way a newcomer would: in a clean
# Debian 12 root (debootstrap minbase, given only git, make and ca-certificates), on a fresh clone
# of this repository's HEAD, as root, with CI=true and no stdin.  The root has Debian's own packages
# only (Node.js 18, not this machine's), so it shows what the project's own files fail to install.
#
#   tools/fresh-debian.sh 'make test'          # or 'make demo', 'make build', ...
#   tools/fresh-debian.sh --keep 'make test'   # leave the root in place to look around
#
# What is copied in from this machine, and nothing else: its extra CA certificates
# (/usr/local/share/ca-certificates) and npm settings (/etc/npmrc, ~/.npmrc), which the registries
# here need; debootstrap itself copies /etc/resolv.conf.  The minbase root is made once and kept as
# a tarball (var/fresh-debian/base.tar; MIRROR= picks the mirror); every run unpacks it anew.
# Mounts (proc, sys, dev, run) live in a private mount namespace, so they vanish with the run; the
# network namespace is the host's (the registries must be reachable; test servers bind to loopback).
set -euo pipefail
keep=0
if [ "${1:-}" = --keep ]; then keep=1; shift; fi
[ $# = 1 ] || { echo "usage: tools/fresh-debian.sh [--keep] 'COMMAND'" >&2; exit 2; }
cmd=$1
[ "$(id -u)" = 0 ] || { echo "fresh-debian: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
top=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=${FRESH_DIR:-$top/var/fresh-debian}
mirror=${MIRROR:-http://deb.debian.org/debian}
base=$work/base.tar
mkdir -p "$work"

if ! command -v debootstrap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
if [ ! -s "$base" ]; then
    echo "fresh-debian: debootstrap bookworm (minbase + git make ca-certificates) from $mirror"
    tmp=$work/base.tmp
    rm -rf "$tmp"
    debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$tmp" "$mirror" \
        >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log"; exit 1; }
    # the sources a stock Debian 12 installation has
    cat >"$tmp/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
    tar -C "$tmp" -cf "$base.part" . && mv "$base.part" "$base"
    rm -rf "$tmp"
fi

root=$work/root.$$
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$base"
cleanup() {
    if [ "$keep" = 1 ]; then echo "fresh-debian: root kept in $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT

# this machine's extra CA certificates and npm settings, nothing else
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
    cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
[ -f /etc/npmrc ] && cp /etc/npmrc "$root/etc/npmrc"
[ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$root/root/.npmrc"

git clone -q "$top" "$root/src/mamori"
echo "fresh-debian: $(git -C "$root/src/mamori" log -1 --format='%h %s'): $cmd"

# mounts in a private namespace: they go away with the last process of the run
unshare --mount --propagation private bash -euo pipefail -c '
    root=$1 cmd=$2
    mount --bind "$root" "$root" # a mount point, as / is (ip netns exec remounts it)
    mount -t proc proc "$root/proc"
    mount -t sysfs sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"
    mount -t tmpfs tmpfs "$root/dev/shm"
    exec chroot "$root" /usr/bin/env -i HOME=/root CI=true LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        bash -c "update-ca-certificates >/dev/null 2>&1; cd /src/mamori && $cmd" </dev/null
' fresh-debian "$root" "$cmd"
