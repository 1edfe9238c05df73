#!/usr/bin/env bash
# Starts the built service on its embedded default (no DATABASE_URL, no MMS_ADMIN_TOKEN, empty
# data directory), waits for readiness, registers a fixture model with the generated root token
# (as printed on first start), checks it lists, restarts, and checks it is still there.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/mms-smoke.XXXX)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export PORT=$port MMS_DATA_DIR="$work/data" MMS_MODEL_STORE="$work/store"
unset DATABASE_URL MMS_ADMIN_TOKEN
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start() {
  node dist/src/main.js >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; echo "FAILED: server exited"; exit 1; }
    sleep 0.5
  done
  cat "$work/server.log"; echo "FAILED: not ready in 60 s"; exit 1
}

start
token=$(sed -n 's/.*Root token: \(mms_root_[A-Za-z0-9_-]*\).*/\1/p' "$work/server.log" | head -1)
[ -n "$token" ] || { cat "$work/server.log"; echo "FAILED: no root token printed on first start"; exit 1; }
node -e 'require("./dist/test/fixtures/onnx-builder").writeFixture(process.argv[1], require("./dist/test/fixtures/onnx-builder").defaultFixtures().tree)' "$work/tree.onnx"
code=$(curl -s -o "$work/register.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
  -F artifact=@"$work/tree.onnx" -F 'segment={"region":"north","store":"0042"}' -F 'tags={"algo":"tree"}' \
  "http://127.0.0.1:$port/v1/models/demand-north-0042/versions")
[ "$code" = 201 ] || { cat "$work/register.json"; echo "FAILED: register answered $code"; exit 1; }
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

start
grep -q "Root token" "$work/server.log" && { echo "FAILED: the root token was printed again"; exit 1; }
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/models?segment.region=north&tag.algo=tree" | grep -q '"demand-north-0042"' \
  || { echo "FAILED: the model is not listed after a restart"; exit 1; }
echo "OK: embedded default starts, registers a model, and keeps it across a restart"
