/** Slots in the ring: far more than the calls a worker has in flight at once. */
const RING = 1024;
const MASK = RING - 1;

/**
 * Calls waiting for a worker's reply, by the id each was given. Ids are issued in order and
 * nearly all are answered within a few event-loop turns, so a call lives in the ring slot its
 * id picks and leaves it empty when it is taken; the rare call still waiting when its slot
 * comes round again (a long run while ~1,000 others passed) moves to an overflow map.
 *
 * Why not a Map: one that gains and loses an entry per call rebuilds its table every few dozen
 * calls, and each discarded table stays reachable from V8's old generation until the next full
 * collection, with the calls it held. Every young collection then promoted the calls in flight,
 * their inputs, outputs and promises (~0.8 MB per collection under the hot benchmark, ~0.1 MB
 * with the ring; README, Workers), which the background GC threads paid for.
 */
export class PendingCalls<T> {
  private readonly ids = new Float64Array(RING).fill(-1);
  private readonly calls: Array<T | undefined> = new Array<T | undefined>(RING).fill(undefined);
  private readonly overflow = new Map<number, T>();
  private nextId = 1;
  private count = 0;

  /** Holds `call` and returns the id its reply will carry. */
  add(call: T): number {
    const id = this.nextId++;
    const slot = id & MASK;
    const waiting = this.calls[slot];
    if (waiting !== undefined) this.overflow.set(this.ids[slot], waiting);
    this.ids[slot] = id;
    this.calls[slot] = call;
    this.count++;
    return id;
  }

  /** The call with this id, no longer held; undefined if none is waiting (answered already, or never issued). */
  take(id: number): T | undefined {
    const slot = id & MASK;
    let call: T | undefined;
    if (this.ids[slot] === id && this.calls[slot] !== undefined) {
      call = this.calls[slot];
      this.calls[slot] = undefined;
    } else {
      call = this.overflow.get(id);
      if (call === undefined) return undefined;
      this.overflow.delete(id);
    }
    this.count--;
    return call;
  }

  get size(): number {
    return this.count;
  }

  /** Every call still waiting, no longer held (their worker is gone). */
  takeAll(): T[] {
    const all = [...this.overflow.values()];
    this.overflow.clear();
    for (let slot = 0; slot < RING; slot++) {
      const call = this.calls[slot];
      if (call !== undefined) all.push(call);
      this.calls[slot] = undefined;
    }
    this.count = 0;
    return all;
  }
}
