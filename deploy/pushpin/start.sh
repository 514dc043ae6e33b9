#!/bin/sh
# Entry point of the Pushpin container in docker-compose.yml: the image's
# stock config, copied and given this project's settings.
set -eu
mkdir -p /tmp/pushpin
cp /etc/pushpin/pushpin.conf /tmp/pushpin/pushpin.conf
sh /deploy/pushpin/configure.sh /tmp/pushpin/pushpin.conf /tmp/pushpin/routes \
  "${PUSHPIN_BACKEND:-app:3000}" "${PUSHPIN_SIG_KEY:?set PUSHPIN_SIG_KEY}" 0.0.0.0 \
  "tcp://0.0.0.0:${PUSHPIN_STATS_PORT:-5564}"
exec pushpin --merge-output --config /tmp/pushpin/pushpin.conf
