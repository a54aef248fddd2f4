#!/usr/bin/env bash
# containers-setup.sh: makes a container engine ready for deploy/ (its images and compose
# scenarios). Idempotent; scripts/test-containers runs it first.
#
#   Docker: used as it is when a Docker engine answers (`docker info`) and `docker compose` (v2)
#           is there; nothing is installed.
#   podman: otherwise (Debian/Ubuntu, root or sudo): apt installs podman, podman-compose, runc,
#           debootstrap; a containers.conf that fits the machine (below); and, when no container
#           registry is reachable, local stand-ins for the base images our Dockerfiles name
#           (debian:12, debian:12-slim, node:20-bookworm, node:20-bookworm-slim), built once and
#           kept in podman's image store (a rebuild happens only when one is missing).
#
# The last line of its output is `ENGINE=docker` or `ENGINE=podman` (scripts/test-containers reads it).
# Environment: PAYCHAN_CONTAINERS_CACHE (default /var/cache/paychan-containers) keeps the Debian
# root file system tarball the stand-ins are made from; PAYCHAN_CONTAINER_ENGINE=docker|podman forces one.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache=${PAYCHAN_CONTAINERS_CACHE:-/var/cache/paychan-containers}

log() { echo "containers-setup: $*" >&2; }
die() { log "$*"; exit 1; }
as_root() { if ((EUID == 0)); then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "needs root for: $*"; fi; }

docker_ready() {
    command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1
}

# --- podman ----------------------------------------------------------------------------------------
install_podman() {
    local need=() p
    for p in podman podman-compose runc debootstrap fuse-overlayfs slirp4netns uidmap curl; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    ((${#need[@]})) || return 0
    command -v apt-get >/dev/null || die "no Docker engine and no apt-get: install podman + podman-compose (or Docker) yourself"
    log "installing ${need[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
}

# podman's rootful defaults (nofile = nproc = 1048576) exceed the hard limits of machines without
# CAP_SYS_RESOURCE, and every container then fails in setrlimit; crun refuses a hybrid cgroup v1/v2
# layout, runc runs on it. So: ulimits within this shell's hard limits, and runc.
write_containers_conf() {
    local conf=/etc/containers/containers.conf nofile nproc tmp
    nofile=$(ulimit -Hn); [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
    nproc=$(ulimit -Hu); [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
    tmp=$(mktemp)
    cat >"$tmp" <<CONF
# Written by paychan's scripts/containers-setup.sh (it rewrites this file while this line is here).
# ulimits within the machine's hard limits (podman's defaults exceed them without CAP_SYS_RESOURCE);
# runc, which also runs on a hybrid cgroup v1/v2 layout (crun does not).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
CONF
    if [[ -f $conf ]] && ! head -n 1 "$conf" | grep -q "paychan's scripts/containers-setup.sh"; then
        log "keeping your $conf; if containers fail in setrlimit or on cgroups, merge in:"; cat "$tmp" >&2
    elif ! cmp -s "$tmp" "$conf" 2>/dev/null; then
        as_root install -D -m 0644 "$tmp" "$conf"
    fi
    rm -f "$tmp"
}

registry_reachable() {
    # An anonymous registry answers /v2/ with 401; no answer within 10 s means none is reachable.
    local code
    code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' https://registry-1.docker.io/v2/ || true)
    [[ $code == 401 || $code == 200 ]]
}

# debian:12 and debian:12-slim: a debootstrap (minbase) of bookworm from this machine's apt mirror,
# with its apt sources and its extra CA certificates (egress may go through a TLS-intercepting proxy).
make_debian_image() {
    local tar=$cache/debian-12-rootfs.tar root=$cache/rootfs mirror
    if [[ ! -f $tar ]]; then
        mirror=$(apt-cache policy | awk '$3 == "bookworm/main" {print $2; exit}')
        [[ -n $mirror ]] || die "no bookworm/main mirror in apt's sources (run apt-get update)"
        as_root rm -rf "$root"; as_root mkdir -p "$cache"
        log "debootstrap bookworm from $mirror"
        as_root debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
        as_root rm -f "$root/etc/apt/sources.list"
        as_root mkdir -p "$root/etc/apt/sources.list.d" "$root/usr/local/share/ca-certificates"
        if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
            as_root cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
        else
            echo "deb $mirror bookworm main" | as_root tee "$root/etc/apt/sources.list" >/dev/null
        fi
        cat /usr/local/share/ca-certificates/*.crt 2>/dev/null |
            as_root tee "$root/usr/local/share/ca-certificates/host-extra.crt" >/dev/null || true
        as_root sh -c "rm -rf '$root'/var/cache/apt/*.bin '$root'/var/cache/apt/archives/*.deb \
            '$root'/var/lib/apt/lists/* '$root'/var/log/apt/* '$root'/var/log/*.log;
            : > '$root/etc/hostname'; : > '$root/etc/resolv.conf'; : > '$root/etc/hosts'"
        as_root tar --numeric-owner -C "$root" -cf "$tar.part" . && as_root mv "$tar.part" "$tar"
        as_root rm -rf "$root"
    fi
    podman import --change 'CMD ["bash"]' "$tar" localhost/debian:12 >/dev/null
}

# node:20-bookworm(-slim): debian:12 + this machine's Node.js 20 + npm 10.8.2 (the official images'
# npm); the non-slim one adds the buildpack-deps:bookworm package set (deploy/podman/Dockerfile.node-standin).
make_node_image() {
    local tag=$1 buildpack=$2 ctx
    [[ $(node --version 2>/dev/null) == v20.* ]] || die "the node stand-ins need this machine's Node.js 20 (scripts/install-deps.sh)"
    ctx=$(mktemp -d)
    tar -C / -cf "$ctx/node.tar" usr/bin/node $(cd / && ls -d usr/lib/node_modules/corepack 2>/dev/null)
    (cd "$ctx" && npm pack --silent npm@10.8.2 >/dev/null && mv npm-10.8.2.tgz npm.tgz)
    cp "$repo/deploy/podman/Dockerfile.node-standin" "$ctx/Dockerfile"
    podman build -q --build-arg BASE=localhost/debian:12 --build-arg BUILDPACK="$buildpack" -t "$tag" "$ctx" >/dev/null
    rm -rf "$ctx"
}

base_images() {
    local img have=1
    for img in debian:12 debian:12-slim node:20-bookworm-slim node:20-bookworm; do
        podman image exists "$img" || have=0
    done
    ((have)) && return 0
    if registry_reachable; then
        for img in debian:12 debian:12-slim node:20-bookworm-slim node:20-bookworm; do
            podman image exists "$img" || podman pull -q "docker.io/library/$img" >/dev/null
        done
        return 0
    fi
    log "no container registry reachable: building local stand-ins for the base images (once)"
    podman image exists localhost/debian:12 || make_debian_image
    podman image exists localhost/debian:12-slim || podman tag localhost/debian:12 localhost/debian:12-slim
    podman image exists localhost/node:20-bookworm-slim || make_node_image localhost/node:20-bookworm-slim no
    podman image exists localhost/node:20-bookworm || make_node_image localhost/node:20-bookworm yes
}

engine=${PAYCHAN_CONTAINER_ENGINE:-}
if [[ -z $engine ]]; then
    if docker_ready; then engine=docker; else engine=podman; fi
fi
case $engine in
    docker)
        docker_ready || die "PAYCHAN_CONTAINER_ENGINE=docker, but no Docker engine with Compose v2 answers"
        ;;
    podman)
        install_podman
        write_containers_conf
        podman info >/dev/null || die "podman is installed but does not run (podman info fails)"
        base_images
        ;;
    *) die "PAYCHAN_CONTAINER_ENGINE must be docker or podman, not '$engine'" ;;
esac
echo "ENGINE=$engine"
