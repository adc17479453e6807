// Whole-model latency of one ONNX file in ONNX Runtime (onnxruntime-node),
// graph optimization 'all', on the same pseudo-random input as
// `eightbit bench` (values in [-2, 2) from a 31-bit linear congruential
// generator).
//
//   node ortbench.js MODEL D,D,... ITERS RUNS THREADS
//
// prints {"min_ms": ..., "median_ms": ...} per image (ITERS runs a
// repetition, RUNS repetitions, after three warm-up runs).
const ort = require('onnxruntime-node');
(async () => {
  const [model, shapeS, itersS, runsS, threadsS] = process.argv.slice(2);
  const shape = shapeS.split(',').map(Number);
  const iters = +itersS || 10, runs = +runsS || 5, threads = +threadsS || 1;
  const s = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3,
  });
  const size = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(size);
  let seed = 1;
  for (let i = 0; i < size; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    x[i] = seed / 0x7fffffff * 4 - 2;
  }
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, shape) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  const ms = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) await s.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6 / iters / shape[0]);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({ min_ms: ms[0], median_ms: ms[ms.length >> 1] }));
})().catch(e => { console.error(String(e).split('\n')[0]); process.exit(1); });
