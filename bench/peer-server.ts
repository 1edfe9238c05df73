import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';

/**
 * The peer of the hot benchmark: the minimal server a user would write instead of the
 * platform. node:http + onnxruntime-node, every model preloaded, one process, inference on
 * the event loop: parse the JSON, look up the session, run it, answer JSON. No auth, no
 * validation beyond what it needs, no metrics.
 *
 *   node dist/bench/peer-server.js <dir of name.onnx files> [port]
 */
async function main(): Promise<void> {
  const [dir, portArg] = process.argv.slice(2);
  const sessions = new Map<string, InferenceSession>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.onnx'))) {
    sessions.set(path.basename(file, '.onnx'), await InferenceSession.create(path.join(dir, file), { intraOpNumThreads: 1 }));
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(Buffer.concat(chunks).toString()).then(
        (answer) => send(res, 200, answer),
        (error: Error) => send(res, 400, { error: error.message }),
      );
    });
  });

  async function handle(text: string): Promise<unknown> {
    const body = JSON.parse(text) as { model: string; inputs: Record<string, number[][]> };
    const session = sessions.get(body.model);
    if (!session) throw new Error(`no model ${body.model}`);
    const feeds: Record<string, Tensor> = {};
    for (const [name, rows] of Object.entries(body.inputs)) {
      feeds[name] = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]);
    }
    const results = await session.run(feeds);
    const outputs: Record<string, number[][]> = {};
    for (const [name, t] of Object.entries(results)) {
      const data = t.data as Float32Array;
      const width = t.dims[1] ?? 1;
      const rows: number[][] = [];
      for (let r = 0; r < data.length / width; r++) rows.push(Array.from(data.subarray(r * width, (r + 1) * width)));
      outputs[name] = rows;
    }
    return { model: body.model, outputs };
  }

  server.keepAliveTimeout = 60_000;
  server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    console.log(`peer listening on http://127.0.0.1:${port} with ${sessions.size} models`);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
