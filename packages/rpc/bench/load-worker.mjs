// The load generator of bench/rpc.ts, in its own thread (its own event loop):
// `clients` concurrent HTTP keep-alive clients, each sending its requests one
// after another. Reports every request's latency (ms) and the errors seen.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { port, clients, bodies } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: clients });

function post(body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const latencies = new Float64Array(bodies.flat().length);
let n = 0;
const errors = new Map();
const started = performance.now();
await Promise.all(
  bodies.map(async (list) => {
    for (const body of list) {
      const t0 = performance.now();
      const text = await post(body);
      latencies[n++] = performance.now() - t0;
      const r = JSON.parse(text);
      const bad =
        r.error !== undefined
          ? r.error.data
          : r.result?.code !== undefined && r.result.code !== 0
            ? r.result.codespace
            : undefined;
      if (bad !== undefined) errors.set(bad, (errors.get(bad) ?? 0) + 1);
    }
  }),
);
const elapsedMs = performance.now() - started;
agent.destroy();
parentPort.postMessage({ latencies: latencies.subarray(0, n), elapsedMs, errors: [...errors] });
