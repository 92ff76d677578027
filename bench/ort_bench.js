// ONNX Runtime (npm onnxruntime-node) batch-1 latency of one ONNX file, for bench/ort_bench.py.
//   NODE_PATH=.../node_modules node bench/ort_bench.js MODEL.onnx N,C,H,W THREADS RUNS WARMUP
// Prints one JSON line: {"median_ms": ..., "runs": ...}. intra-op threads = THREADS, inter-op 1,
// sequential execution, all graph optimisations; the input is fixed pseudo-random data.
// SPDX-License-Identifier: BSD-2-Clause
const ort = require('onnxruntime-node');

async function main() {
  const [model, shape, threads, runs, warmup] = process.argv.slice(2);
  const dims = shape.split(',').map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648 - 0.5;
  }
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  for (let i = 0; i < Number(warmup); i++) await sess.run(feeds);
  const t = [];
  for (let i = 0; i < Number(runs); i++) {
    const t0 = process.hrtime.bigint();
    await sess.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  const m = t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
  console.log(JSON.stringify({ median_ms: m, runs: t.length }));
}
main().catch((e) => { console.error(String(e && e.message ? e.message : e)); process.exit(1); });
