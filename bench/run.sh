#!/bin/sh
# `npm run bench`: builds the benchmark (bench/ with the library's sources)
# into dist/bench, then runs it. Arguments go on to it (`-- --quick`).
set -e
cd "$(dirname "$0")/.."
npx tsc -p bench/tsconfig.json
# The migrator and the Pushpin harness find these files relative to their
# own compiled files.
rm -rf dist/bench/prisma dist/bench/deploy
mkdir -p dist/bench/prisma dist/bench/deploy
cp -r prisma/migrations dist/bench/prisma/
cp -r deploy/pushpin dist/bench/deploy/
# 10,000 clients are 10,000 sockets in the benchmark and as many in the server.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 12000 ] || echo "Open-files limit is $(ulimit -n): the 10,000-client runs need about 11,000" >&2
exec node --expose-gc --enable-source-maps dist/bench/bench/main.js "$@"
