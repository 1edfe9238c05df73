import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mulberry32 } from '../src/common/seeded-random';
import { buildLinearModel, buildMlpModel, TabularFixtureModel } from '../test/fixtures/onnx-builder';
import { RunningProcess, spawnNode } from '../test/support/processes';
import { findRepoRoot, writeSubsection } from './support/benchmarks-doc';
import { LoadResult, LoadSpec, runLoad } from './support/load-client';
import { BENCH_ROOT_TOKEN, cpuOf, inParallel, Platform, startPlatform } from './support/platform';
import { quantile } from './support/timing';

/**
 * `npm run bench`: the online serving benchmarks of issue 3 (hot, many, stampede, big beside
 * small), the mirror benchmark of issue 6, and the micro-batching sweep behind the defaults of
 * MMS_BATCH_WINDOW_MS and MMS_BATCH_MAX_ROWS. Every figure that matters is a ratio against a
 * baseline measured in the same run. Prints the figures and rewrites its subsections of the
 * "Online serving" section of docs/benchmarks.md (only those that ran).
 *
 *   node dist/bench/serving-bench.js [--only hot,many,many-mlp,stampede,big,mirror,sweep] [--seconds 8]
 *        [--rounds 3] [--no-doc]
 */

const SECTION = '## Online serving (`npm run bench`)';
const INTRO = `
What it checks (the goals of issues 3 and 6): whether the platform serves small models at least
as fast as the server a user would write by hand (auth, validation, routing, metrics and lazy
loading included), keeps its memory within the session cache's bound at 5,000 models, loads a
cold model once however many requests wait for it, keeps small requests fast beside a big one,
and mirrors traffic cheaply; each subsection says whether its goal is met. The service is the
compiled one (\`node dist/src/main.js\` with \`GLIBC_TUNABLES\` as \`npm start\` sets it, embedded
PGlite, defaults unless a subsection says otherwise), driven over loopback by a load generator in its own process
(\`bench/support/load-client.ts\`: keep-alive sockets, closed loop or paced, prebuilt requests,
every latency kept). Scorer-key auth and metrics (\`/metrics\`, the observability module) are on; the
prediction log keeps its defaults (every prediction up to 1,000 a second, then a steady sample of
1,000 a second: \`MMS_PREDICTION_LOG_MAX_PER_SECOND\`). Models are small linear
regressions over 6 features built by \`test/fixtures/onnx-builder.ts\` (§2b: MLPs of 0.5 MB). The machine is shared
and has 2 cores, which the load generator shares with the servers: compare ratios, not absolute
figures. Subsections run alone with \`npm run build && node dist/bench/serving-bench.js --only
hot,many,many-mlp,stampede,big,mirror,sweep\` (\`--seconds N\`: a hot round, default 8; \`--rounds N\`:
hot rounds, and half the mirror's pairs, default 3; \`--platform-env NAME=value,…\` to try a setting).
`;

const FEATURES = 6;
const ALL = ['hot', 'many', 'many-mlp', 'stampede', 'big', 'mirror', 'sweep'] as const;
type Part = (typeof ALL)[number];

interface Options {
  only: Set<Part>;
  seconds: number;
  rounds: number;
  writeDoc: boolean;
}

interface Section {
  key: string;
  markdown: string;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const machine = machineLine();
  process.stdout.write(`serving bench: ${[...options.only].join(', ')} · ${machine}\n`);
  const sections: Section[] = [];
  const run = async (part: Part, fn: () => Promise<Section>) => {
    if (!options.only.has(part)) return;
    const t0 = performance.now();
    process.stdout.write(`\n== ${part}\n`);
    const section = await fn();
    process.stdout.write(`(${part}: ${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    sections.push(section);
    if (options.writeDoc) writeDoc(section, machine);
  };
  await run('hot', () => hotBench(options));
  await run('many', () => manyBench(MANY_SMALL));
  await run('many-mlp', () => manyBench(MANY_MLP));
  await run('stampede', () => stampedeBench());
  await run('big', () => bigBench());
  await run('mirror', () => mirrorBench(options));
  await run('sweep', () => sweepBench(options));
  process.stdout.write(`\nwhole run: ${((performance.now() - began) / 1000).toFixed(0)} s\n`);
  if (options.writeDoc) process.stdout.write(`docs/benchmarks.md: rewrote ${sections.map((s) => s.key).join(', ')}\n`);
}

function writeDoc(section: Section, machine: string): void {
  const file = path.join(findRepoRoot(__dirname, process.cwd()), 'docs', 'benchmarks.md');
  const date = new Date().toISOString().slice(0, 10);
  const lines = section.markdown.trim().split('\n');
  // The run's facts go under each subsection's heading.
  const withFacts = [lines[0], '', `${date} · ${machine}.`, ...lines.slice(1)].join('\n');
  writeSubsection(file, SECTION, INTRO, section.key, withFacts);
}

// ---------------------------------------------------------------------------------------------
// 1. Hot: 30 preloaded models, platform versus the hand-written peer, alternating
// ---------------------------------------------------------------------------------------------

const HOT_MODELS = 30;
const HOT_CONNECTIONS = 32;
const HOT_WARM_UP_MS = 15_000;

type HotServer = 'platform' | 'peer' | 'noLog' | 'logAll';
const HOT_LABELS: Record<HotServer, string> = {
  platform: 'platform',
  peer: 'hand-written peer',
  noLog: 'platform, prediction log off',
  logAll: 'platform, every prediction logged',
};

async function hotBench(options: Options): Promise<Section> {
  const models = Array.from({ length: HOT_MODELS }, (_, i) => ({ name: `hot-${pad(i, 2)}`, model: linearModel(i) }));
  const bodies = rowBodies(models.map((m) => m.name), 8, 11);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serving-bench-peer-'));
  for (const m of models) fs.writeFileSync(path.join(dir, `${m.name}.onnx`), m.model.bytes);
  const platform = await startService();
  // The same service with MMS_PREDICTION_LOG_RATE=0: how much of the gap the prediction log is.
  const noLog = await startService({ MMS_PREDICTION_LOG_RATE: '0' });
  // And with no budget on the log (MMS_PREDICTION_LOG_MAX_PER_SECOND=0): what logging every prediction would cost.
  const logAll = await startService({ MMS_PREDICTION_LOG_MAX_PER_SECOND: '0' });
  let peer: RunningProcess | null = null;
  try {
    await preparePlatform(platform, models);
    await preparePlatform(noLog, models);
    await preparePlatform(logAll, models);
    const started = await spawnNode('bench/peer-server.js', [dir], {}, /peer listening on (http:\/\/\S+) /);
    peer = started.proc;
    const servers: Record<HotServer, { url: string; pid: number; key: string }> = {
      platform: { url: platform.url, pid: platform.pid, key: platform.scorerKey },
      noLog: { url: noLog.url, pid: noLog.pid, key: noLog.scorerKey },
      logAll: { url: logAll.url, pid: logAll.pid, key: logAll.scorerKey },
      peer: { url: started.match[1], pid: peer.child.pid!, key: platform.scorerKey },
    };
    await checkSameAnswers(platform, servers.peer.url, bodies[0]);
    const spec = (who: HotServer): LoadSpec => ({
      url: servers[who].url,
      path: '/v1/predict',
      headers: { authorization: `Bearer ${servers[who].key}` },
      bodies,
      pick: { kind: 'uniform' },
      connections: HOT_CONNECTIONS,
      durationMs: options.seconds * 1000,
      warmupMs: 1500,
    });
    const order: HotServer[] = ['platform', 'peer', 'noLog', 'logAll'];
    // Warm each before anything counts: sockets, and V8's optimising compiler, which after 3 s of
    // this load still kept the platform's four V8 helper threads busy (~20 µs of CPU a request
    // between them, mostly compiling; ~7 µs after 25 s).
    for (const who of order) await expectOk(runLoad({ ...spec(who), durationMs: HOT_WARM_UP_MS }), `${who} warm-up`);
    type Measured = LoadResult & { mainCpuUs: number; processCpuUs: number; mainWaitShare: number };
    const rounds: Array<Record<HotServer, Measured>> = [];
    for (let r = 0; r < options.rounds; r++) {
      // Each server runs first, second and last in turn, so none always follows the same one.
      const turn = [...order.slice(r % order.length), ...order.slice(0, r % order.length)];
      const round = {} as Record<HotServer, Measured>;
      for (const who of turn) {
        const before = cpuOf(servers[who].pid);
        const startedAt = performance.now();
        const result = await expectOk(runLoad(spec(who)), who);
        const after = cpuOf(servers[who].pid);
        const wallSeconds = (performance.now() - startedAt) / 1000;
        // The CPU of the whole run (warm-up stretch included) over the requests it answered.
        const answered = result.requests * (1 + 1500 / (options.seconds * 1000));
        round[who] = {
          ...result,
          mainCpuUs: (1e6 * (after.main - before.main)) / answered,
          processCpuUs: (1e6 * (after.total - before.total)) / answered,
          mainWaitShare: (after.mainWaited - before.mainWaited) / wallSeconds,
        };
        const x = round[who];
        process.stdout.write(
          `  round ${r + 1} ${who.padEnd(8)} ${fmtInt(x.rps)} req/s  p50 ${fmtMs(x.p50Ms)}  p99 ${fmtMs(x.p99Ms)} ms  CPU/request: main thread ${x.mainCpuUs.toFixed(0)} µs, process ${x.processCpuUs.toFixed(0)} µs, load client ${x.clientCpuUsPerRequest.toFixed(0)} µs; main thread waiting for a CPU ${fmtShare(x.mainWaitShare)}\n`,
        );
      }
      rounds.push(round);
    }
    const cache = (await platform.request('GET', '/v1/cache')).body as { models: Array<{ stats: { requests: number; calls: number } }> };
    const requests = cache.models.reduce((sum, m) => sum + m.stats.requests, 0);
    const calls = cache.models.reduce((sum, m) => sum + m.stats.calls, 0);
    const seconds = rounds.reduce((sum, r) => sum + r.platform.seconds, 0);
    const agg = (who: HotServer) => ({
      rps: rounds.reduce((sum, r) => sum + r[who].requests, 0) / seconds,
      p50: median(rounds.map((r) => r[who].p50Ms)),
      p99: median(rounds.map((r) => r[who].p99Ms)),
      main: median(rounds.map((r) => r[who].mainCpuUs)),
      total: median(rounds.map((r) => r[who].processCpuUs)),
      // The share of one core the HTTP thread was busy: the peer's one thread near 100 % is its limit.
      busy: median(rounds.map((r) => (r[who].mainCpuUs * r[who].rps) / 1e6)),
      client: median(rounds.map((r) => r[who].clientCpuUsPerRequest)),
      waited: median(rounds.map((r) => r[who].mainWaitShare)),
    });
    const a = { platform: agg('platform'), peer: agg('peer'), noLog: agg('noLog'), logAll: agg('logAll') };
    const ratios = rounds.map((r) => r.platform.rps / r.peer.rps);
    const ratio = a.platform.rps / a.peer.rps;
    const everyRound = ratios.every((r) => r >= 1);
    const verdict = ratio < 1 ? '✗ below the goal of 1.0×' : everyRound ? '✓ goal met (≥ 1.0×) in every round' : '✓ goal met (≥ 1.0×) over the run, not in every round';
    process.stdout.write(`  platform/peer requests/s: ${fmtRatio(ratio)} (rounds ${ratios.map(fmtRatio).join(', ')}) ${verdict}; prediction log off: ${fmtRatio(a.noLog.rps / a.peer.rps)}, every prediction logged: ${fmtRatio(a.logAll.rps / a.peer.rps)}\n`);
    process.stdout.write(`  p99 platform ${fmtMs(a.platform.p99)} ms, peer ${fmtMs(a.peer.p99)} ms (${fmtRatio(a.platform.p99 / a.peer.p99)})\n`);
    process.stdout.write(`  micro-batching: ${fmtInt(requests)} requests in ${fmtInt(calls)} runtime calls (${(requests / Math.max(1, calls)).toFixed(2)} per call)\n`);
    const row = (who: HotServer) => [HOT_LABELS[who], fmtInt(a[who].rps), fmtMs(a[who].p50), fmtMs(a[who].p99), a[who].main.toFixed(0), a[who].total.toFixed(0), `${(100 * a[who].busy).toFixed(0)} %`, fmtShare(a[who].waited)];
    const vs = (who: HotServer) => [
      `**${{ platform: 'platform', noLog: 'log off', logAll: 'every prediction logged', peer: 'peer' }[who]} ÷ peer**`,
      `**${fmtRatio(a[who].rps / a.peer.rps)}**`,
      fmtRatio(a[who].p50 / a.peer.p50),
      fmtRatio(a[who].p99 / a.peer.p99),
      fmtRatio(a[who].main / a.peer.main),
      fmtRatio(a[who].total / a.peer.total),
      '',
      '',
    ];
    const markdown = [
      `### 1. Hot: 30 preloaded models, platform versus a hand-written server`,
      '',
      `${HOT_MODELS} models preloaded (\`POST /v1/models/{name}/load\`), single-row \`POST /v1/predict\` requests spread at random over them, ${HOT_CONNECTIONS} connections, ` +
        `${options.rounds} rounds of ${options.seconds} s per server after a warm-up of ${HOT_WARM_UP_MS / 1000} s each (until V8's background compilation settles), the servers taking turns in a rotating order. ` +
        `The peer (\`bench/peer-server.ts\`) is what a user would write: \`node:http\` + onnxruntime-node, one process, the same ${HOT_MODELS} sessions preloaded, ` +
        `parse the JSON, look the session up, run it on the event loop, answer JSON; both answer the same numbers (checked first). ` +
        `Two more instances of the platform show what the prediction log costs: one with \`MMS_PREDICTION_LOG_RATE=0\` (off), ` +
        `one with \`MMS_PREDICTION_LOG_MAX_PER_SECOND=0\` (no budget: every prediction logged, the default before the budget). ` +
        `Requests/s are totals over the rounds; latencies and CPU are medians of the rounds. ` +
        `CPU per request (\`/proc/<pid>/task/*/stat\`, all of a run over the requests answered) is the figure the machine's noise moves least: ` +
        `*main thread* is the one that runs HTTP, *process* adds the inference workers and V8's helper threads.`,
      '',
      markdownTable(['server', 'requests/s', 'p50 ms', 'p99 ms', 'CPU µs/request, main thread', 'CPU µs/request, process', 'main thread busy', 'main thread waiting for a CPU'], [
        row('platform'),
        row('peer'),
        row('noLog'),
        row('logAll'),
        vs('platform'),
        vs('noLog'),
        vs('logAll'),
      ]),
      '',
      `Platform ÷ peer requests/s by round: ${ratios.map(fmtRatio).join(', ')}. ${verdict}. ` +
        `Micro-batching merged ${fmtInt(requests)} platform requests into ${fmtInt(calls)} runtime calls (${(requests / Math.max(1, calls)).toFixed(2)} per call).`,
      '',
      `What sets requests/s: the HTTP thread. The peer does everything on its one thread, busy ${(100 * a.peer.busy).toFixed(0)} % of the time; ` +
        `the load generator needs ${a.peer.client.toFixed(0)} µs of CPU a request (${a.platform.client.toFixed(0)} µs against the platform), so the 2 cores are not its limit. ` +
        `The platform's HTTP thread parses, authenticates, resolves, checks the inputs, meters and answers, but hands each call to an inference worker thread ` +
        `(inference must stay off the HTTP thread, so that a big request cannot stall the others) and gets the outputs back: a message each way and a wake-up of the ` +
        `other thread, which the peer does not pay. And its threads compete for the 2 cores: the HTTP thread is busy ${(100 * a.platform.busy).toFixed(0)} % of the time, ` +
        `waits for a CPU (runnable, while the inference workers, V8's helper threads and the load generator hold both) ${fmtShare(a.platform.waited)} of it, ` +
        `and waits on the workers the rest (the peer's thread waits for a CPU ${fmtShare(a.peer.waited)} of the time). Since the common case of \`/v1/predict\` is answered ahead of Fastify (README, HTTP thread) and the ` +
        `embedded database runs in its own thread, the HTTP thread spends ${fmtRatio(a.platform.main / a.peer.total)} of the CPU per request the peer spends on everything (inference included): ` +
        `what it does beyond parsing and answering (authentication, input checks, resolution, metrics, prediction ids and log, sending and receiving the calls), ` +
        `spread over many small steps none of which is more than a few percent of it (CPU profiles). ` +
        `The biggest single item of both is the kernel's send of the answer (\`writev\`, which on loopback also delivers it to the client): ` +
        `in profiles of both servers under this load on 2026-11-27, 55 % of the peer's samples and 38 % of the platform HTTP thread's, about 13 µs a request in each, ` +
        `so the platform's extra CPU is its own work, not a costlier write. ` +
        `How much of the gap the hand-off itself is was measured once, with an experimental build (not kept) that ran inference on the HTTP thread: ` +
        `on 2026-11-26, in 6 paired rounds, it answered 1.11× the requests/s of this build and 0.81× the peer's, with as much HTTP-thread CPU per request; ` +
        `so on 2 cores the platform's margin is thin either way: this ratio has measured about 0.7× on fast days here (the peer at ~40,000 requests/s) ` +
        `and 0.84–1.05× on slow ones (~7,000–20,000), moving with the machine's speed more than with the code, and what the hand-off does not explain is the platform's own work per request.`,
    ].join('\n');
    return { key: '### 1.', markdown };
  } finally {
    await peer?.stop();
    await platform.stop();
    await noLog.stop();
    await logAll.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function checkSameAnswers(platform: Platform, peerUrl: string, body: string): Promise<void> {
  const ask = async (url: string) => {
    const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.scorerKey}` }, body });
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { outputs: unknown }).outputs;
  };
  const [a, b] = [await ask(platform.url), await ask(peerUrl)];
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`platform and peer disagree: ${JSON.stringify(a)} versus ${JSON.stringify(b)}`);
}

// ---------------------------------------------------------------------------------------------
// 2. Many: 5,000 models, a cache of 500, a Zipf(1.0) stream
// ---------------------------------------------------------------------------------------------

const MANY_MODELS = 5000;
const MANY_CACHE = 500;
const MANY_SECONDS = 20;
const MANY_STRETCHES = 3;
const MANY_CONNECTIONS = 32;

/** What the many-models bench registers 5,000 times: the model, and how its section is headed and keyed. */
interface ManyVariant {
  key: string;
  heading: string;
  /** How the models are described in the section's text. */
  models: string;
  /** What the section says after its table about reading the memory check. */
  reading: string;
  model(): TabularFixtureModel;
}

const MANY_SMALL: ManyVariant = {
  key: '### 2.',
  heading: `### 2. Many: 5,000 models, a cache of 500, a Zipf(1.0) stream`,
  models: 'the same small ONNX bytes of a linear model, stored once, each under its own name',
  reading:
    'With sessions of about 0.1 MiB the bound (63 MiB) is no bigger than the idle process\'s own swings from run to run (−81…+81 MiB ' +
    'between runs of 2026-11-27), so this memory check is within noise, met on some runs and missed on others; §2b checks the bound where it is large beside them.',
  model: () => linearModel(1),
};

/**
 * The same with models of half a megabyte (an MLP 6→16,384→1): the bound (500 × ~1.1 MiB) is then
 * large beside the idle process's own swings, which swamp the small models' 63 MiB bound.
 */
const MANY_MLP: ManyVariant = {
  key: '### 2b.',
  heading: `### 2b. Many, bigger models: 5,000 MLPs of 0.5 MB, a cache of 500, a Zipf(1.0) stream`,
  models: 'the same 0.5 MB ONNX bytes of an MLP 6→16,384→1, stored once, each under its own name',
  reading:
    'A session is estimated at 128 KiB + 2 × its file + the padding of its packed weights (README, Session cache: here 0.9 MiB, for the last ' +
    'layer [16,384, 1]), so the bytes bound (1 GiB by default) holds a few models fewer than 500. The service runs with ' +
    '`GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072`, as `npm start` starts it: on 2026-11-27 the same bench without it (glibc\'s default, ' +
    'which raises the threshold as big blocks are freed) measured a growth of 1.78× the bound, at the same throughput in a paired run ' +
    '(536 and 547 requests/s, 184 and 187 loads/s); before the padding was counted, 3.0× the bound as then estimated (docs/cache.md, Memory of the process).',
  model: () => buildMlpModel({ nFeatures: FEATURES, hidden: 16_384, seed: 1 }),
};

async function manyBench(variant: ManyVariant): Promise<Section> {
  const platform = await startService({ MMS_CACHE_MAX_MODELS: String(MANY_CACHE), NODE_OPTIONS: withGcOnSignal(platformEnv.NODE_OPTIONS) });
  try {
    const bootRss = platform.rssKiB();
    const model = variant.model();
    const names = Array.from({ length: MANY_MODELS }, (_, i) => `many-${pad(i, 4)}`);
    const t0 = performance.now();
    await inParallel(names, 16, (name) => platform.upload(name, model.bytes));
    const registerS = (performance.now() - t0) / 1000;
    process.stdout.write(`  registered ${fmtInt(MANY_MODELS)} models (same bytes, own names) in ${registerS.toFixed(1)} s (${fmtInt(MANY_MODELS / registerS)}/s, 16 parallel uploads)\n`);
    await platform.createScorerKey();
    const idle = await retainedMemory(platform);
    // Most popular first: Zipf rank i is model i.
    const bodies = names.map((name, i) => predictBody(name, rowOf(i)));
    const spec: LoadSpec = {
      url: platform.url,
      path: '/v1/predict',
      headers: { authorization: `Bearer ${platform.scorerKey}` },
      bodies,
      pick: { kind: 'zipf', s: 1 },
      connections: MANY_CONNECTIONS,
      durationMs: 5000,
      seed: 7,
    };
    // A second idle figure: the process once its request path has run (JIT, sockets, the
    // workers' own heaps), with nothing loaded again. 10 models for 3 s, then unloaded.
    const warmNames = names.slice(MANY_MODELS - 10);
    await expectOk(runLoad({ ...spec, bodies: warmNames.map((n, i) => predictBody(n, rowOf(i))), pick: { kind: 'uniform' }, durationMs: 3000 }), 'many request-path warm-up');
    for (const name of warmNames) await platform.request('POST', `/v1/models/${name}/unload`, {});
    const warmIdle = await retainedMemory(platform);
    // Fill the cache first; the measured stretch starts warm.
    await expectOk(runLoad(spec), 'many warm-up');
    const before = await cacheTotals(platform);
    const result = await expectOk(runLoad({ ...spec, durationMs: MANY_SECONDS * 1000, seed: 8 }), 'many');
    const after = await cacheTotals(platform);
    // More stretches of the same load: memory that grows with time (a leak, or fragmentation that
    // has not settled) shows as a rise from one to the next. The goal is judged after the last.
    const stretches: RetainedMemory[] = [await retainedMemory(platform)];
    for (let i = 1; i < MANY_STRETCHES; i++) {
      await expectOk(runLoad({ ...spec, durationMs: MANY_SECONDS * 1000, seed: 8 + i }), `many, stretch ${i + 1}`);
      stretches.push(await retainedMemory(platform));
    }
    const end = stretches[stretches.length - 1];
    const cache = (await platform.request('GET', '/v1/cache')).body as { usage: { models: number; bytes: number }; limits: { maxBytes: number; maxModels: number } };
    const d = (k: keyof CacheTotals) => after[k] - before[k];
    const lookups = d('hits') + d('misses');
    const hitRate = d('hits') / lookups;
    const loadsPerS = d('loads') / result.seconds;
    const sessionBytes = cache.usage.bytes / Math.max(1, cache.usage.models);
    const boundKiB = (MANY_CACHE * sessionBytes) / 1024;
    const growth = end.retainedKiB - idle.retainedKiB;
    const warmGrowth = end.retainedKiB - warmIdle.retainedKiB;
    const within = growth <= boundKiB;
    const warmWithin = warmGrowth <= boundKiB;
    const split = (from: RetainedMemory) => {
      const heap = end.heapKiB - from.heapKiB;
      return `HTTP thread's V8 heap ${fmtSignedMiB(heap)}, the rest ${fmtSignedMiB(end.retainedKiB - from.retainedKiB - heap)}`;
    };
    const retainedByStretch = stretches.map((m) => fmtMiB(m.retainedKiB)).join(' / ');
    const garbage = stretches.map((m) => fmtSignedMiB(m.asLeftKiB - m.retainedKiB)).join(' / ');
    const ideal = harmonic(MANY_CACHE) / harmonic(MANY_MODELS);
    process.stdout.write(
      `  ${fmtInt(result.rps)} req/s, p50 ${fmtMs(result.p50Ms)} ms, p99 ${fmtMs(result.p99Ms)} ms; hit rate ${fmtPct(hitRate)} (ideal top-500 ${fmtPct(ideal)}); ` +
        `${loadsPerS.toFixed(0)} loads/s, ${d('evictions')} evictions; cache holds ${cache.usage.models} models\n`,
    );
    process.stdout.write(
      `  RSS retained (after a full GC): ${fmtMiB(bootRss)} after boot (no GC), ${fmtMiB(idle.retainedKiB)} idle after registering, ${fmtMiB(warmIdle.retainedKiB)} idle after a warm-up, ` +
        `${retainedByStretch} after each stretch; bound ${fmtMiB(boundKiB)} (${MANY_CACHE} × ${fmtMiB(sessionBytes / 1024)} estimated per session)\n` +
        `  garbage the load left (RSS before the GC − after): ${garbage}\n` +
        `  growth from idle ${fmtSignedMiB(growth)} ${within ? '✓' : '✗'} (${split(idle)}); from warm idle ${fmtSignedMiB(warmGrowth)} ${warmWithin ? '✓' : '✗'} (${split(warmIdle)})\n`,
    );
    const markdown = [
      variant.heading,
      '',
      `${fmtInt(MANY_MODELS)} models registered (${variant.models}) with 16 parallel uploads: ` +
        `${registerS.toFixed(1)} s (${fmtInt(MANY_MODELS / registerS)} models/s). \`MMS_CACHE_MAX_MODELS=${MANY_CACHE}\`. ` +
        `Single-row requests over ${MANY_CONNECTIONS} connections pick model rank *i* with probability ∝ 1/*i*; 5 s to fill the cache, then ${MANY_SECONDS} s measured ` +
        `(requests/s to loads/s), then ${MANY_STRETCHES - 1} more stretches as long, for memory that grows with time. RSS is VmRSS of the server process (\`/proc/<pid>/status\`), read ${QUIET_MS / 1000} s after the last request ` +
        `(*as the load left it*) and again after a full garbage collection in every thread (*retained*; the bench starts this service with \`--expose-gc\` and ` +
        `\`bench/support/gc-on-signal.ts\`). *Idle* is before anything was loaded, *warm idle* after 3 s of requests to 10 models that were then unloaded ` +
        `(the request path has run: JIT, sockets, the inference workers' own V8 heaps). The bound is the cache's: ${MANY_CACHE} sessions × the estimated size of one; the growth is the retained RSS after the last stretch.`,
      '',
      markdownTable(
        ['figure', 'value'],
        [
          ['requests/s', fmtInt(result.rps)],
          ['p50 / p99 ms', `${fmtMs(result.p50Ms)} / ${fmtMs(result.p99Ms)}`],
          ['cache hit rate', `${fmtPct(hitRate)} (${fmtInt(d('hits'))} hits, ${fmtInt(d('misses'))} misses)`],
          ['hit rate of an ideal cache holding the 500 most popular', fmtPct(ideal)],
          ['loads/s', `${loadsPerS.toFixed(0)} (${fmtInt(d('loads'))} loads, ${fmtInt(d('evictions'))} evictions)`],
          ['models loaded at the end', `${cache.usage.models} of ${MANY_CACHE} allowed`],
          ['RSS retained: idle / warm idle', `${fmtMiB(idle.retainedKiB)} / ${fmtMiB(warmIdle.retainedKiB)}`],
          [`RSS retained after each of the ${MANY_STRETCHES} stretches`, retainedByStretch],
          ['garbage the load left (RSS before the GC − after), by stretch', garbage],
          ['cache bound', `${fmtMiB(boundKiB)} (${MANY_CACHE} × ${fmtMiB(sessionBytes / 1024)})`],
          [`**retained growth from idle ÷ bound**`, `**${fmtSigned(growth / boundKiB)}** (${fmtSignedMiB(growth)}: ${split(idle)}) ${within ? '✓' : '✗'}`],
          [`**retained growth from warm idle ÷ bound**`, `**${fmtSigned(warmGrowth / boundKiB)}** (${fmtSignedMiB(warmGrowth)}: ${split(warmIdle)}) ${warmWithin ? '✓' : '✗'}`],
        ],
      ),
      '',
      `The HTTP thread's V8 heap is from \`/metrics\`; the rest is native memory (the sessions, in glibc's thread arenas; the embedded database's ` +
        `WebAssembly heap) and the worker threads' own V8 heaps. The garbage a load leaves on the HTTP thread's heap grows with the request and load rate, ` +
        `not with the number of models, and V8 gives it back at its next full collection (without requests, seen within about a minute).`,
      '',
      variant.reading,
    ].join('\n');
    return { key: variant.key, markdown };
  } finally {
    await platform.stop();
  }
}

interface RetainedMemory {
  /** VmRSS before the full GC: what the process holds, garbage included. */
  asLeftKiB: number;
  /** VmRSS after a full GC in every thread. */
  retainedKiB: number;
  /** The HTTP thread's V8 heap in use after the GC. */
  heapKiB: number;
}

/** RSS after a quiet moment, then after a full GC in every thread (see gc-on-signal.ts). */
async function retainedMemory(platform: Platform): Promise<RetainedMemory> {
  await sleep(QUIET_MS);
  const asLeftKiB = platform.rssKiB();
  process.kill(platform.pid, 'SIGWINCH');
  // V8 unmaps the freed pages on helper threads, shortly after the collection.
  await sleep(GC_SETTLE_MS);
  return { asLeftKiB, retainedKiB: platform.rssKiB(), heapKiB: await httpThreadHeapKiB(platform) };
}

/** NODE_OPTIONS that let the bench trigger a full GC in the service (SIGWINCH), after any the user gave. */
function withGcOnSignal(given = ''): string {
  return `${given} --expose-gc --require ${path.join(__dirname, 'support', 'gc-on-signal.js')}`.trim();
}

const GC_SETTLE_MS = 2000;

/** How long the service is left without requests before its RSS is read. */
const QUIET_MS = 8000;

interface CacheTotals {
  hits: number;
  misses: number;
  loads: number;
  evictions: number;
}

async function cacheTotals(platform: Platform): Promise<CacheTotals> {
  const res = await platform.request('GET', '/v1/cache');
  if (res.status !== 200) throw new Error(`GET /v1/cache: ${res.status}`);
  const b = res.body as CacheTotals;
  return { hits: b.hits, misses: b.misses, loads: b.loads, evictions: b.evictions };
}

// ---------------------------------------------------------------------------------------------
// 3. Stampede: 200 concurrent requests to one cold model
// ---------------------------------------------------------------------------------------------

const STAMPEDE = 200;

async function stampedeBench(): Promise<Section> {
  const platform = await startService();
  try {
    await platform.createScorerKey();
    const rows: string[][] = [];
    for (const [i, name] of ['cold-a', 'cold-b', 'cold-c'].entries()) {
      await platform.upload(name, linearModel(100 + i).bytes);
      const before = await cacheTotals(platform);
      const t0 = performance.now();
      // 200 requests in flight at once, each on its own connection.
      const statuses = await Promise.all(
        Array.from({ length: STAMPEDE }, (_, k) =>
          fetch(`${platform.url}/v1/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.scorerKey}` },
            body: predictBody(name, rowOf(k)),
          }).then(async (r) => (await r.arrayBuffer(), r.status)),
        ),
      );
      const ms = performance.now() - t0;
      const after = await cacheTotals(platform);
      const ok = statuses.filter((s) => s === 200).length;
      const loads = after.loads - before.loads;
      process.stdout.write(`  ${name}: ${ok}/${STAMPEDE} answered 200 in ${fmtMs(ms)} ms; loads ${loads}, misses ${after.misses - before.misses} ${loads === 1 ? '✓' : '✗'}\n`);
      rows.push([name, `${ok} / ${STAMPEDE}`, String(after.misses - before.misses), `**${loads}** ${loads === 1 ? '✓' : '✗'}`, fmtMs(ms)]);
    }
    const markdown = [
      `### 3. Stampede: ${STAMPEDE} concurrent requests to one cold model`,
      '',
      `A model is registered and not loaded; ${STAMPEDE} single-row predictions for it are sent at once, each on its own connection. ` +
        `\`loads\` is the change of \`GET /v1/cache\`'s \`loads\` across the burst (exactly one is the goal). Three models, one after the other.`,
      '',
      markdownTable(['model', 'answered 200', 'misses', 'loads', 'all answered in ms'], rows),
    ].join('\n');
    return { key: '### 3.', markdown };
  } finally {
    await platform.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Big beside small: 100,000-row requests while single-row traffic continues
// ---------------------------------------------------------------------------------------------

const BIG_ROWS = 100_000;
const BIG_SECONDS = 24;
const SMALL_RATE = 400;

/** A 100,000-row request on one of the prediction routes, and how to count the rows of its answer. */
interface BigRequest {
  label: string;
  path: string;
  body: string;
  rowsOf: (answer: any) => number; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function bigRequests(model: string): BigRequest[] {
  const matrix = Array.from({ length: BIG_ROWS }, (_, i) => rowOf(i));
  const parts = 10;
  const per = BIG_ROWS / parts;
  return [
    { label: '`/v1/predict`', path: '/v1/predict', body: JSON.stringify({ model, inputs: { float_input: matrix } }), rowsOf: (a) => a.outputs.variable.length },
    {
      label: 'OIP `infer` (flat data)',
      path: `/v2/models/${model}/infer`,
      body: JSON.stringify({ inputs: [{ name: 'float_input', shape: [BIG_ROWS, FEATURES], datatype: 'FP32', data: matrix.flat() }] }),
      rowsOf: (a) => a.outputs[0].shape[0],
    },
    {
      label: 'MLflow `invocations` (`dataframe_split`)',
      path: `/v1/models/${model}/invocations`,
      body: JSON.stringify({ dataframe_split: { columns: ['day_of_week', 'promo', 'price', 'lag_7', 'lag_28', 'temperature'], data: matrix } }),
      rowsOf: (a) => a.predictions.length,
    },
    {
      label: `fanout (${parts} × ${fmtInt(per)} rows)`,
      path: '/v1/predict/fanout',
      body: JSON.stringify({ requests: Array.from({ length: parts }, (_, k) => ({ model, inputs: { float_input: matrix.slice(k * per, (k + 1) * per) } })) }),
      rowsOf: (a) => a.results.reduce((n: number, r: { outputs: { variable: unknown[] } }) => n + r.outputs.variable.length, 0),
    },
  ];
}

interface BesideFigures {
  idle: number[];
  during: number[];
  bigMs: number[];
}

async function bigBench(): Promise<Section> {
  const platform = await startService();
  try {
    const small = Array.from({ length: 4 }, (_, i) => ({ name: `small-${i}`, model: linearModel(200 + i) }));
    await preparePlatform(platform, [...small, { name: 'big', model: linearModel(300) }]);
    const margin = 100;
    const rows: string[][] = [];
    let worst = 0;
    for (const request of bigRequests('big')) {
      process.stdout.write(`  ${request.label}: ${(request.body.length / 1e6).toFixed(1)} MB of JSON\n`);
      const f = await smallBesideBig(platform, small.map((s) => s.name), request, margin);
      const p99Idle = quantile(f.idle, 0.99);
      const p99During = quantile(f.during, 0.99);
      const ratio = p99During / p99Idle;
      worst = Math.max(worst, ratio);
      process.stdout.write(
        `  ${f.bigMs.length} big requests (median ${fmtMs(median(f.bigMs))} ms); small p99 idle ${fmtMs(p99Idle)} ms (${f.idle.length} requests), ` +
          `beside a big one ${fmtMs(p99During)} ms (${f.during.length}): ${fmtRatio(ratio)}\n`,
      );
      rows.push([
        request.label,
        `${(request.body.length / 1e6).toFixed(1)} MB`,
        `${f.bigMs.length} × ${fmtMs(median(f.bigMs))}`,
        `${fmtInt(f.idle.length)} · ${fmtMs(p99Idle)}`,
        `${fmtInt(f.during.length)} · ${fmtMs(p99During)}`,
        fmtRatio(quantile(f.during, 0.5) / quantile(f.idle, 0.5)),
        `**${fmtRatio(ratio)}**`,
      ]);
    }
    const verdict = worst <= 2 ? '✓ goal met (≤ 2×) on every route' : '✗ above the goal of 2× on at least one route';
    process.stdout.write(`  ${verdict}\n`);
    const markdown = [
      `### 4. Big beside small: ${fmtInt(BIG_ROWS)}-row requests while single-row traffic continues`,
      '',
      `Single-row /v1/predict requests to 4 small models at a steady ${SMALL_RATE} requests/s (4 connections), ${BIG_SECONDS} s per route; meanwhile a ${fmtInt(BIG_ROWS)}-row request ` +
        `to a fifth model, on the route of the row, is sent, answered, followed by as long a pause, again and again. ` +
        `A small request counts as *beside* a big one when their times overlap, as *idle* when none is within ${margin} ms: both sets come from the same stretch, interleaved.`,
      '',
      markdownTable(['big request on', 'body', 'big requests × median ms', 'idle: small requests · p99 ms', 'beside: small requests · p99 ms', 'p50 beside ÷ idle', 'p99 beside ÷ idle'], rows),
      '',
      `${verdict}. Every route parses a big body, decodes its inputs and encodes a big answer in the JSON codec thread (README, Workers); ` +
        'before OIP, MLflow and fanout did (they parsed on the HTTP thread until 3ccabec), a run on 2026-11-27 measured their small requests\' p99 beside a big one at 69, 182 and 157 ms (21×, 43× and 31× idle). ' +
        'What remains is the 2 cores being shared by the big request\'s client, the load generator and the server\'s threads: health probes from another process, which touch no worker, slow down about as much beside a big request. ' +
        'On 2026-11-27 the HTTP thread\'s stalls beside a big request were traced (its own run and run-queue times, `/proc/<tid>/schedstat`, and `perf sched`): about nine in ten were waits for a CPU, not work, and the tasks on the CPUs meanwhile included the load generator, the big request\'s client, V8\'s helper threads and a kernel thread of the machine (`kdamond`, ~3 ms every half second) besides the server\'s codec and inference threads. ' +
        'Putting those threads at the lowest CPU policy (`SCHED_IDLE`: the codec thread, the inference workers, V8\'s helpers, the big request\'s client, alone and together; 10 runs, not kept) left the p99 beside a big request where it was, 4.5–8 ms on every route in every setting; what moved the ratio was the idle p99 (1.6–5 ms from run to run).',
    ].join('\n');
    return { key: '### 4.', markdown };
  } finally {
    await platform.stop();
  }
}

/** Small requests' latencies idle and beside a big request, the big request sent again and again with pauses between. */
async function smallBesideBig(platform: Platform, smallModels: string[], request: BigRequest, margin: number): Promise<BesideFigures> {
  let answerLength = 0;
  const bigOnce = async () => {
    const t0 = performance.timeOrigin + performance.now();
    const res = await fetch(`${platform.url}${request.path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.scorerKey}` }, body: request.body });
    const text = await res.text();
    const t1 = performance.timeOrigin + performance.now();
    if (res.status !== 200) throw new Error(`big request on ${request.path}: ${res.status} ${text.slice(0, 300)}`);
    if (!answerLength) {
      const rows = request.rowsOf(JSON.parse(text));
      if (rows !== BIG_ROWS) throw new Error(`big request on ${request.path} answered ${rows} rows`);
      answerLength = text.length;
    } else if (text.length !== answerLength) {
      // The same inputs give the same outputs; only prediction ids differ, at a fixed length.
      throw new Error(`big request on ${request.path} answered ${text.length} characters, not ${answerLength}`);
    }
    return { start: t0, end: t1 };
  };
  await bigOnce(); // warm (load, JIT); checks the answer's rows once, so that parsing it does not compete with the server later
  const spec: LoadSpec = {
    url: platform.url,
    path: '/v1/predict',
    headers: { authorization: `Bearer ${platform.scorerKey}` },
    bodies: rowBodies(smallModels, 8, 5),
    pick: { kind: 'uniform' },
    connections: 4,
    ratePerSec: SMALL_RATE,
    durationMs: BIG_SECONDS * 1000,
    warmupMs: 1000,
    keepSamples: true,
  };
  const load = runLoad(spec);
  await sleep(3000);
  // Alternate: a big request, then as long without one, so idle and busy stretches interleave.
  const bigs: Array<{ start: number; end: number }> = [];
  const until = performance.now() + (BIG_SECONDS - 4) * 1000;
  while (performance.now() < until) {
    const b = await bigOnce();
    bigs.push(b);
    await sleep(Math.max(500, b.end - b.start));
  }
  const result = await expectOk(load, 'small traffic');
  const { startedAt, latencyMs } = result.samples!;
  const during: number[] = [];
  const idle: number[] = [];
  for (let i = 0; i < startedAt.length; i++) {
    const s = startedAt[i];
    const e = s + latencyMs[i];
    if (bigs.some((b) => s < b.end && e > b.start)) during.push(latencyMs[i]);
    else if (!bigs.some((b) => s < b.end + margin && e > b.start - margin)) idle.push(latencyMs[i]);
  }
  during.sort((a, b) => a - b);
  idle.sort((a, b) => a - b);
  return { idle, during, bigMs: bigs.map((b) => b.end - b.start).sort((a, b) => a - b) };
}

// ---------------------------------------------------------------------------------------------
// 5. Mirror: p99 with a rule mirroring 100% to another version, versus no mirror
// ---------------------------------------------------------------------------------------------

const MIRROR_MODELS = 10;
const MIRROR_RATE = 1000;

async function mirrorBench(options: Options): Promise<Section> {
  const platform = await startService();
  try {
    await platform.createScorerKey();
    const names = Array.from({ length: MIRROR_MODELS }, (_, i) => `mirror-${pad(i, 2)}`);
    for (const [i, name] of names.entries()) {
      await platform.upload(name, linearModel(400 + i).bytes);
      await platform.upload(name, linearModel(500 + i).bytes);
    }
    const setRule = async (mirror: boolean) => {
      for (const name of names) {
        const res = await platform.request('PUT', `/v1/models/${name}/traffic`, { split: { '1': 100 }, ...(mirror ? { mirror: { version: 2, percent: 100 } } : {}) });
        if (res.status !== 200) throw new Error(`PUT traffic ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    };
    await setRule(true); // prewarms both versions
    const segmentS = Math.max(2, Math.round(options.seconds / 2));
    const segments = 2 * options.rounds;
    const spec: LoadSpec = {
      url: platform.url,
      path: '/v1/predict',
      headers: { authorization: `Bearer ${platform.scorerKey}` },
      bodies: rowBodies(names, 8, 13),
      pick: { kind: 'uniform' },
      connections: 32,
      ratePerSec: MIRROR_RATE,
      durationMs: segmentS * 1000,
      warmupMs: 300,
      keepSamples: true,
    };
    await expectOk(runLoad({ ...spec, durationMs: 2000, keepSamples: false }), 'mirror warm-up');
    // Short segments, alternating (off, on, on, off, …): a burst of load on this shared machine
    // hits both alike; the percentiles are taken over all of a condition's requests.
    const pooled = { off: [] as number[], on: [] as number[] };
    const rps = { off: [] as number[], on: [] as number[] };
    const pairRatios: number[] = [];
    for (let k = 0; k < segments; k++) {
      const order = k % 2 === 0 ? ([false, true] as const) : ([true, false] as const);
      const p99s: Record<string, number> = {};
      for (const mirror of order) {
        await setRule(mirror);
        const x = await expectOk(runLoad(spec), mirror ? 'mirrored' : 'not mirrored');
        const key = mirror ? 'on' : 'off';
        pooled[key].push(...x.samples!.latencyMs);
        rps[key].push(x.rps);
        p99s[key] = x.p99Ms;
      }
      pairRatios.push(p99s.on / p99s.off);
      process.stdout.write(`  pair ${k + 1}/${segments}: p99 no mirror ${fmtMs(p99s.off)} ms, mirror ${fmtMs(p99s.on)} ms\n`);
    }
    const traffic = (await platform.request('GET', `/v1/models/${names[0]}/traffic`)).body as { comparison?: Array<{ count: number; shadowErrors: number }> };
    const comparison = traffic.comparison?.[0];
    pooled.off.sort((a, b) => a - b);
    pooled.on.sort((a, b) => a - b);
    const p = (key: 'on' | 'off', q: number) => quantile(pooled[key], q);
    const ratio = p('on', 0.99) / p('off', 0.99);
    const verdict = ratio <= 1.2 ? '✓ goal met (≤ 1.2×)' : '✗ above the goal of 1.2×';
    process.stdout.write(
      `  p99 over all requests: no mirror ${fmtMs(p('off', 0.99))} ms (${pooled.off.length}), mirror ${fmtMs(p('on', 0.99))} ms (${pooled.on.length}): ${fmtRatio(ratio)} ${verdict}\n` +
        `  median of the pairs' p99 ratios ${fmtRatio(median(pairRatios))}; ${names[0]}: ${comparison ? `${comparison.count} compared, ${comparison.shadowErrors} shadow errors` : JSON.stringify(traffic).slice(0, 200)}\n`,
    );
    const markdown = [
      `### 5. Mirror: 100% of traffic mirrored to another version, versus no mirror`,
      '',
      `${MIRROR_MODELS} models with two versions each, single-row requests spread over them at a steady ${fmtInt(MIRROR_RATE)} requests/s (32 connections). ` +
        `Every model has the rule \`{"split":{"1":100}}\`, and in the mirrored stretches also \`"mirror":{"version":2,"percent":100}\`. ` +
        `${segments} pairs of ${segmentS}-s stretches, alternating (off, on, then on, off, …); percentiles are over every request of a condition.`,
      '',
      markdownTable(
        ['', 'requests', 'requests/s', 'p50 ms', 'p90 ms', 'p99 ms'],
        [
          ['no mirror', fmtInt(pooled.off.length), fmtInt(median(rps.off)), fmtMs(p('off', 0.5)), fmtMs(p('off', 0.9)), fmtMs(p('off', 0.99))],
          ['mirror 100%', fmtInt(pooled.on.length), fmtInt(median(rps.on)), fmtMs(p('on', 0.5)), fmtMs(p('on', 0.9)), fmtMs(p('on', 0.99))],
          ['**mirrored ÷ not**', '', '', fmtRatio(p('on', 0.5) / p('off', 0.5)), fmtRatio(p('on', 0.9) / p('off', 0.9)), `**${fmtRatio(ratio)}**`],
        ],
      ),
      '',
      `${verdict}. Median of the ${segments} pairs' own p99 ratios: ${fmtRatio(median(pairRatios))} (from ${fmtRatio(Math.min(...pairRatios))} to ${fmtRatio(Math.max(...pairRatios))}: the machine's noise). ` +
        (comparison ? `The shadow answered every mirrored call of \`${names[0]}\` (${fmtInt(comparison.count)} compared, ${comparison.shadowErrors} errors).` : ''),
    ].join('\n');
    return { key: '### 5.', markdown };
  } finally {
    await platform.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 6. Micro-batching sweep: MMS_BATCH_WINDOW_MS × MMS_BATCH_MAX_ROWS
// ---------------------------------------------------------------------------------------------

const SWEEP: Array<{ window: number; maxRows: number }> = [
  { window: 0, maxRows: 1 },
  { window: 0, maxRows: 64 },
  { window: 0, maxRows: 1024 },
  { window: 1, maxRows: 1024 },
  { window: 2, maxRows: 1024 },
];
const DEFAULT_BATCHING = { window: 0, maxRows: 1024 };

interface SweepWorkload {
  key: string;
  title: string;
  bodies: string[];
}

async function sweepBench(options: Options): Promise<Section> {
  const seconds = Math.max(2, Math.round(options.seconds / 3));
  const rounds = 2;
  const models = Array.from({ length: HOT_MODELS }, (_, i) => ({ name: `hot-${pad(i, 2)}`, model: linearModel(i) }));
  const workloads: SweepWorkload[] = [
    { key: 'hot', title: '30 models, 1 row', bodies: rowBodies(models.map((m) => m.name), 8, 11) },
    { key: 'one', title: '1 model, 1 row', bodies: rowBodies([models[0].name], 64, 17) },
    {
      key: 'rows32',
      title: '1 model, 32 rows',
      bodies: Array.from({ length: 16 }, (_, k) => JSON.stringify({ model: models[0].name, inputs: { float_input: Array.from({ length: 32 }, (_, r) => rowOf(k * 32 + r)) } })),
    },
  ];
  // Every setting is a service of its own, all up at once, measured in turns (a rotating order).
  const services: Array<{ config: (typeof SWEEP)[number]; platform: Platform }> = [];
  try {
    for (const config of SWEEP) {
      const platform = await startService({ MMS_BATCH_WINDOW_MS: String(config.window), MMS_BATCH_MAX_ROWS: String(config.maxRows) });
      services.push({ config, platform });
      await preparePlatform(platform, models);
    }
    type Cell = { rps: number[]; p99: number[]; cpu: number[]; perCall: number[] };
    const cells = new Map<string, Cell>();
    const cell = (i: number, w: string) => {
      const k = `${i}:${w}`;
      if (!cells.has(k)) cells.set(k, { rps: [], p99: [], cpu: [], perCall: [] });
      return cells.get(k)!;
    };
    for (const { platform } of services) await expectOk(runLoad({ ...sweepSpec(platform, workloads[0].bodies, 1500), warmupMs: 0 }), 'sweep warm-up');
    for (let r = 0; r < rounds; r++) {
      for (const w of workloads) {
        for (let j = 0; j < services.length; j++) {
          const i = (j + r * 2 + workloads.indexOf(w)) % services.length;
          const { platform } = services[i];
          const calls0 = await callStats(platform);
          const before = cpuOf(platform.pid);
          const x = await expectOk(runLoad(sweepSpec(platform, w.bodies, seconds * 1000)), `sweep ${w.key}`);
          const after = cpuOf(platform.pid);
          const calls1 = await callStats(platform);
          const c = cell(i, w.key);
          c.rps.push(x.rps);
          c.p99.push(x.p99Ms);
          c.cpu.push((1e6 * (after.main - before.main)) / (x.requests * (1 + 500 / (seconds * 1000))));
          c.perCall.push((calls1.requests - calls0.requests) / Math.max(1, calls1.calls - calls0.calls));
        }
      }
      process.stdout.write(`  round ${r + 1}/${rounds} done\n`);
    }
    const base = SWEEP.findIndex((c) => c.window === DEFAULT_BATCHING.window && c.maxRows === DEFAULT_BATCHING.maxRows);
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rows: string[][] = [];
    SWEEP.forEach((config, i) => {
      const isDefault = i === base;
      const cellsOf = workloads.map((w) => cell(i, w.key));
      const line = cellsOf.map((c, k) => {
        const b = cell(base, workloads[k].key);
        return `${fmtInt(avg(c.rps))} (${fmtRatio(avg(c.rps) / avg(b.rps))}) · ${fmtMs(median(c.p99))} · ${avg(c.cpu).toFixed(0)} · ${avg(c.perCall).toFixed(1)}`;
      });
      process.stdout.write(`  window ${config.window} ms, max rows ${String(config.maxRows).padStart(4)}: ${line.join('  |  ')}\n`);
      rows.push([`${config.window}${isDefault ? ' (default)' : ''}`, `${config.maxRows}${isDefault ? ' (default)' : config.maxRows === 1 ? ' (no merging)' : ''}`, ...line]);
    });
    const markdown = [
      `### 6. Micro-batching sweep (\`MMS_BATCH_WINDOW_MS\`, \`MMS_BATCH_MAX_ROWS\`)`,
      '',
      `One service per setting, all running, measured in turns (${rounds} rounds of ${seconds} s per setting and workload, ${HOT_CONNECTIONS} connections, closed loop): ` +
        `the hot workload (30 models, single rows), the same aimed at one model, and one model with 32-row requests. ` +
        `\`MMS_BATCH_MAX_ROWS=1\` turns merging off. Each cell: requests/s (× the default) · p99 ms · main-thread CPU µs per request · requests per runtime call.`,
      '',
      markdownTable(['window ms', 'max rows', ...workloads.map((w) => w.title)], rows),
    ].join('\n');
    return { key: '### 6.', markdown };
  } finally {
    for (const { platform } of services) await platform.stop();
  }
}

function sweepSpec(platform: Platform, bodies: string[], durationMs: number): LoadSpec {
  return {
    url: platform.url,
    path: '/v1/predict',
    headers: { authorization: `Bearer ${platform.scorerKey}` },
    bodies,
    pick: { kind: 'uniform' },
    connections: HOT_CONNECTIONS,
    durationMs,
    warmupMs: 500,
  };
}

async function callStats(platform: Platform): Promise<{ requests: number; calls: number }> {
  const cache = (await platform.request('GET', '/v1/cache')).body as { models: Array<{ stats: { requests: number; calls: number } }> };
  return cache.models.reduce((sum, m) => ({ requests: sum.requests + m.stats.requests, calls: sum.calls + m.stats.calls }), { requests: 0, calls: 0 });
}

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/** Registers and preloads the models, and makes the scorer key the load uses. */
async function preparePlatform(platform: Platform, models: Array<{ name: string; model: TabularFixtureModel }>): Promise<void> {
  await platform.createScorerKey();
  for (const m of models) {
    await platform.upload(m.name, m.model.bytes);
    const res = await platform.request('POST', `/v1/models/${m.name}/load`, {});
    if (res.status !== 200) throw new Error(`load ${m.name}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** A small linear regression over 6 features; `seed` makes each model's weights its own. */
function linearModel(seed: number): TabularFixtureModel {
  const rand = mulberry32(seed + 1);
  return buildLinearModel({ weights: Array.from({ length: FEATURES }, () => Math.round((rand() * 4 - 2) * 100) / 100), bias: seed });
}

/** A retail-looking feature row (short numbers, like real payloads). */
function rowOf(i: number): number[] {
  const rand = mulberry32(i * 7919 + 3);
  return [Math.floor(rand() * 7), rand() < 0.3 ? 1 : 0, Math.round(100 + rand() * 900) / 100, Math.floor(rand() * 200), Math.floor(rand() * 200), Math.round(rand() * 350) / 10];
}

function predictBody(model: string, row: number[] | null, rows = 1): string {
  if (row) return JSON.stringify({ model, inputs: { float_input: [row] } });
  return JSON.stringify({ model, inputs: { float_input: Array.from({ length: rows }, (_, i) => rowOf(i)) } });
}

/** `perModel` different single-row bodies for each model. */
function rowBodies(names: string[], perModel: number, seed: number): string[] {
  return names.flatMap((name, m) => Array.from({ length: perModel }, (_, k) => predictBody(name, rowOf(seed * 100_000 + m * perModel + k))));
}

async function expectOk(pending: Promise<LoadResult>, what: string): Promise<LoadResult> {
  const result = await pending;
  const bad = Object.entries(result.statuses).filter(([s]) => s !== '200');
  if (bad.length || result.errors || !result.requests) {
    throw new Error(`${what}: statuses ${JSON.stringify(result.statuses)}, ${result.errors} socket errors; e.g. ${JSON.stringify(result.sampleBodies)}`);
  }
  return result;
}

/** Extra environment for every service the benchmark starts (--platform-env), e.g. to try a setting. */
const platformEnv: NodeJS.ProcessEnv = {};

/** The compiled service with the benchmark's settings (`env`) over any given with --platform-env. */
function startService(env: NodeJS.ProcessEnv = {}): Promise<Platform> {
  return startPlatform(env, platformEnv);
}

function parseArgs(argv: string[]): Options {
  const options: Options = { only: new Set(ALL), seconds: 8, rounds: 3, writeDoc: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--only') {
      const parts = value().split(',').map((p) => p.trim());
      for (const p of parts) if (!(ALL as readonly string[]).includes(p)) usage(`unknown part '${p}' (parts: ${ALL.join(', ')})`);
      options.only = new Set(parts as Part[]);
    } else if (a === '--seconds') options.seconds = positive(value(), a);
    else if (a === '--rounds') options.rounds = positive(value(), a);
    else if (a === '--no-doc') options.writeDoc = false;
    else if (a === '--platform-env') {
      for (const pair of value().split(',')) {
        const at = pair.indexOf('=');
        if (at < 1) usage(`--platform-env takes NAME=value[,NAME=value]`);
        platformEnv[pair.slice(0, at)] = pair.slice(at + 1);
      }
    }
    else usage(`unknown argument '${a}'`);
  }
  return options;
}

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) usage(`${flag} must be a positive integer`);
  return n;
}

function usage(message: string): never {
  console.error(`${message}\nusage: node dist/bench/serving-bench.js [--only ${ALL.join(',')}] [--seconds N] [--rounds N] [--no-doc] [--platform-env NAME=value,…]`);
  process.exit(2);
}

function machineLine(): string {
  const cpu = os.cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? '?';
  const short = /EPYC/.test(cpu) ? 'AMD EPYC' : cpu;
  return `nproc ${os.availableParallelism()} (${short}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Linux ${os.release()}, load average ${os.loadavg()[0].toFixed(1)} at the start`;
}

function harmonic(n: number): number {
  let h = 0;
  for (let i = 1; i <= n; i++) h += 1 / i;
  return h;
}

function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function fmtMs(ms: number): string {
  return !Number.isFinite(ms) ? '–' : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

function fmtShare(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(0)} %` : 'n/a';
}

function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : '–';
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtPct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

function fmtSigned(x: number): string {
  return `${x < 0 ? '−' : ''}${Math.abs(x).toFixed(2)}`;
}

function fmtSignedMiB(kib: number): string {
  return `${kib >= 0 ? '+' : '−'}${fmtMiB(Math.abs(kib))}`;
}

/** The main thread's V8 heap in use, from the service's own /metrics (KiB). */
async function httpThreadHeapKiB(platform: Platform): Promise<number> {
  const res = await fetch(`${platform.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_ROOT_TOKEN}` } });
  const used = /^nodejs_heap_size_used_bytes ([0-9.e+]+)/m.exec(await res.text())?.[1];
  return Number(used ?? NaN) / 1024;
}

function fmtMiB(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
