#!/bin/sh
# Applies this project's settings to a stock pushpin.conf, in place, and
# writes its routes file. docker-compose runs it in the Pushpin container;
# the test harness (test/harness/pushpin.ts) runs it on a copy of Debian's
# config, so both get the same settings.
#
#   configure.sh CONFIG ROUTES_FILE BACKEND SIG_KEY PUBLISH_ADDR [STATS_SPEC]
#
# BACKEND: where the app listens (host:port). SIG_KEY: the key Pushpin signs
# proxied requests with (Grip-Sig); the app gets the same one in its GRIP URL,
# so keep it to letters, digits, `-`, `_` and `.`. PUBLISH_ADDR: where the
# publish API listens (it takes no authentication: never a public interface).
# STATS_SPEC: where Pushpin publishes its statistics (a ZeroMQ address such as
# tcp://0.0.0.0:5564), which the app reads for presence counts (grip.stats);
# without it, the stock ipc socket in the run dir. Subscription counts are
# refreshed every three quarters of stats_subscription_ttl and trusted for that
# TTL: 20 s instead of the stock 60 bounds how long a Pushpin that vanishes
# without closing its stats connection is still counted (and how long an app
# that just started undercounts).
set -eu
config=$1 routes=$2 backend=$3 sig_key=$4 publish_addr=$5 stats_spec=${6:-}
case $sig_key in
  '' | changeme | *[!A-Za-z0-9._-]*)
    echo "configure.sh: the sig key must be set, not 'changeme', and URL-safe" >&2
    exit 2
    ;;
esac
# The app refuses a shorter key too (grip.url): it would be guessable.
if [ ${#sig_key} -lt 32 ]; then
  echo "configure.sh: the sig key must be at least 32 characters (openssl rand -hex 32)" >&2
  exit 2
fi
sed -i \
  -e "s|^sig_key=.*|sig_key=$sig_key|" \
  -e "s|^push_in_http_addr=.*|push_in_http_addr=$publish_addr|" \
  -e "s|^routesfile=.*|routesfile=$routes|" \
  -e "s|^stats_subscription_ttl=.*|stats_subscription_ttl=20|" \
  "$config"
if [ -n "$stats_spec" ]; then
  sed -i -e "s|^stats_spec=.*|stats_spec=$stats_spec|" "$config"
fi
echo "* $backend" >"$routes"
