#!/usr/bin/env bash
# Whole-model speed of eightbit against ONNX Runtime on the same files:
# quantizes bench/speed-zoo.yaml's models with default settings, then times
# every float and int8 file in both engines, interleaved round by round,
# batch 1, at each thread count, ONNX Runtime's int8 runs with AMX denied
# (as ../shared/tools/ort/README.md shows). Prints a Markdown table of
# ratios (docs/PERFORMANCE.md keeps the latest).
#
#   bench/ort-compare.sh [NAME ...]        THREADS=1,2 ROUNDS=5 by default
#
# Needs ../shared/zoo, gcc, node and npm (onnxruntime-node@1.30.0 is
# installed into $EIGHTBIT_ORT_DIR, default ~/.cache/eightbit/ort, when
# missing). REQUANTIZE=1 quantizes again.
set -euo pipefail
cd "$(dirname "$0")/.."
ZOO="$(cd ../shared/zoo && pwd)"
WORK="${EIGHTBIT_BENCH_DIR:-${TMPDIR:-/tmp}/eightbit-speed}"
ORT_DIR="${EIGHTBIT_ORT_DIR:-$HOME/.cache/eightbit/ort}"
mkdir -p "$WORK/zoo"

if [ ! -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then
  echo "== installing onnxruntime-node@1.30.0 into $ORT_DIR" >&2
  ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund --prefix "$ORT_DIR" onnxruntime-node@1.30.0
fi
gcc -O2 -shared -fPIC -o "$WORK/noamx.so" ../shared/tools/ort/noamx.c -ldl
go build -o "$WORK/eightbit" ./cmd/eightbit

sed "s#\${ZOO}#$ZOO#g" bench/speed-zoo.yaml > "$WORK/zoo/zoo.yaml"
if [ "${REQUANTIZE:-0}" = 1 ] || [ ! -d "$WORK/out/models" ]; then
  echo "== quantizing bench/speed-zoo.yaml into $WORK/out" >&2
  "$WORK/eightbit" quantize-zoo --zoo "$WORK/zoo" --out "$WORK/out" --allow-outside --eval-samples 20 ${REQUANTIZE:+--force} >&2
fi

echo "== $(go version | cut -d' ' -f3), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%dT%H:%MZ)" >&2
go run ./bench/ortcompare -eightbit "$WORK/eightbit" -node-modules "$ORT_DIR/node_modules" \
  -ort-int8-env "NOAMX_DENY=1,LD_PRELOAD=$WORK/noamx.so" \
  -manifest "$WORK/zoo/zoo.yaml" -quantized "$WORK/out/models" \
  -threads "${THREADS:-1,2}" -rounds "${ROUNDS:-5}" "$@"
