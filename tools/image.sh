#!/usr/bin/env bash
# image.sh: what `make image` runs (see deploy/README.md, "The image").
#
#	tools/image.sh [engine]
#
# Builds deploy/Dockerfile as saga-tracker:$(cat VERSION).  The engine
# is docker when `docker info` answers, else podman; `podman` as the
# argument forces podman (make test-image does).  With podman:
#
#  - Debian's podman, runc and mmdebstrap are installed if missing;
#  - CONTAINERS_CONF is deploy/podman/containers.conf (no default
#    ulimits: some hosts refuse to let the runtime set rlimits);
#  - the runtime is runc (crun refuses hybrid cgroup v1 layouts);
#  - no image registry need be reachable: when debian:bookworm or
#    debian:bookworm-slim is not in podman's store, it is made from
#    Debian's packages (mmdebstrap --variant=apt bookworm), the tarball
#    kept in .build/image/base.tar for the next time, and imported under
#    both names;
#  - the build runs with --network=host (its apt-get needs the host's
#    network).
#
# On success the last line of stdout is the image reference.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
app=saga-tracker
version=$(cat VERSION)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
ref="$app:$version"
cache="$root/.build/image"
base_tar="$cache/base.tar"
bases=(debian:bookworm debian:bookworm-slim)

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }

sudo_cmd=()
[ "$(id -u)" = 0 ] || sudo_cmd=(sudo)

engine=${1:-}
if [ -z "$engine" ]; then
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
		engine=docker
	else
		engine=podman
	fi
fi

if [ "$engine" = docker ]; then
	log "docker build ($ref)"
	docker build -f deploy/Dockerfile --build-arg BUILD_COMMIT="$commit" \
	    -t "$ref" . >&2 || die "docker build -f deploy/Dockerfile failed"
	echo "$ref"
	exit 0
fi
[ "$engine" = podman ] || die "unknown engine '$engine' (docker or podman)"

# Debian's packages, installed the way `make deps` installs its own.
missing=()
for p in podman runc mmdebstrap; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing ${missing[*]}"
	"${sudo_cmd[@]}" apt-get update -q >&2 ||
	    die "apt-get update failed (installing ${missing[*]})"
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
	    --no-install-recommends "${missing[@]}" >&2 ||
	    die "apt-get install ${missing[*]} failed"
fi

export CONTAINERS_CONF="$root/deploy/podman/containers.conf"
podman=(podman --runtime runc)

need_base=0
for b in "${bases[@]}"; do
	"${podman[@]}" image exists "$b" || need_base=1
done
if [ "$need_base" = 1 ]; then
	if [ ! -s "$base_tar" ]; then
		mkdir -p "$cache"
		log "making the base image from Debian's packages:" \
		    "mmdebstrap --variant=apt bookworm (a few minutes, once)"
		rm -f "$base_tar.part"
		"${sudo_cmd[@]}" mmdebstrap --quiet --format=tar --variant=apt \
		    bookworm "$base_tar.part" >&2 ||
		    die "mmdebstrap --variant=apt bookworm failed"
		mv "$base_tar.part" "$base_tar"
	fi
	log "podman import $base_tar as ${bases[*]}"
	"${podman[@]}" import --quiet "$base_tar" "${bases[0]}" >/dev/null ||
	    die "podman import $base_tar failed"
	for b in "${bases[@]:1}"; do
		"${podman[@]}" tag "${bases[0]}" "$b" ||
		    die "podman tag ${bases[0]} $b failed"
	done
fi

log "podman build ($ref)"
"${podman[@]}" build --network=host -f deploy/Dockerfile \
    --build-arg BUILD_COMMIT="$commit" -t "$ref" . >&2 ||
    die "podman build -f deploy/Dockerfile failed"
echo "$ref"
