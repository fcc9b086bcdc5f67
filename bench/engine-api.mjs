// The engine's HTTP API over its unix socket, as the engine benchmarks (engine.mjs, engine-ab.mjs)
// ask it: one request, its status and its body (JSON when it is JSON).
import { request } from 'node:http';

export function api(socket, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body && JSON.stringify(body);
    const req = request(
      { socketPath: socket, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, body: /^[[{]/.test(text) ? JSON.parse(text) : text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
