import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ServingError, ServingErrorCode } from '../serving.error';
import type { HostTensor } from '../tensor-codec';
import { BACKGROUND_MAX_WAIT_MS, BackgroundCallDropped, CallPriority, InferenceRuntime, RunOutcome, SessionHandle, WorkerView } from './inference-runtime';
import { FromWorker, InferenceWorkerData, RunJob, WireReader, WireWriter, WorkerReply, WorkerRequest } from './worker-protocol';
import { workerEntry } from '../../common/worker-entry';
import { PendingCalls } from './pending-calls';

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/** A background call waiting for its worker to be idle. */
interface DeferredCall extends Pending {
  job: Omit<RunJob, 'id'>;
  queuedAt: number;
}

interface HeldSession {
  bytes: number;
  /**
   * Handles on the session, and loads of it on their way: a version evicted while requests
   * still run on it, then loaded again, shares the worker's session (one per key) until the
   * last holder lets go, so that the old handle's unload cannot take the new one's session.
   */
  holders: number;
  /** What its load found it holds beyond `bytes` as first estimated (already added to `bytes`). */
  extraBytes?: number;
}

interface Slot {
  index: number;
  incarnation: number;
  worker: Worker;
  pending: PendingCalls<Pending>;
  /** Sessions living here: their estimated size (the basis of assignment) and how many handles hold them. */
  sessions: Map<string, HeldSession>;
  bytes: number;
  /** Run jobs waiting for this turn's single postMessage. */
  outbox: RunJob[];
  /** Background calls, oldest first, waiting for the worker to have nothing else to run. */
  deferred: DeferredCall[];
  restarts: number;
  /** Settles when the worker has loaded onnxruntime (or ended). */
  started: Promise<void>;
}

/**
 * `MMS_WORKERS` worker threads, each owning the sessions assigned to it. A model is loaded in
 * exactly one worker: the one with the fewest estimated bytes when it is loaded (ties: fewest
 * models, then lowest index), so memory and models spread evenly. Calls queued during one
 * event-loop turn go to a worker in one message, inputs' buffers transferred.
 */
export class WorkerPoolRuntime extends InferenceRuntime implements OnApplicationBootstrap {
  private readonly logger = new Logger('InferenceWorkers');
  private readonly slots: Slot[] = [];
  private readonly lostListeners: Array<(keys: string[]) => void> = [];
  private flushScheduled = false;
  private closing = false;

  /**
   * `nice`: how many nice levels below the HTTP thread the workers run (Linux). The HTTP thread is
   * the one every request passes through, on its way in and out; when the workers, the embedded
   * database and V8's helpers keep both cores of a small machine busy, it waited for a CPU 15 % of
   * the time in the hot benchmark, with the workers' replies queuing behind it. Nice 10 gives it
   * the CPU first: it waited 8-11 % of the time, and paired runs answered 1.00-1.12x the
   * requests/s (noisy; never clearly worse). A core left idle is used all the same.
   */
  constructor(
    private readonly workerCount: number,
    private readonly options: { nice: number; backgroundMaxWaitMs?: number } = { nice: 0 },
  ) {
    super();
  }

  /**
   * The workers start once the application has booted (or at the first load, whichever comes
   * first), not when the pool is built: a boot that fails later on (bad configuration) exits at
   * once, and a worker still loading onnxruntime at that moment could take the process down with a
   * signal instead of the clean exit code 1 and message.
   */
  onApplicationBootstrap(): void {
    this.start();
  }

  private start(): void {
    if (this.slots.length || this.closing) return;
    for (let i = 0; i < this.workerCount; i++) this.slots.push(this.spawn(i, 0, 0));
  }

  async load(key: string, artifactPath: string, sizeBytes: number, sha256?: string): Promise<SessionHandle> {
    this.start();
    // Where the key already lives (a retiring copy), else where memory is lowest.
    const slot = this.slots.find((s) => s.sessions.has(key)) ?? this.leastLoaded();
    const incarnation = slot.incarnation;
    this.hold(slot, key, sizeBytes);
    let reply: WorkerReply;
    try {
      reply = await this.request(slot, (id) => slot.worker.postMessage({ type: 'load', id, key, path: artifactPath, sha256 } satisfies WorkerRequest));
    } catch (error) {
      this.letGo(slot, key);
      throw error;
    }
    if (reply.error) {
      this.letGo(slot, key);
      throw new Error(reply.error);
    }
    if (slot.incarnation !== incarnation) throw workerGone(slot.index);
    const extraBytes = reply.extraBytes ?? 0;
    this.holdMore(slot, key, extraBytes);
    return { key, worker: slot.index, incarnation, extraBytes };
  }

  async run(handle: SessionHandle, parts: HostTensor[][], batchable: boolean, priority: CallPriority = 'normal'): Promise<RunOutcome> {
    const slot = this.slots[handle.worker];
    if (slot.incarnation !== handle.incarnation) throw workerGone(handle.worker);
    const job = { key: handle.key, parts, batchable };
    const reply =
      priority === 'background'
        ? await new Promise<WorkerReply>((resolve, reject) => {
            slot.deferred.push({ job, queuedAt: performance.now(), resolve, reject });
            this.runDeferredIfIdle(slot);
          })
        : await this.request(slot, (id) => {
            slot.outbox.push({ id, ...job });
            this.scheduleFlush();
          });
    if (reply.error) throw new ServingError(ServingErrorCode.WorkerUnavailable, `The inference worker could not run the model: ${reply.error}`, { worker: handle.worker });
    return { parts: reply.parts ?? [], unbatchable: reply.unbatchable === true };
  }

  unload(handle: SessionHandle): void {
    const slot = this.slots[handle.worker];
    if (slot.incarnation !== handle.incarnation) return;
    this.letGo(slot, handle.key);
  }

  private hold(slot: Slot, key: string, sizeBytes: number): void {
    const held = slot.sessions.get(key);
    if (held) held.holders++;
    else {
      slot.sessions.set(key, { bytes: sizeBytes, holders: 1 });
      slot.bytes += sizeBytes;
    }
  }

  /** A session found to hold more than the estimate it was placed by (counted once per session, not per holder). */
  private holdMore(slot: Slot, key: string, extraBytes: number): void {
    const held = slot.sessions.get(key);
    if (!held || held.extraBytes !== undefined) return;
    held.extraBytes = extraBytes;
    held.bytes += extraBytes;
    slot.bytes += extraBytes;
  }

  /** One holder fewer; the last one releases the session (messages to a worker keep their order, so a later load of the key loads it anew). */
  private letGo(slot: Slot, key: string): void {
    const held = slot.sessions.get(key);
    if (!held || --held.holders > 0) return;
    slot.sessions.delete(key);
    slot.bytes -= held.bytes;
    if (this.slots[slot.index] === slot) slot.worker.postMessage({ type: 'unload', key } satisfies WorkerRequest);
  }

  onSessionsLost(listener: (keys: string[]) => void): void {
    this.lostListeners.push(listener);
  }

  workers(): WorkerView[] {
    return this.slots.map((s) => ({ worker: s.index, models: s.sessions.size, bytes: s.bytes, pending: s.pending.size, restarts: s.restarts }));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => this.stop(s)));
  }

  /**
   * Terminates a worker once it has started: terminating one still loading onnxruntime's native
   * addon can abort the whole process ("terminate called after throwing an instance of
   * 'Napi::Error'"), e.g. a shutdown right after boot. A worker that never says it started is
   * terminated after STARTUP_WAIT_MS all the same.
   */
  private async stop(slot: Slot): Promise<void> {
    await Promise.race([slot.started, sleep(STARTUP_WAIT_MS, undefined, { ref: false })]);
    await slot.worker.terminate();
  }

  private request(slot: Slot, send: (id: number) => void): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      const id = slot.pending.add({ resolve, reject });
      try {
        send(id);
      } catch (error) {
        slot.pending.take(id);
        reject(error as Error);
      }
    });
  }

  /** After this turn's requests have queued their calls: one message per worker. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      for (const slot of this.slots) {
        if (!slot.outbox.length) continue;
        const wire = new WireWriter();
        for (const job of slot.outbox) wire.job(job);
        slot.outbox = [];
        slot.worker.postMessage({ type: 'run', wire: wire.values } satisfies WorkerRequest, [...wire.transfer]);
      }
    });
  }

  /**
   * Sends the oldest background call if the worker has nothing else to run (no call or load
   * waiting for its reply, which also means no background call under way); drops those that
   * waited too long. Called when one is queued and whenever the worker's replies arrive.
   */
  private runDeferredIfIdle(slot: Slot): void {
    const now = performance.now();
    const maxWait = this.options.backgroundMaxWaitMs ?? BACKGROUND_MAX_WAIT_MS;
    while (slot.deferred.length && now - slot.deferred[0].queuedAt > maxWait) {
      slot.deferred.shift()!.reject(new BackgroundCallDropped(`worker ${slot.index} had no idle moment for ${maxWait} ms`));
    }
    if (!slot.deferred.length || slot.pending.size > 0 || this.slots[slot.index] !== slot) return;
    const call = slot.deferred.shift()!;
    const id = slot.pending.add(call);
    try {
      const wire = new WireWriter();
      wire.job({ id, ...call.job });
      slot.worker.postMessage({ type: 'run', wire: wire.values } satisfies WorkerRequest, [...wire.transfer]);
    } catch (error) {
      slot.pending.take(id);
      call.reject(error as Error);
    }
  }

  private leastLoaded(): Slot {
    let best = this.slots[0];
    for (const s of this.slots) {
      if (s.bytes < best.bytes || (s.bytes === best.bytes && s.sessions.size < best.sessions.size)) best = s;
    }
    return best;
  }

  private spawn(index: number, incarnation: number, restarts: number): Slot {
    const [entry, options] = workerEntry(__dirname, 'inference-worker');
    const workerData: InferenceWorkerData = { nice: this.options.nice };
    const worker = new Worker(entry, { ...options, workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    let started!: () => void;
    const slot: Slot = { index, incarnation, worker, pending: new PendingCalls(), sessions: new Map(), bytes: 0, outbox: [], deferred: [], restarts, started: new Promise((resolve) => (started = resolve)) };
    worker.once('exit', () => started());
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        started();
        return;
      }
      for (const replies = new WireReader(message.wire); !replies.done; ) {
        const reply = replies.reply();
        slot.pending.take(reply.id)?.resolve(reply);
      }
      if (slot.deferred.length) this.runDeferredIfIdle(slot);
    });
    worker.on('error', (error) => this.logger.error(`worker ${index} failed: ${error.message}`));
    worker.on('exit', (code) => {
      if (this.closing || this.slots[index] !== slot) return;
      this.logger.error(`worker ${index} exited (code ${code}); restarting it, its ${slot.sessions.size} model(s) will load again on demand`);
      this.slots[index] = this.spawn(index, incarnation + 1, restarts + 1);
      for (const pending of slot.pending.takeAll()) pending.reject(workerGone(index));
      for (const call of slot.deferred.splice(0)) call.reject(new BackgroundCallDropped(`worker ${index} restarted`));
      const lost = [...slot.sessions.keys()];
      if (lost.length) for (const listener of this.lostListeners) listener(lost);
    });
    // The pool must not keep a finished process alive; shutdown terminates workers explicitly.
    worker.unref();
    return slot;
  }
}

/**
 * A worker's JS objects are small and short-lived (tensors live off the V8 heap), but under a
 * busy load V8 grows each thread's young generation to its default maximum, 32 MiB, and keeps
 * it: tens of MiB of RSS per worker that hold nothing (the many-models benchmark).
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/** How long stopping waits for a worker to finish starting (loading onnxruntime takes well under a second). */
const STARTUP_WAIT_MS = 10_000;

function workerGone(worker: number): ServingError {
  return new ServingError(ServingErrorCode.WorkerUnavailable, 'The inference worker holding the model restarted; retry the request', { worker });
}
