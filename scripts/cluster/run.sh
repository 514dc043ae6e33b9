#!/bin/sh
# `npm run cluster -- --duration=SECONDS`: builds the bundled server and this
# script (scripts/cluster with the test harness it reuses) into dist/cluster,
# then runs it. See docs/scaling.md.
set -e
cd "$(dirname "$0")/../.."
npm run build
npx tsc -p scripts/cluster/tsconfig.json
# The harness finds these relative to its own compiled files: the Pushpin
# config script, and the Postgres launcher, which loads dist/server (hence
# dist/cluster/dist pointing back at dist).
rm -rf dist/cluster/deploy dist/cluster/dist
mkdir -p dist/cluster/deploy
cp -r deploy/pushpin dist/cluster/deploy/
cp test/harness/postgres-server.mjs dist/cluster/test/harness/
ln -s .. dist/cluster/dist
exec node --enable-source-maps dist/cluster/scripts/cluster/main.js "$@"
