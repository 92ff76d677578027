// SPDX-License-Identifier: BSD-2-Clause
// Run an ONNX model in ONNX Runtime (npm onnxruntime-node, found through NODE_PATH) on one input.
// usage: node ort_run.js model.onnx input.f32 d0,d1,d2,d3 output.f32 [threads]
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const [model, inFile, shape, outFile, threads] = process.argv.slice(2);
  const dims = shape.split(',').map(Number);
  const buf = fs.readFileSync(inFile);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const n = Number(threads || 1);
  const sess = await ort.InferenceSession.create(model, { intraOpNumThreads: n, interOpNumThreads: 1 });
  const feeds = {};
  feeds[sess.inputNames[0]] = new ort.Tensor('float32', data, dims);
  const out = (await sess.run(feeds))[sess.outputNames[0]];
  fs.writeFileSync(outFile, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
}
main().catch((e) => { console.error(String(e && e.message ? e.message : e)); process.exit(1); });
