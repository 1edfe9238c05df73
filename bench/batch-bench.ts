/**
 * `npm run bench:batch`: a batch job over S segments × R rows of CSV, end to end through the
 * real service (read, route by segment, predict, write, commit), against the bare
 * onnxruntime calls for the same rows and models in one process, measured in the same run.
 *
 *   npm run bench:batch -- [--segments 1000] [--rows 1000] [--model gbm|mlp|linear|tree] [--hidden 16]
 *                          [--trees 100] [--depth 5] [--no-doc]
 *
 * `gbm` is a gradient-boosted tree ensemble of the size LightGBM trains by default (100 trees
 * of 31 leaves ≈ depth 5; random splits over the six features), the usual demand-forecast model.
 *
 * The service runs as a child process on a fresh embedded PGlite (or a fresh database on the
 * server in DATABASE_URL), exactly as `npm start` runs it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { buildLinearModel, buildMlpModel, buildTreeEnsembleModel, defaultTrees, mulberry32, RETAIL_FEATURES, TabularFixtureModel, TreeNode } from '../test/fixtures/onnx-builder';
import { withClient } from '../test/support/test-database';
import { findRepoRoot, writeSubsection } from './support/benchmarks-doc';
import { BENCH_ROOT_TOKEN, cpuByThread, cpuOf, inParallel } from './support/platform';

const TOKEN = BENCH_ROOT_TOKEN;
const FEATURES = [...RETAIL_FEATURES];

interface Options {
  segments: number;
  rows: number;
  model: 'mlp' | 'linear' | 'tree' | 'gbm';
  hidden: number;
  trees: number;
  depth: number;
  doc: boolean;
  /** Write a CPU profile of the service into this directory. */
  profile: string | null;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { segments: 1000, rows: 1000, model: 'gbm', hidden: 16, trees: 100, depth: 5, doc: true, profile: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--segments') options.segments = Number(argv[++i]);
    else if (a === '--rows') options.rows = Number(argv[++i]);
    else if (a === '--model') options.model = argv[++i] as Options['model'];
    else if (a === '--hidden') options.hidden = Number(argv[++i]);
    else if (a === '--trees') options.trees = Number(argv[++i]);
    else if (a === '--depth') options.depth = Number(argv[++i]);
    else if (a === '--no-doc') options.doc = false;
    else if (a === '--profile') options.profile = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return options;
}

function modelFor(options: Options, segment: number): TabularFixtureModel {
  const featureNames = FEATURES;
  if (options.model === 'linear') {
    const rand = mulberry32(segment + 1);
    return buildLinearModel({ weights: FEATURES.map(() => rand() * 2 - 1), bias: rand() * 10, featureNames });
  }
  if (options.model === 'gbm') {
    const rand = mulberry32(segment + 1);
    const grow = (depth: number): TreeNode => (depth === 0 ? { value: rand() * 2 - 1 } : { feature: Math.floor(rand() * 6), threshold: rand() * 60, ifTrue: grow(depth - 1), ifFalse: grow(depth - 1) });
    return buildTreeEnsembleModel({ nFeatures: 6, trees: Array.from({ length: options.trees }, () => grow(options.depth)), baseValue: segment % 97, featureNames });
  }
  if (options.model === 'tree') return buildTreeEnsembleModel({ nFeatures: 6, trees: defaultTrees(6), baseValue: segment % 97, featureNames });
  return buildMlpModel({ nFeatures: 6, hidden: options.hidden, seed: segment + 1, featureNames });
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const total = options.segments * options.rows;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-batch-bench-'));
  const dataDir = path.join(work, 'data');
  const storeDir = path.join(work, 'store');
  fs.mkdirSync(path.join(dataDir, 'in'), { recursive: true });
  const external = process.env.DATABASE_URL;
  let dbName: string | null = null;
  let databaseUrl = '';
  if (external) {
    dbName = `mms_bench_${randomBytes(5).toString('hex')}`;
    await withClient(external, (c) => c.query(`CREATE DATABASE ${dbName}`));
    const url = new URL(external);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
  }
  let server: ChildProcess | null = null;
  try {
    process.stdout.write(`${options.segments} segments × ${options.rows} rows (${total.toLocaleString('en')} rows), model ${describeModel(options)}, ${external ? 'PostgreSQL (DATABASE_URL)' : 'embedded PGlite'}\n`);
    const models = Array.from({ length: options.segments }, (_, i) => modelFor(options, i));

    // The input: rows of all segments interleaved, as a nightly extract would have them.
    const rand = mulberry32(42);
    const features: Float32Array[] = models.map(() => new Float32Array(options.rows * 6));
    const csv = fs.createWriteStream(path.join(dataDir, 'in', 'stores.csv'));
    await write(csv, `id,region,store,${FEATURES.join(',')}\n`);
    let chunk = '';
    for (let r = 0; r < options.rows; r++) {
      for (let s = 0; s < options.segments; s++) {
        const f = features[s];
        let line = `${s}-${r},r${s % 10},s${s}`;
        for (let j = 0; j < 6; j++) {
          const v = Math.fround(Math.round(rand() * 6000) / 100);
          f[r * 6 + j] = v;
          line += `,${v}`;
        }
        chunk += line + '\n';
      }
      if (chunk.length > 1 << 20) {
        await write(csv, chunk);
        chunk = '';
      }
    }
    await write(csv, chunk);
    await new Promise<void>((resolve) => csv.end(resolve));
    const inputBytes = fs.statSync(path.join(dataDir, 'in', 'stores.csv')).size;

    const started = await startServer({ MMS_DATA_DIR: dataDir, MMS_MODEL_STORE: storeDir, DATABASE_URL: databaseUrl }, options.profile);
    server = started.child;
    const url = started.url;
    const t0 = performance.now();
    await inParallel(models, 4, async (model, i) => {
      const form = new FormData();
      form.append('artifact', new Blob([model.bytes]), 'model.onnx');
      form.append('segment', JSON.stringify({ region: `r${i % 10}`, store: `s${i}` }));
      const res = await fetch(`${url}/v1/models/seg-${i}/versions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: form });
      if (res.status !== 201) throw new Error(`registering seg-${i}: ${res.status} ${await res.text()}`);
    });
    const registerS = (performance.now() - t0) / 1000;
    process.stdout.write(`registered ${models.length} models in ${registerS.toFixed(1)} s; input ${(inputBytes / 2 ** 20).toFixed(0)} MiB\n`);

    // End to end: submit, wait for the commit.
    const body = {
      input: { uri: 'in/stores.csv', format: 'csv' },
      route: { by: 'segment', columns: ['region', 'store'] },
      features: FEATURES,
      passthrough: ['id'],
      output: { format: 'csv' },
      miniBatchSize: options.rows,
    };
    const cpuBefore = cpuOf(server.pid!).total;
    const threadsBefore = cpuByThread(server.pid!);
    const res = await fetch(`${url}/v1/batch-jobs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const { id } = (await res.json()) as { id: string };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let job: any;
    for (;;) {
      job = await (await fetch(`${url}/v1/batch-jobs/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) break;
      // As a watcher would poll; the figure comes from the job's own timestamps, not from here.
      await new Promise((r) => setTimeout(r, 1000));
    }
    const e2eS = (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000;
    if (job.status !== 'succeeded' || job.output.rows !== total) throw new Error(`job ended ${job.status} with ${job.output?.rows} rows: ${JSON.stringify(job).slice(0, 1000)}`);
    const outputBytes = fs.statSync(path.join(dataDir, job.output.location)).size;
    checkSample(path.join(dataDir, job.output.location), models, features, options);
    // CPU the service spent (all its threads): the machine's noise moves it far less than wall time.
    const cpuS = cpuOf(server.pid!).total - cpuBefore;
    process.stdout.write(`end to end: ${e2eS.toFixed(1)} s (planning ${planningSeconds().toFixed(1)} s), ${fmt(total / e2eS)} rows/s; service CPU ${cpuS.toFixed(1)} s (${((cpuS * 1e6) / total).toFixed(1)} µs/row)\n`);
    for (const line of serverLog) process.stdout.write(`  service: ${line}\n`);
    process.stdout.write(`  CPU by thread (user+system s, thread ids in start order; the first is the main thread): ${threadCpuDelta(server.pid!, threadsBefore)}\n`);
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
    server = null;

    // Baseline: the same models and rows, bare onnxruntime calls in this process.
    const sessions: InferenceSession[] = [];
    // One thread per session, as the service's inference workers run them (and 1,000 sessions
    // with a thread pool each would start thousands of threads).
    const createStart = performance.now();
    for (const m of models) sessions.push(await InferenceSession.create(m.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' }));
    // Context, not the baseline: the job loads every model too (a nightly run finds them cold).
    const createS = (performance.now() - createStart) / 1000;
    const bare = async () => {
      let ms = 0;
      for (let s = 0; s < sessions.length; s++) {
        const input = new Tensor('float32', features[s], [options.rows, 6]);
        const t = performance.now();
        await sessions[s].run({ float_input: input });
        ms += performance.now() - t;
      }
      return ms / 1000;
    };
    await bare(); // warm-up
    const bareS = Math.min(await bare(), await bare());
    for (const s of sessions) await s.release();
    const ratio = total / e2eS / (total / bareS);
    const ratioWithLoads = (bareS + createS) / e2eS;
    process.stdout.write(
      `bare onnxruntime: ${bareS.toFixed(2)} s, ${fmt(total / bareS)} rows/s (creating the ${models.length} sessions: ${createS.toFixed(2)} s)\n` +
        `ratio end-to-end / bare create + run: ${ratioWithLoads.toFixed(3)} (against bare run alone: ${ratio.toFixed(3)})\n`,
    );

    if (options.doc) {
      const date = new Date().toISOString().slice(0, 10);
      const cpu = os.cpus()[0]?.model.trim() ?? '?';
      const machine = `nproc ${os.availableParallelism()} (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
      const subKey = `### ${external ? 'PostgreSQL' : 'Embedded PGlite'}, ${options.segments} × ${options.rows} rows, ${describeModel(options)}`;
      const markdown = [
        subKey,
        '',
        `${date} · ${machine} · input ${(inputBytes / 2 ** 20).toFixed(0)} MiB CSV, output ${(outputBytes / 2 ** 20).toFixed(0)} MiB · registering the ${options.segments} models took ${registerS.toFixed(0)} s · whole run ${((performance.now() - began) / 1000).toFixed(0)} s.`,
        '',
        '| measure | seconds | rows/s |',
        '|---|--:|--:|',
        `| end to end (submit → committed; planning ${planningSeconds().toFixed(1)} s of it${planBreakdown()}) | ${e2eS.toFixed(1)} | ${fmt(total / e2eS)} |`,
        `| bare onnxruntime for the same rows in one process: \`InferenceSession.create\` of each store's model, then \`session.run\` of its rows | ${(createS + bareS).toFixed(2)} | ${fmt(total / (createS + bareS))} |`,
        `| of which \`session.run\` alone (one call per store, one thread per session; best of 2 after a warm-up) | ${bareS.toFixed(2)} | ${fmt(total / bareS)} |`,
        `| **ratio** end to end ÷ bare \`create\` + \`run\` | | **${ratioWithLoads.toFixed(3)}** |`,
        `| ratio end to end ÷ bare \`run\` alone (sessions already created) | | ${ratio.toFixed(3)} |`,
        `| service CPU during the job, all threads (${((cpuS * 1e6) / total).toFixed(1)} µs per row) | ${cpuS.toFixed(1)} | |`,
      ].join('\n');
      const docFile = path.join(findRepoRoot(__dirname, process.cwd()), 'docs', 'benchmarks.md');
      writeSubsection(docFile, SECTION, SECTION_INTRO, subKey, markdown);
      process.stdout.write(`wrote ${path.relative(process.cwd(), docFile)}\n`);
    }
  } finally {
    if (server) server.kill('SIGKILL');
    if (dbName && external) await withClient(external, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const SECTION = '## Batch scoring (`npm run bench:batch`)';
const SECTION_INTRO = `
What it measures: one batch job over a CSV of S segments × R rows (segments interleaved, as a
nightly extract has them), routed by segment (\`region\`, \`store\`) to one model per store,
end to end through the compiled service on its default settings (read and route the CSV, spill
partitions, pin versions, load each model, score — per-row work on the scoring threads,
inference on serving's worker threads — write and rename each partition's output, concatenate,
fsync and commit with a manifest), from the job's \`createdAt\` to its \`finishedAt\`;
"planning" is the part until the partitions are in the ledger, as the planner logs it. The
baseline, in the same run, is what a one-process script needs of onnxruntime for the same rows:
create each store's session (bytes already in memory) and run its rows in one call. The ratio
is end-to-end rows/s ÷ baseline rows/s (the issue's goal: ≥ 0.5). A second ratio leaves session
creation out of the baseline (sessions created beforehand, only the \`run\` calls timed). The
service's CPU over the job, all threads, is the figure the shared machine's noise moves least.

The default model is a gradient-boosted tree ensemble of the size LightGBM trains by default
(\`--model gbm\`: 100 trees of depth 5), the usual per-store demand model; \`--model mlp\` is a
6→16→1 MLP, a far cheaper model.

How to read it: for 1,000 stores the onnxruntime work is half session creation (each store's
model is loaded once: no cache of a nightly run's size is warm) and half \`run\`; the service
overlaps the loading with the read of the input (while planning reads, each new route is
resolved and its model starts loading into the session cache's free room) and spreads the rest
over the main thread (planning, the ledger and queue, the embedded database), two scoring
threads (staging rows → tensors → encoded output, up to 4 partitions each) and the inference
workers. With the tree ensemble the job runs at about half the baseline's rate and at about a
quarter of the bare \`run\` calls alone. A tree ensemble's session is estimated at 10× its file
(it takes 7–11×), so the 1,000 models (1.5 GB estimated) do not all fit the default 1 GiB
cache: part of them are warmed while planning reads and the rest load as their partitions run,
evicting finished ones (a 2 GiB cache measured no different).

The figures depend on the machine more than on anything else: on 2026-11-25 (AMD EPYC) the
baseline took 6.3 s and the job 11–12 s (ratios 0.53 and 0.58); on 2026-11-26 (Intel Xeon) the
baseline took 4.7–5.7 s and the job 9.8–12.8 s (embedded 0.36–0.52 over fifteen runs,
PostgreSQL ~0.55). Later on 2026-11-26 (AMD EPYC, slower that day: baseline 8–10 s), two
changes cut the service's own work: planning bounds CSV fields in one pass over the bytes, and
partition slots take 16 partitions a round (the ledger and queue statements per partition
halve; the default \`maxConcurrency\` became 32 to keep two slots full). Over six embedded runs
after them the ratio ranged 0.51–0.56 (15–18 s end to end), against 0.44–0.58 in the runs just
before; the table below is one more of each kind. Where the CPU goes (\`CPU by thread\`, user +
system, per row): the service spends ~28 µs, of which the inference workers ~9 (about the bare
baseline); then planning's read of the input ~5 (one thread, while the other core warms
models), the scoring threads ~5, V8's background threads (garbage collection, compilation) ~4,
the main thread's ledger, queue and relays during scoring ~2–3 (the embedded database runs
there; each statement costs it milliseconds), file I/O ~1. Tried without gain: PGlite on a
thread of its own (more GC, no less main-thread CPU per request). For the small MLP, whose \`run\`
costs 0.04 µs a row, nothing but inference that cheap could keep up: the ratio there is set by
reading 117 MiB of CSV and writing the output. On this 2-core machine the service's threads and
other sessions' work share the cores, so wall times swing by a third between runs; compare the
ratios (both sides slow down together) and the CPU per row.
`;

/** Planning's three steps as the planner logged them (the poll above is too coarse to time them). */
function planningSeconds(): number {
  const line = serverLog.find((l) => l.includes('BatchPlanner')) ?? '';
  return [...line.matchAll(/(\d+(?:\.\d+)?) s/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** What the service said planning took: `: read and spill 9.9 s, resolve 2.8 s, record 0.1 s`. */
function planBreakdown(): string {
  const line = serverLog.find((l) => l.includes('BatchPlanner'));
  const m = line && /\((read and spill [^)]*)\)/.exec(line);
  return m ? `: ${m[1]}` : '';
}

function describeModel(options: Options): string {
  return options.model === 'mlp' ? `MLP 6→${options.hidden}→1` : options.model === 'tree' ? 'tree ensemble (3 trees)' : options.model === 'gbm' ? `gradient-boosted trees (${options.trees} trees of depth ${options.depth})` : 'linear';
}

/** Spot-checks predictions of the committed output against each fixture's reference. */
function checkSample(file: string, models: TabularFixtureModel[], features: Float32Array[], options: Options): void {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  if (lines[0] !== 'id,model,version,variable') throw new Error(`unexpected header ${lines[0]}`);
  for (let k = 1; k < lines.length; k += Math.max(1, Math.floor(lines.length / 500))) {
    if (!lines[k]) continue;
    const [id, model, , value] = lines[k].split(',');
    const [s, r] = id.split('-').map(Number);
    if (model !== `seg-${s}`) throw new Error(`row ${id} went to ${model}`);
    const row = Array.from(features[s].subarray(r * 6, r * 6 + 6));
    const want = models[s].expected([row])[0][0];
    if (Math.abs(Number(value) - want) > 1e-3 * Math.max(1, Math.abs(want))) throw new Error(`row ${id}: ${value}, expected ${want}`);
  }
  void options;
}

/** The busiest threads' CPU since `before`, in thread start order. */
function threadCpuDelta(pid: number, before: Map<number, { user: number; sys: number }>): string {
  const after = cpuByThread(pid);
  return [...after]
    .map(([tid, t]) => [tid, t.user - (before.get(tid)?.user ?? 0), t.sys - (before.get(tid)?.sys ?? 0)] as const)
    .filter(([, user, sys]) => user + sys >= 0.1)
    .sort((a, b) => a[0] - b[0])
    .map(([tid, user, sys]) => `${tid}:${user.toFixed(1)}+${sys.toFixed(1)}`)
    .join(' ');
}

/** The service's log lines about batch work (planning and commit timings). */
const serverLog: string[] = [];

async function startServer(env: Record<string, string>, profile: string | null): Promise<{ child: ChildProcess; url: string }> {
  const root = findRepoRoot(__dirname, process.cwd());
  const child = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), path.join(root, 'dist', 'src', 'main.js')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MMS_ADMIN_TOKEN: TOKEN, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'log', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      output += b.toString();
      for (const line of b.toString().split('\n')) if (/BatchPlanner|BatchCommitter|BatchWorker|ERROR|WARN/.test(line)) serverLog.push(line.replace(/^.*?(LOG|WARN|ERROR)\s+/, '$1 '));
      const m = /listening on (http:\/\/\S+) /.exec(output);
      if (m) resolve({ child, url: m[1] });
      if (output.length > 1 << 20) output = output.slice(-4096);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output.slice(-4000)}`)));
  });
}

function write(stream: fs.WriteStream, chunk: string): Promise<void> | void {
  if (stream.write(chunk)) return;
  return new Promise((resolve) => stream.once('drain', resolve));
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
