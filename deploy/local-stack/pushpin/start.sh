#!/bin/sh
# Entry point of the Pushpin container of the local stack (host networking).
# Like deploy/pushpin/start.sh, plus what Debian's build needs (see
# test/harness/pushpin.ts): its own zurl, run and log dirs it can write, and
# ports of its own. Clients and the publish API are served on 127.0.0.1 only:
# with host networking, 0.0.0.0 would be every interface of the machine.
set -eu
dir=/tmp/pushpin
mkdir -p "$dir/run" "$dir/log"
cp /etc/pushpin/pushpin.conf "$dir/pushpin.conf"
sh /deploy/pushpin/configure.sh "$dir/pushpin.conf" "$dir/routes" \
  "${PUSHPIN_BACKEND:?set PUSHPIN_BACKEND}" "${PUSHPIN_SIG_KEY:?set PUSHPIN_SIG_KEY}" 127.0.0.1
zurl="ipc://$dir/run/pushpin-"
sed -i \
  -e "s|^rundir=.*|rundir=$dir/run|" \
  -e "s|^logdir=.*|logdir=$dir/log|" \
  -e "s|^services=.*|services=condure,zurl,pushpin-proxy,pushpin-handler|" \
  -e "s|^http_port=.*|http_port=127.0.0.1:${PUSHPIN_HTTP_PORT:-7999}|" \
  -e "s|^push_in_http_port=.*|push_in_http_port=${PUSHPIN_PUBLISH_PORT:-5561}|" \
  -e "s|^push_in_spec=.*|push_in_spec=tcp://127.0.0.1:${PUSHPIN_PUSH_IN_PORT:-5560}|" \
  -e "s|^push_in_sub_specs=.*|push_in_sub_specs=tcp://127.0.0.1:${PUSHPIN_PUSH_IN_SUB_PORT:-5562}|" \
  -e "s|^command_spec=tcp.*|command_spec=tcp://127.0.0.1:${PUSHPIN_COMMAND_PORT:-5563}|" \
  -e "s|^\[proxy\]\$|[proxy]\nzurl_out_specs=${zurl}zurl-in\nzurl_out_stream_specs=${zurl}zurl-in-stream\nzurl_in_specs=${zurl}zurl-out|" \
  "$dir/pushpin.conf"
exec pushpin --merge-output --config "$dir/pushpin.conf"
