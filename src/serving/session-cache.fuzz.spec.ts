/**
 * A seeded, randomized state-machine test of SessionCache: random acquires (leases held for a
 * random number of steps), loads (pin / unpin / plain), unloads, deletions, loads completing or
 * failing in random order, file look-ups that take their time, crashed workers and a moving
 * clock, checking after every step that the cache never releases a session in use, keeps its
 * bounds, never loads one key twice at once, keeps its accounting straight, and at the end of
 * each seed (everything released and finished) that nothing hangs or leaks.
 *
 * A failing seed is shrunk (delta debugging over its step list) and its step log printed.
 */
import { Logger } from '@nestjs/common';
import { mulberry32 } from '../common/seeded-random';
import { InferenceRuntime, RunOutcome, SessionHandle, WorkerView } from './runtime/inference-runtime';
import type { ServableVersion } from './servable';
import { SessionCache } from './session-cache';
import { SessionLease, SessionState } from './session-entry';
import { SESSION_OVERHEAD_BYTES } from './session-footprint';
import { ServingError, ServingErrorCode } from './serving.error';
import { fakeVersion, FakeRuntime, flushPromises } from './testing/fake-runtime';

/** Estimated session bytes are multiples of this unit (128 KiB overhead + 2 x file). */
const UNIT = 256 * 1024;
const fileFor = (units: number) => (units * UNIT - SESSION_OVERHEAD_BYTES) / 2;
const WORKERS = 2;

// ---------------------------------------------------------------------------------------------
// The runtime: loads complete (or fail) when the driver says so; workers crash when told to.
// ---------------------------------------------------------------------------------------------

interface FuzzHandle extends SessionHandle {
  readonly id: number;
  readonly sizeBytes: number;
  state: 'live' | 'unloaded' | 'dead';
  /** Sequence number of the runtime.load call that made it. */
  readonly startedSeq: number;
}

interface InflightLoad {
  readonly key: string;
  readonly sizeBytes: number;
  readonly worker: number;
  readonly startedSeq: number;
  resolve(): void;
  reject(error: Error): void;
}

class Violation extends Error {
  constructor(
    readonly invariant: string,
    message: string,
  ) {
    super(`[${invariant}] ${message}`);
  }
}

class FuzzRuntime extends InferenceRuntime {
  readonly handles: FuzzHandle[] = [];
  inflight: InflightLoad[] = [];
  incarnations = Array.from({ length: WORKERS }, () => 0);
  private lostListener?: (keys: string[]) => void;
  private nextId = 1;

  constructor(private readonly hooks: { onLoad(key: string, sizeBytes: number): number; onUnload(handle: FuzzHandle): void; extraBytes(key: string): number }) {
    super();
  }

  load(key: string, _path: string, sizeBytes: number): Promise<SessionHandle> {
    const startedSeq = this.hooks.onLoad(key, sizeBytes);
    const worker = this.workerFor(key);
    return new Promise<SessionHandle>((resolve, reject) => {
      const load: InflightLoad = {
        key,
        sizeBytes,
        worker,
        startedSeq,
        resolve: () => {
          this.inflight = this.inflight.filter((l) => l !== load);
          const extraBytes = this.hooks.extraBytes(key);
          const handle: FuzzHandle = { key, worker, incarnation: this.incarnations[worker], id: this.nextId++, sizeBytes, state: 'live', startedSeq, ...(extraBytes ? { extraBytes } : {}) };
          this.handles.push(handle);
          resolve(handle);
        },
        reject: (error) => {
          this.inflight = this.inflight.filter((l) => l !== load);
          reject(error);
        },
      };
      this.inflight.push(load);
    });
  }

  /** Where the key lives (a live session or a load of it), else the worker with the fewest. */
  private workerFor(key: string): number {
    const here = this.handles.find((h) => h.key === key && h.state === 'live') ?? this.inflight.find((l) => l.key === key);
    if (here) return here.worker;
    const counts = Array.from({ length: WORKERS }, (_, w) => this.handles.filter((h) => h.worker === w && h.state === 'live').length + this.inflight.filter((l) => l.worker === w).length);
    return counts.indexOf(Math.min(...counts));
  }

  unload(handle: SessionHandle): void {
    this.hooks.onUnload(handle as FuzzHandle);
  }

  /** The worker dies: its loads under way fail, its sessions are gone, the cache is told. */
  crash(worker: number): string[] {
    this.incarnations[worker]++;
    const keys = new Set<string>();
    for (const h of this.handles) {
      if (h.worker === worker && h.state === 'live') {
        h.state = 'dead';
        keys.add(h.key);
      }
    }
    for (const load of this.inflight.filter((l) => l.worker === worker)) {
      keys.add(load.key);
      load.reject(new ServingError(ServingErrorCode.WorkerUnavailable, 'The inference worker holding the model restarted; retry the request', { worker }));
    }
    if (keys.size) this.lostListener?.([...keys]);
    return [...keys];
  }

  async run(): Promise<RunOutcome> {
    return { parts: [], unbatchable: false };
  }

  onSessionsLost(listener: (keys: string[]) => void): void {
    this.lostListener = listener;
  }

  workers(): WorkerView[] {
    return [];
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------------------------------------
// Steps: drawn from the seed up front (so a failing list can be shrunk), interpreted against
// the state at the time (`pick` chooses among what exists then; nothing to pick: a no-op).
// ---------------------------------------------------------------------------------------------

// `pick` steps are drawn; each run records them concretely (`key`: the version id acted on) so that
// shrinking can drop steps without changing what the others do.
type Step =
  | { k: 'acquire'; v: number; hold: number; stale: boolean; key?: string }
  | { k: 'load'; v: number; pin: boolean | undefined; mark: boolean; key?: string }
  | { k: 'complete'; pick: number; fail: boolean; key?: string }
  | { k: 'locate'; pick: number; fail: boolean; key?: string }
  | { k: 'release'; pick: number; key?: string }
  | { k: 'unload'; v: number; whole: boolean }
  | { k: 'delete'; v: number; whole: boolean }
  | { k: 'crash'; worker: number }
  | { k: 'tick'; ms: number }
  | { k: 'readiness'; v: number };

interface Scenario {
  seed: number;
  maxModels: number;
  maxBytes: number;
  /** Per tenant. */
  shares: number[];
  /** Per version slot: estimated session size in units. */
  units: number[];
  /** Per version slot: memory its session holds beyond the estimate (SessionHandle.extraBytes), in units. */
  extra: number[];
  /** Probability that a look-up takes its time (waits for a 'locate' step). */
  slowLocate: number;
  steps: Step[];
}

const TENANTS = 3;
const MODELS_PER_TENANT = 2;
const VERSIONS_PER_MODEL = 2;
const SLOTS = TENANTS * MODELS_PER_TENANT * VERSIONS_PER_MODEL; // 12

function slotInfo(slot: number): { tenant: string; model: string; version: number } {
  const t = Math.floor(slot / (MODELS_PER_TENANT * VERSIONS_PER_MODEL));
  const m = Math.floor(slot / VERSIONS_PER_MODEL) % MODELS_PER_TENANT;
  return { tenant: `t${t}`, model: `m${t}${m}`, version: (slot % VERSIONS_PER_MODEL) + 1 };
}

function makeScenario(seed: number, stepCount: number): Scenario {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const maxModels = int(2, 5);
  const maxUnits = int(3, 10);
  const shareChoices = [0.3, 0.5, 1];
  const shares = Array.from({ length: TENANTS }, () => shareChoices[int(0, 2)]);
  const units = Array.from({ length: SLOTS }, () => int(1, 3));
  if (rnd() < 0.5) units[int(0, SLOTS - 1)] = maxUnits + 1; // too large for the whole cache
  const steps: Step[] = [];
  for (let i = 0; i < stepCount; i++) {
    const r = rnd();
    const v = int(0, SLOTS - 1);
    if (r < 0.3) steps.push({ k: 'acquire', v, hold: int(0, 40), stale: rnd() < 0.03 });
    else if (r < 0.5) steps.push({ k: 'complete', pick: rnd(), fail: rnd() < 0.15 });
    else if (r < 0.58) steps.push({ k: 'locate', pick: rnd(), fail: rnd() < 0.03 });
    else if (r < 0.66) steps.push({ k: 'load', v, pin: [true, false, undefined][int(0, 2)], mark: rnd() < 0.5 });
    else if (r < 0.76) steps.push({ k: 'release', pick: rnd() });
    else if (r < 0.79) steps.push({ k: 'unload', v, whole: rnd() < 0.4 });
    else if (r < 0.81) steps.push({ k: 'delete', v, whole: rnd() < 0.3 });
    else if (r < 0.825) steps.push({ k: 'crash', worker: int(0, WORKERS - 1) });
    else if (r < 0.9) steps.push({ k: 'tick', ms: [10, 300, 1000, 2500, 70_000][int(0, 4)] });
    else if (r < 0.92) steps.push({ k: 'readiness', v });
    else steps.push({ k: 'acquire', v, hold: int(0, 5), stale: false }); // hot, short requests
  }
  const extra = Array.from({ length: SLOTS }, () => (rnd() < 0.25 ? 1 : 0));
  return { seed, maxModels, maxBytes: maxUnits * UNIT, shares, units, extra, slowLocate: rnd() * 0.6, steps };
}

// ---------------------------------------------------------------------------------------------
// The driver.
// ---------------------------------------------------------------------------------------------

export interface Figures {
  steps: number;
  /** Steps (after each step settled) where resident + loading room exceeded a bound. */
  residentPlusLoadingOver: number;
  /** ...of which with two or more loads holding room (each time, a pin had taken back a session evicted for them). */
  residentPlusLoadingOverMulti: number;
  /** ...of which with nothing pinned. */
  residentPlusLoadingOverWithoutPins: number;
  /** Steps where resident + loading + evicted-but-busy ("unloading") exceeded a bound. */
  withUnloadingOver: number;
  /** Largest (resident + loading + unloading) / bound seen, bytes and models. */
  peakBytesRatio: number;
  peakModelsRatio: number;
  /** Live runtime sessions + loads under way (the runtime's memory) above the bound. */
  runtimeOver: number;
  acquires: number;
  loads: number;
  runtimeLoads: number;
  evictions: number;
  rejections: Record<string, number>;
  /** Not failures: noted for the report. */
  notes: Record<string, number>;
}

interface Tracked {
  what: string;
  settled: boolean;
  startedSeq: number;
}

interface RunResult {
  violation?: Violation;
  log: string[];
  figures: Figures;
  /** The steps as run, concretely. */
  concrete: Step[];
}


async function runScenario(sc: Scenario, { logAll = false } = {}): Promise<RunResult> {
  const log: string[] = [];
  const figures: Figures = {
    steps: 0,
    residentPlusLoadingOver: 0,
    residentPlusLoadingOverMulti: 0,
    residentPlusLoadingOverWithoutPins: 0,
    withUnloadingOver: 0,
    peakBytesRatio: 0,
    peakModelsRatio: 0,
    runtimeOver: 0,
    acquires: 0,
    loads: 0,
    runtimeLoads: 0,
    evictions: 0,
    rejections: {},
    notes: {},
  };
  const note = (what: string) => (figures.notes[what] = (figures.notes[what] ?? 0) + 1);
  let seq = 0;
  let now = 1_000_000;
  let violation: Violation | undefined;
  const fail = (invariant: string, message: string): never => {
    const v = new Violation(invariant, message);
    violation ??= v;
    throw v;
  };

  // Versions: a slot's id changes when its version (or model) is deleted (a new upload: a new id).
  // A deleted version's number is not used again (a new upload is the model's next number); a
  // deleted model, registered again, starts again at 1.
  const incarnation = Array.from({ length: SLOTS }, () => 0);
  const versionNumbers = Array.from({ length: SLOTS }, (_, slot) => [slotInfo(slot).version]);
  const latest = new Map<string, number>();
  const infoOf = (slot: number, inc: number) => ({ ...slotInfo(slot), version: versionNumbers[slot][inc] });
  const versionOf = (slot: number, inc = incarnation[slot]): ServableVersion => {
    const { tenant, model, version } = infoOf(slot, inc);
    return fakeVersion(`v${slot}.${inc}`, { tenantId: tenant, model, version, modelSha256: `sha-${slot}` });
  };
  const slotOfKey = (key: string) => Number(key.slice(1).split('.')[0]);
  const incOfKey = (key: string) => Number(key.split('.')[1]);
  const tripleOf = (key: string) => {
    const { tenant, model, version } = infoOf(slotOfKey(key), incOfKey(key));
    return `${tenant}/${model}/${version}`;
  };
  const modelOfKey = (key: string) => `${slotInfo(slotOfKey(key)).tenant}/${slotInfo(slotOfKey(key)).model}/*`;
  /** Last withdrawal (unload / deletion, by anyone) of each tenant/model/version (or tenant/model/*), by seq. */
  const withdrawnAt = new Map<string, number>();
  let driverCall = false;
  /** When each version id came to be (a new upload after a deletion), by seq. */
  const createdAt = new Map<string, number>();
  const deletedAt = new Map<string, number>();
  const lastOf = (map: Map<string, number>, key: string) => Math.max(map.get(tripleOf(key)) ?? -1, map.get(modelOfKey(key)) ?? -1);

  // Look-ups that take their time.
  let locates: Array<{ key: string; resolve: () => void; reject: (e: Error) => void }> = [];
  // Whether a look-up is slow depends on the seed, the version and how many look-ups it had (not on other steps).
  const lookups = new Map<string, number>();
  const slowLookup = (key: string) => {
    const n = (lookups.get(key) ?? 0) + 1;
    lookups.set(key, n);
    let h = sc.seed * 31 + n * 7919;
    for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
    return mulberry32(h)() < sc.slowLocate;
  };

  /** Leases the driver holds, by handle id. */
  const held = new Map<number, number>();
  const leases: Array<{ lease: SessionLease; due: number; key: string }> = [];
  const tracked: Tracked[] = [];
  let step = 0;
  let quiescing = false;
  const concrete: Step[] = [];

  const runtime = new FuzzRuntime({
    onLoad: (key, sizeBytes) => {
      const s = ++seq;
      figures.runtimeLoads++;
      const w = lastOf(withdrawnAt, key);
      for (const other of runtime.inflight) {
        if (other.key === key && w < other.startedSeq) fail('3-duplicate-load', `runtime.load(${key}) while its load started at seq ${other.startedSeq} is still under way and not withdrawn`);
      }
      for (const h of runtime.handles) {
        if (h.key !== key || h.state !== 'live') continue;
        // A live session of the key is fine when the cache took it out for good (unloaded, deleted) and it only drains.
        const e = ([...internals.retiring] as Array<{ handle: FuzzHandle; withdrawn?: string; lost?: boolean; refs: number }>).find((x) => x.handle === h);
        if (e && (e.withdrawn || e.lost)) continue;
        if (w > h.startedSeq) continue; // unloaded while draining: shared no more (the cache does not mark it withdrawn)
        const where = e ? `retiring, refs ${e.refs}, in draining: ${internals.draining.get(key) === (e as unknown)}` : internals.residents.entries().some((x) => x.handle === h) ? 'resident' : 'neither resident nor retiring';
        if (process.env.FUZZ_STRICT_DUP) fail('dup-session', `runtime.load(${key}) while its session #${h.id} is live and not withdrawn (${where})`);
        note('runtime.load of a key whose live, unwithdrawn session still exists (duplicate session)');
      }
      const slot = slotOfKey(key);
      // The runtime is told the estimate from the file alone; it answers what the graph adds (extraBytes).
      if (sizeBytes !== sc.units[slot] * UNIT) fail('size', `runtime.load(${key}) with ${sizeBytes} bytes`);
      return s;
    },
    extraBytes: (key) => sc.extra[slotOfKey(key)] * UNIT,
    onUnload: (handle) => {
      seq++;
      if (!runtime.handles.includes(handle)) fail('4-leak', `runtime.unload of a handle it never gave out (${handle.key})`);
      if (handle.state === 'unloaded') fail('4-double-unload', `handle #${handle.id} (${handle.key}) unloaded twice`);
      if ((held.get(handle.id) ?? 0) > 0) fail('1-safety', `handle #${handle.id} (${handle.key}) unloaded while the driver holds ${held.get(handle.id)} lease(s) on it`);
      if (handle.state === 'dead') note('unload of a session lost with its worker (harmless: the runtime ignores it)');
      handle.state = 'unloaded';
    },
  });

  const cache = new SessionCache(
    runtime,
    (version) => {
      const slot = slotOfKey(version.id);
      const artifact = { path: `/fake/${version.id}`, bytes: fileFor(sc.units[slot]), sha256: `sha-${slot}` };
      if (quiescing || !slowLookup(version.id)) return Promise.resolve(artifact);
      return new Promise((resolve, reject) => locates.push({ key: version.id, resolve: () => resolve(artifact), reject }));
    },
    { maxModels: sc.maxModels, maxBytes: sc.maxBytes, retryBaseMs: 1000, retryMaxMs: 60_000, now: () => now, shareOf: (t) => sc.shares[Number(t.slice(1))] },
  );
  // The driver's own check (FUZZ_MUTANT): a cache broken on purpose must be caught.
  const mutable = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
  if (process.env.FUZZ_MUTANT === 'release-busy') {
    const release = mutable.releaseSession.bind(cache);
    mutable.retire = (entry) => {
      (entry as { state: SessionState }).state = SessionState.Unloading;
      release(entry);
    };
  }
  if (process.env.FUZZ_MUTANT === 'leak') {
    let n = 0;
    const release = mutable.releaseSession.bind(cache);
    mutable.releaseSession = (entry) => (++n % 50 === 0 ? undefined : release(entry));
  }
  if (process.env.FUZZ_MUTANT === 'no-wake') {
    let n = 0;
    const wake = mutable.startWaitingLoads.bind(cache);
    mutable.startWaitingLoads = () => (++n % 20 === 0 ? undefined : wake());
  }
  // Every unload, the driver's and the cache's own (a deletion).
  const unloadOriginal = cache.unload.bind(cache);
  cache.unload = (tenantId: string, model: string, version?: number, why?: 'unloaded' | 'deleted') => {
    const s = ++seq;
    const what = `${tenantId}/${model}/${version ?? '*'}`;
    withdrawnAt.set(what, s);
    if (why === 'deleted' && driverCall) deletedAt.set(what, s);
    return unloadOriginal(tenantId, model, version, why);
  };
  const internals = cache as unknown as {
    residents: { entries(): Array<{ key: string; handle: FuzzHandle; sizeBytes: number; tenantId: string; pinned: boolean; state: SessionState }> };
    retiring: Set<{ key: string; handle: FuzzHandle; refs: number; lost?: boolean }>;
    draining: Map<string, { key: string; handle: FuzzHandle; refs: number }>;
    loading: Map<string, unknown>;
    occupancy: { residentOf(t: string): { bytes: number; models: number }; loading: { bytes: number; models: number } };
  };

  const sync = <T>(what: string, call: () => T): T | undefined => {
    try {
      return call();
    } catch (error) {
      if (error instanceof Violation) throw error;
      if (!(error instanceof ServingError)) fail('sync-throw', `${what} threw ${(error as Error)?.stack ?? String(error)}`);
      note(`${what.split('(')[0]} threw ${(error as ServingError).code} synchronously`);
      return undefined;
    }
  };

  const takeLease = (lease: SessionLease, key: string, hold: number) => {
    if (lease.entry.key !== key) fail('lease', `a lease for ${key} is on ${lease.entry.key}`);
    const handle = lease.entry.handle as FuzzHandle;
    if (handle.state === 'unloaded') fail('1-safety', `a lease for ${key} handed out on unloaded handle #${handle.id}`);
    if (handle.state === 'dead') note('lease handed out on a session lost with its worker');
    if (quiescing) {
      lease.release();
      return;
    }
    held.set(handle.id, (held.get(handle.id) ?? 0) + 1);
    leases.push({ lease, due: step + hold, key });
  };
  const releaseLease = (at: number) => {
    const [{ lease }] = leases.splice(at, 1);
    const id = (lease.entry.handle as FuzzHandle).id;
    held.set(id, (held.get(id) ?? 0) - 1);
    sync('release', () => lease.release());
  };

  const checkRejection = (t: Tracked, error: unknown, allowed: Set<string>, key: string, markSeq?: number) => {
    if (!(error instanceof ServingError)) {
      violation ??= new Violation('error-type', `${t.what} rejected with a non-ServingError: ${(error as Error)?.stack ?? String(error)}`);
      return;
    }
    figures.rejections[error.code] = (figures.rejections[error.code] ?? 0) + 1;
    if (!allowed.has(error.code)) violation ??= new Violation('error-code', `${t.what} rejected with ${error.code}: ${error.message}`);
    if (error.code === ServingErrorCode.ModelTooLarge && (sc.units[slotOfKey(key)] + sc.extra[slotOfKey(key)]) * UNIT <= sc.maxBytes) violation ??= new Violation('error-code', `${t.what}: MODEL_TOO_LARGE for a model that fits`);
    if (error.code === ServingErrorCode.VersionNotFound) {
      const since = markSeq ?? t.startedSeq;
      const deletedId = incOfKey(key) < incarnation[slotOfKey(key)]; // a stale id: its version was deleted (before or since)
      // A stale load() of a deleted version with the same number must not take out the current one.
      if (!deletedId && lastOf(deletedAt, key) < since) violation ??= new Violation('error-code', `${t.what}: VERSION_NOT_FOUND without a deletion since it began`);
    }
  };

  const versionOfKey = (key: string): ServableVersion => versionOf(slotOfKey(key), incOfKey(key));
  const current = (slot: number) => infoOf(slot, incarnation[slot]);

  const startAcquire = (version: ServableVersion, hold: number) => {
    figures.acquires++;
    const got = sync(`acquire(${version.id})`, () => cache.acquire(version));
    if (!got) return;
    if (!(got instanceof Promise)) {
      takeLease(got, version.id, hold);
      return;
    }
    const t: Tracked = { what: `acquire(${version.id})@${step}`, settled: false, startedSeq: ++seq };
    tracked.push(t);
    got.then(
      (lease) => {
        t.settled = true;
        takeLease(lease, version.id, hold);
      },
      (error) => {
        t.settled = true;
        checkRejection(t, error, new Set([ServingErrorCode.ModelLoadFailed, ServingErrorCode.VersionNotFound, ServingErrorCode.ModelTooLarge]), version.id);
      },
       ).catch(() => undefined); // a violation found in here is kept in `violation`
  };

  const startLoad = (version: ServableVersion, pin: boolean | undefined, withMark: boolean) => {
    figures.loads++;
    const mark = withMark ? cache.deletionMark() : undefined;
    const t: Tracked = { what: `load(${version.id}, pin=${pin})@${step}`, settled: false, startedSeq: ++seq };
    tracked.push(t);
    const allowed = new Set([ServingErrorCode.ModelLoadFailed, ServingErrorCode.VersionNotFound, ServingErrorCode.ModelTooLarge]);
    if (pin === true) allowed.add(ServingErrorCode.PinLimitExceeded);
    let p: Promise<unknown>;
    try {
      p = cache.load(version, { pin, mark });
    } catch (error) {
      p = Promise.reject(error);
    }
    p.then(
      (view) => {
        t.settled = true;
        const v = view as { pinned: boolean; state: string };
        // Also when an unload withdrew the version's load under way before this load was asked for.
        if (pin === true && !v.pinned && lastOf(withdrawnAt, version.id) < t.startedSeq) violation ??= new Violation('pin', `${t.what} resolved unpinned (${v.state}) though nothing withdrew it`);
      },
      (error) => {
        t.settled = true;
        checkRejection(t, error, allowed, version.id, t.startedSeq);
      },
       ).catch(() => undefined);
  };

  const withdrawSlots = (slot: number, whole: boolean) => {
    const { model } = slotInfo(slot);
    for (let s = 0; s < SLOTS; s++) {
      if (s !== slot && !(whole && slotInfo(s).model === model)) continue;
      incarnation[s]++;
      createdAt.set(`v${s}.${incarnation[s]}`, ++seq);
      if (whole) versionNumbers[s].push(slotInfo(s).version);
      else {
        const next = Math.max(latest.get(model) ?? VERSIONS_PER_MODEL, VERSIONS_PER_MODEL) + 1;
        latest.set(model, next);
        versionNumbers[s].push(next);
      }
    }
    if (whole) latest.delete(model);
  };

  const units = (key: string) => `${sc.units[slotOfKey(key)]}u, ${slotInfo(slotOfKey(key)).tenant}`;
  const describe = (s: Step): string => {
    switch (s.k) {
      case 'acquire':
        return s.key ? `acquire ${s.key} (${units(s.key)}) hold ${s.hold}` : '(no-op)';
      case 'load':
        return s.key ? `load ${s.key} (${units(s.key)}) pin=${s.pin}${s.mark ? ' mark' : ''}` : '(no-op)';
      case 'complete':
        return s.key ? `${s.fail ? 'FAIL' : 'complete'} runtime load of ${s.key}` : '(no load to complete)';
      case 'locate':
        return s.key ? `${s.fail ? 'fail' : 'finish'} file look-up of ${s.key}` : '(no look-up)';
      case 'release':
        return s.key ? `release a lease on ${s.key}` : '(no lease)';
      case 'unload':
        return `unload ${current(s.v).tenant}/${current(s.v).model}${s.whole ? '' : ` v${current(s.v).version}`}`;
      case 'delete':
        return `delete ${s.whole ? 'model' : 'version'} ${current(s.v).tenant}/${current(s.v).model}${s.whole ? '' : ` v${current(s.v).version}`}`;
      case 'crash':
        return `crash worker ${s.worker}`;
      case 'tick':
        return `clock +${s.ms} ms`;
      case 'readiness':
        return `readiness ${versionOf(s.v).id}`;
    }
  };

  /** Runs a step; answers it concretely (what it acted on). */
  const apply = (s: Step): Step => {
    const pickOf = <T>(list: T[], pick: number) => list[Math.min(list.length - 1, Math.floor(pick * list.length))];
    switch (s.k) {
      case 'acquire': {
        // The version is the slot's current one (or the previous, stale) whatever `key` says, so that shrinking keeps ids consistent.
        const key = versionOf(s.v, s.stale && incarnation[s.v] > 0 ? incarnation[s.v] - 1 : incarnation[s.v]).id;
        startAcquire(versionOfKey(key), s.hold);
        return { ...s, key };
      }
      case 'load': {
        const key = versionOf(s.v).id;
        startLoad(versionOfKey(key), s.pin, s.mark);
        return { ...s, key };
      }
      case 'complete': {
        const load = s.key !== undefined ? runtime.inflight.find((l) => l.key === s.key) : runtime.inflight.length ? pickOf(runtime.inflight, s.pick) : undefined;
        if (!load) return { ...s, key: undefined };
        if (s.fail) load.reject(new Error(`cannot load /srv/store/${load.key}`));
        else load.resolve();
        return { ...s, key: load.key };
      }
      case 'locate': {
        const l = s.key !== undefined ? locates.find((x) => x.key === s.key) : locates.length ? pickOf(locates, s.pick) : undefined;
        if (!l) return { ...s, key: undefined };
        locates = locates.filter((x) => x !== l);
        if (s.fail) l.reject(new Error(`ENOENT: /srv/store/${l.key}`));
        else l.resolve();
        return { ...s, key: l.key };
      }
      case 'release': {
        const at = s.key !== undefined ? leases.findIndex((l) => l.key === s.key) : leases.length ? Math.min(leases.length - 1, Math.floor(s.pick * leases.length)) : -1;
        if (at < 0) return { ...s, key: undefined };
        const key = leases[at].key;
        releaseLease(at);
        return { ...s, key };
      }
      case 'unload': {
        const { tenant, model, version } = current(s.v);
        sync('unload', () => cache.unload(tenant, model, s.whole ? undefined : version));
        return s;
      }
      case 'delete': {
        const { tenant, model, version } = current(s.v);
        driverCall = true;
        sync('onRegistryChange', () => cache.onRegistryChange(s.whole ? { kind: 'model-deleted', tenantId: tenant, model } : { kind: 'version-deleted', tenantId: tenant, model, version }));
        driverCall = false;
        withdrawSlots(s.v, s.whole);
        return s;
      }
      case 'crash':
        sync('crash', () => runtime.crash(s.worker));
        return s;
      case 'tick':
        now += s.ms;
        return s;
      case 'readiness': {
        const p = sync('readiness', () => cache.readiness(versionOf(s.v)));
        p?.catch(() => undefined);
        return s;
      }
    }
  };

  const live = (h: FuzzHandle) => h.state === 'live';
  const checkState = () => {
    const u = cache.usage();
    const snap = cache.snapshot(null);
    const residents = internals.residents.entries();
    // 2. Bounds of what is resident.
    if (u.bytes > sc.maxBytes) fail('2-bounds', `resident bytes ${u.bytes} > maxBytes ${sc.maxBytes}`);
    if (u.models > sc.maxModels) fail('2-bounds', `resident models ${u.models} > maxModels ${sc.maxModels}`);
    // 5. Snapshot agrees with usage.
    const ready = snap.models.filter((m) => m.state === SessionState.Ready);
    const readyBytes = ready.reduce((sum, m) => sum + (m.sizeBytes ?? 0), 0);
    if (ready.length !== u.models || readyBytes !== u.bytes) fail('5-snapshot', `snapshot ready ${ready.length} models / ${readyBytes} B, usage ${u.models} / ${u.bytes} B`);
    if (snap.pinned !== u.pinnedModels) fail('5-snapshot', `snapshot pinned ${snap.pinned}, usage ${u.pinnedModels}`);
    const unloadingBytes = snap.models.filter((m) => m.state === SessionState.Unloading).reduce((sum, m) => sum + (m.sizeBytes ?? 0), 0);
    if (snap.bytes !== u.bytes + unloadingBytes) fail('5-snapshot', `snapshot bytes ${snap.bytes} != resident ${u.bytes} + unloading ${unloadingBytes}`);
    // Resident sessions are live, one per key, and the per-tenant accounting adds up.
    const keys = new Set<string>();
    const perTenant = new Map<string, { bytes: number; models: number }>();
    for (const e of residents) {
      if (e.handle.state === 'unloaded') fail('1-safety', `resident ${e.key} on unloaded handle #${e.handle.id}`);
      if (e.handle.state === 'dead') fail('lost', `resident ${e.key} on a session lost with its worker (#${e.handle.id})`);
      if (keys.has(e.key)) fail('duplicate', `two resident sessions of ${e.key}`);
      keys.add(e.key);
      const t = perTenant.get(e.tenantId) ?? { bytes: 0, models: 0 };
      t.bytes += e.sizeBytes;
      t.models++;
      perTenant.set(e.tenantId, t);
    }
    for (let t = 0; t < TENANTS; t++) {
      const want = perTenant.get(`t${t}`) ?? { bytes: 0, models: 0 };
      const got = internals.occupancy.residentOf(`t${t}`);
      if (got.bytes !== want.bytes || got.models !== want.models) fail('accounting', `occupancy of t${t}: ${JSON.stringify(got)}, residents ${JSON.stringify(want)}`);
    }
    for (const e of internals.retiring) if (e.handle.state === 'unloaded') fail('1-safety', `retiring ${e.key} on unloaded handle #${e.handle.id}`);
    // Loading room = the loads the runtime has under way (each step has settled), each with what an
    // earlier load of its file found beyond the estimate, when there was one.
    const inflightBytes = runtime.inflight.reduce((sum, l) => sum + l.sizeBytes, 0);
    const inflightExtra = runtime.inflight.reduce((sum, l) => sum + sc.extra[slotOfKey(l.key)] * UNIT, 0);
    if (u.loading.models !== runtime.inflight.length || u.loading.bytes < inflightBytes || u.loading.bytes > inflightBytes + inflightExtra) {
      fail('accounting', `loading room ${JSON.stringify(u.loading)}, runtime has ${runtime.inflight.length} loads / ${inflightBytes} B under way`);
    }
    // A load waiting for room has a load under way to wait for (else nothing will ever start it).
    if (u.waitingLoads > 0 && u.loading.models === 0) fail('hang', `${u.waitingLoads} load(s) wait for room with no load under way`);
    const waitingInSnapshot = snap.models.filter((m) => m.waitingForRoom).length;
    if (waitingInSnapshot !== u.waitingLoads) fail('5-snapshot', `snapshot shows ${waitingInSnapshot} waiting, usage ${u.waitingLoads}`);
    // Figures: the documented excess.
    const liveHandles = runtime.handles.filter(live);
    const residentIds = new Set(residents.map((e) => e.handle.id));
    const unloading = liveHandles.filter((h) => !residentIds.has(h.id));
    const unloadingB = unloading.reduce((sum, h) => sum + h.sizeBytes, 0);
    // A session out of the cache is held only while requests run on it (each step has settled).
    const retiringByHandle = new Map([...internals.retiring].map((e) => [e.handle.id, e]));
    for (const h of unloading) {
      const e = retiringByHandle.get(h.id);
      if (!e || e.refs <= 0) fail('4-leak', `handle #${h.id} (${h.key}) is live, not resident, ${e ? 'retiring with no request on it' : 'not retiring either'}`);
    }
    if (u.bytes + u.loading.bytes > sc.maxBytes || u.models + u.loading.models > sc.maxModels) {
      figures.residentPlusLoadingOver++;
      if (u.pinnedModels === 0) {
        figures.residentPlusLoadingOverWithoutPins++;
        if (process.env.FUZZ_STRICT_LOADING === 'nopin') fail('loading-excess', `nothing pinned: resident ${u.models} models / ${u.bytes / UNIT}u + ${u.loading.models} loads / ${u.loading.bytes / UNIT}u holding room > ${sc.maxModels} / ${sc.maxBytes / UNIT}u`);
      }
      if (u.loading.models >= 2) {
        figures.residentPlusLoadingOverMulti++;
        if (process.env.FUZZ_STRICT_LOADING && (process.env.FUZZ_STRICT_LOADING === 'all' || u.pinnedModels === 0)) fail('loading-excess', `resident ${u.models} models / ${u.bytes / UNIT}u (pinned ${u.pinnedModels}) + ${u.loading.models} loads / ${u.loading.bytes / UNIT}u holding room > ${sc.maxModels} / ${sc.maxBytes / UNIT}u`);
      }
    }
    const allBytes = u.bytes + u.loading.bytes + unloadingB;
    const allModels = u.models + u.loading.models + unloading.length;
    if (allBytes > sc.maxBytes || allModels > sc.maxModels) figures.withUnloadingOver++;
    figures.peakBytesRatio = Math.max(figures.peakBytesRatio, allBytes / sc.maxBytes);
    figures.peakModelsRatio = Math.max(figures.peakModelsRatio, allModels / sc.maxModels);
    const runtimeBytes = liveHandles.reduce((sum, h) => sum + h.sizeBytes, 0) + inflightBytes;
    if (runtimeBytes > sc.maxBytes || liveHandles.length + runtime.inflight.length > sc.maxModels) figures.runtimeOver++;
  };

  try {
    for (step = 0; step < sc.steps.length; step++) {
      // Leases whose request is answered.
      for (let i = leases.length - 1; i >= 0; i--) if (leases[i].due <= step) releaseLease(i);
      const s = sc.steps[step];
      const before = logAll && (s.k === 'delete' || s.k === 'unload') ? describe(s) : undefined;
      const done = apply(s);
      concrete.push(done);
      if (logAll) log.push(`${step}: ${before ?? describe(done)}`);
      await flushPromises();
      if (violation) throw violation;
      checkState();
      figures.steps++;
    }
    // 4. Quiescence: every request answered, every load finished, every backoff past.
    quiescing = true;
    if (logAll) log.push('-- quiescence: release all, finish all loads and look-ups, clock +120 s');
    while (leases.length) releaseLease(leases.length - 1);
    for (let round = 0; round < 200 && (runtime.inflight.length || locates.length); round++) {
      for (const l of locates.splice(0)) l.resolve();
      for (const load of [...runtime.inflight]) load.resolve();
      await flushPromises();
      if (violation) throw violation;
      checkState();
    }
    now += 120_000;
    await flushPromises();
    await flushPromises();
    if (violation) throw violation;
    checkState();
    const unsettled = tracked.filter((t) => !t.settled);
    if (unsettled.length) fail('4-liveness', `${unsettled.length} promise(s) never settled: ${unsettled.slice(0, 5).map((t) => t.what).join(', ')}`);
    const u = cache.usage();
    if (u.waitingLoads !== 0 || u.loading.models !== 0 || u.loading.bytes !== 0) fail('4-liveness', `at rest: ${JSON.stringify(u)}`);
    const stuck = cache.snapshot(null).models.filter((m) => m.state === SessionState.Loading || m.state === SessionState.Unloading);
    if (stuck.length) fail('4-liveness', `at rest, entries still ${stuck.map((m) => `${m.model} v${m.version} ${m.state} (inUse ${m.inUse})`).join(', ')}`);
    if (internals.retiring.size || internals.draining.size || internals.loading.size) fail('4-liveness', `at rest: retiring ${internals.retiring.size}, draining ${internals.draining.size}, loading ${internals.loading.size}`);
    const residentIds = new Set(internals.residents.entries().map((e) => e.handle.id));
    for (const h of runtime.handles) {
      if (h.state === 'live' && !residentIds.has(h.id)) fail('4-leak', `handle #${h.id} (${h.key}) loaded, never unloaded, not resident`);
    }
    figures.evictions = cache.snapshot(null).totals.evictions;
  } catch (error) {
    if (!(error instanceof Violation)) violation ??= new Violation('driver', (error as Error)?.stack ?? String(error));
  }
  if (violation) log.push(`!! at step ${step}: ${violation.message}`);
  // Let anything the runtime still holds settle, so nothing leaks into the next scenario.
  quiescing = true;
  for (const l of locates.splice(0)) l.resolve();
  for (const load of [...runtime.inflight]) load.resolve();
  return { violation, log, figures, concrete };
}

/** Delta debugging over the step list: the smallest list (1-minimal by chunks) that still breaks the same invariant. */
async function shrink(sc: Scenario, invariant: string, budgetMs = 20_000): Promise<Scenario> {
  const deadline = Date.now() + budgetMs;
  const noOp = (s: Step) => (s.k === 'complete' || s.k === 'locate' || s.k === 'release') && s.key === undefined;
  let steps = (await runScenario(sc)).concrete.filter((s) => !noOp(s));
  const fails = async (candidate: Step[]) => (await runScenario({ ...sc, steps: candidate })).violation?.invariant === invariant;
  let chunk = Math.max(1, Math.floor(steps.length / 2));
  while (chunk >= 1 && Date.now() < deadline) {
    let removed = false;
    for (let at = 0; at < steps.length && Date.now() < deadline; ) {
      const candidate = [...steps.slice(0, at), ...steps.slice(at + chunk)];
      if (await fails(candidate)) {
        steps = candidate;
        removed = true;
      } else at += chunk;
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  // Simplify holds: shorter is easier to read.
  for (let i = 0; i < steps.length && Date.now() < deadline; i++) {
    const s = steps[i];
    if (s.k === 'acquire' && s.hold > 0) {
      for (const hold of [0, 1, 5, 10]) {
        if (hold >= s.hold) break;
        const candidate = steps.map((x, j) => (j === i ? { ...s, hold } : x));
        if (await fails(candidate)) {
          steps = candidate;
          break;
        }
      }
    }
  }
  return { ...sc, steps };
}

function describeScenario(sc: Scenario): string {
  return `seed ${sc.seed}: maxModels ${sc.maxModels}, maxBytes ${sc.maxBytes / UNIT}u (u = ${UNIT} B), shares ${sc.shares.join('/')}, sizes ${sc.units.join(',')}`;
}

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 30);
const STEPS = Number(process.env.FUZZ_STEPS ?? 2000);
const FIRST_SEED = Number(process.env.FUZZ_FIRST_SEED ?? 1);

describe('SessionCache under random traffic (model-based fuzz)', () => {
  beforeAll(() => Logger.overrideLogger(false)); // failed loads warn; thousands of them here

  it(`keeps its invariants over ${SEEDS} seeds x ${STEPS} steps`, async () => {
    const total: Figures = { steps: 0, residentPlusLoadingOver: 0, residentPlusLoadingOverMulti: 0, residentPlusLoadingOverWithoutPins: 0, withUnloadingOver: 0, peakBytesRatio: 0, peakModelsRatio: 0, runtimeOver: 0, acquires: 0, loads: 0, runtimeLoads: 0, evictions: 0, rejections: {}, notes: {} };
    const failures: string[] = [];
    const only = process.env.FUZZ_ONLY_SEED ? [Number(process.env.FUZZ_ONLY_SEED)] : Array.from({ length: SEEDS }, (_, i) => FIRST_SEED + i);
    for (const seed of only) {
      const sc = makeScenario(seed, STEPS);
      const { violation, figures } = await runScenario(sc);
      if (violation) {
        const small = await shrink(sc, violation.invariant, Number(process.env.FUZZ_SHRINK_MS ?? 10_000));
        const replay = await runScenario(small, { logAll: true });
        const found = `${describeScenario(sc)}\n  ${violation.message}\n  shrunk to ${small.steps.length} steps:\n    ${replay.log.join('\n    ')}\n  steps: ${JSON.stringify(small.steps)}`;
        if (process.env.FUZZ_REPORT) process.stdout.write(`${found}\n`);
        failures.push(found.slice(0, 4000));
        if (failures.length >= Number(process.env.FUZZ_MAX_FAILURES ?? 1)) break;
        continue;
      }
      for (const k of ['steps', 'residentPlusLoadingOver', 'residentPlusLoadingOverMulti', 'residentPlusLoadingOverWithoutPins', 'withUnloadingOver', 'runtimeOver', 'acquires', 'loads', 'runtimeLoads', 'evictions'] as const) total[k] += figures[k];
      total.peakBytesRatio = Math.max(total.peakBytesRatio, figures.peakBytesRatio);
      total.peakModelsRatio = Math.max(total.peakModelsRatio, figures.peakModelsRatio);
      for (const [k, n] of Object.entries(figures.rejections)) total.rejections[k] = (total.rejections[k] ?? 0) + n;
      for (const [k, n] of Object.entries(figures.notes)) total.notes[k] = (total.notes[k] ?? 0) + n;
    }
    if (process.env.FUZZ_REPORT) process.stdout.write(`fuzz figures: ${JSON.stringify(total, null, 1)}\n`);
    expect(failures).toEqual([]);
  }, 120_000);
});

/** Minimal reproductions of defects the fuzz found (shrunk, then written out by hand), fixed since. */
describe('SessionCache: defects the fuzz found', () => {
  let runtime: FakeRuntime;
  const make = () => new SessionCache(runtime, async () => ({ path: '/fake', bytes: 1024 }), { maxModels: 10, maxBytes: 1024 * 1024 * 1024, now: () => 1_000_000 });

  beforeEach(() => {
    runtime = new FakeRuntime();
  });

  // A load (pin or prewarm) asked for *after* an unload withdrew the version's load under way joined
  // that withdrawn load and kept nothing (200, pinned: false). Fuzz steps: acquire a (held load);
  // unload a; load a {pin:true}.
  it('pins a version asked for after an unload withdrew its load under way', async () => {
    const cache = make();
    runtime.holdLoads = true;
    const v = fakeVersion('a', { model: 'm', version: 1 });
    const request = Promise.resolve(cache.acquire(v)).then((lease) => lease.release());
    await flushPromises();
    expect(cache.unload('t1', 'm')).toEqual([1]); // withdraws the load under way
    const pin = cache.load(v, { pin: true }); // a later request: it should win
    await flushPromises();
    runtime.openGates();
    await request;
    await flushPromises();
    runtime.openGates();
    await expect(pin).resolves.toMatchObject({ pinned: true, state: SessionState.Ready });
    expect(cache.usage()).toMatchObject({ models: 1, pinnedModels: 1 });
  });

  // A request that came after an unload waits for the withdrawn load, then loads anew: when the
  // version was deleted meanwhile, it answered 200 and kept the deleted version loaded (review).
  it('answers 404 to a request waiting out an unloaded load when the version is deleted meanwhile, and keeps nothing', async () => {
    const cache = make();
    runtime.holdLoads = true;
    const v = fakeVersion('a', { model: 'm', version: 1 });
    const first = Promise.resolve(cache.acquire(v)).then((lease) => lease.release());
    await flushPromises();
    cache.unload('t1', 'm');
    const waiting = Promise.resolve(cache.acquire(v));
    await flushPromises();
    cache.onRegistryChange({ tenantId: 't1', model: 'm', version: 1, kind: 'version-deleted' });
    runtime.openGates();
    await first;
    await expect(waiting).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    expect(runtime.loads).toEqual(['a']);
    expect(cache.usage().models).toBe(0);
  });

  // load() finding its version deleted after its mark unloaded by tenant/model/version number, not
  // the session it loaded: after a model was deleted and registered again (numbers start at 1
  // again), a stale load of the old v1 took out the new v1 (its pin, its session, its loads).
  it("does not take out a re-registered model's version when a stale load of the deleted model's same-numbered version finds it deleted", async () => {
    const cache = make();
    const mark = cache.deletionMark(); // a load that resolved model m v1 before m was deleted
    cache.onRegistryChange({ tenantId: 't1', model: 'm', kind: 'model-deleted' });
    // m registered again: its new v1 (a new id) is pinned here.
    await cache.load(fakeVersion('new', { model: 'm', version: 1 }), { pin: true, mark: cache.deletionMark() });
    await expect(cache.load(fakeVersion('old', { model: 'm', version: 1 }), { mark })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    expect(runtime.unloads).toEqual(['old']);
    expect(cache.snapshot(null).models.map((m) => [m.state, m.pinned])).toEqual([[SessionState.Ready, true]]);
  });
});
