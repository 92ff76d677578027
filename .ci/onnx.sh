#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage: the 'onnx' test suite with everything it needs, so that nothing in it skips.
#   ONNX Runtime: npm's onnxruntime-node (its CPU build ships in the package; --ignore-scripts skips
#   the install script, which only fetches GPU add-ons from elsewhere), run by Debian's node.
#   python3-onnx: onnx.checker.check_model on every export. python3-torch: torchvision's exports.
# Runs on the gcc build of the README's test command (./build). Budget: 4 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
bash .ci/ensure-packages python3-onnx python3-numpy python3-torch python3-torchvision
# Debian's node and npm, unless a node with npm is already there (NodeSource's nodejs bundles npm
# and conflicts with Debian's npm package).
command -v node >/dev/null && command -v npm >/dev/null || bash .ci/ensure-packages nodejs npm
ort=$(mktemp -d)
trap 'rm -rf "$ort"' EXIT
npm install --ignore-scripts --no-audit --no-fund --prefix "$ort" onnxruntime-node
test -d "$ort/node_modules/onnxruntime-node"
[ -d build ] || meson setup build
ninja -C build
MNV2_ORT_DIR="$ort/node_modules" meson test -C build --suite onnx --print-errorlogs
# A skip here means something above did not install: fail.
python3 - build/meson-logs/testlog.json <<'PYEOF'
import json, sys
skipped = [t["name"] for t in map(json.loads, open(sys.argv[1])) if t.get("result") == "SKIP"]
if skipped:
    sys.exit(f"onnx.sh: skipped in CI: {', '.join(skipped)}")
print("onnx.sh: every 'onnx' test ran")
PYEOF
