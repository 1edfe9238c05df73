import { CallPriority, InferenceRuntime, RunOutcome, SessionHandle, WorkerView } from '../runtime/inference-runtime';
import type { ServableVersion } from '../servable';
import type { HostTensor } from '../tensor-codec';

/** An in-memory runtime for unit tests: loads resolve when told to, runs echo their inputs. */
export class FakeRuntime extends InferenceRuntime {
  readonly loads: string[] = [];
  readonly unloads: string[] = [];
  readonly calls: Array<{ key: string; parts: HostTensor[][]; priority: CallPriority }> = [];
  readonly failing = new Set<string>();
  /** A failing key's own error message (default: "cannot load <key>"). */
  readonly failureMessages = new Map<string, string>();
  private lostListener?: (keys: string[]) => void;
  private gates: Array<{ key: string; open: () => void }> = [];
  /** When set, loads wait for `openGates()`. */
  holdLoads = false;
  /** What a key's session is found to hold beyond its estimate (SessionHandle.extraBytes). */
  readonly extraBytes = new Map<string, number>();

  async load(key: string): Promise<SessionHandle> {
    this.loads.push(key);
    if (this.holdLoads) await new Promise<void>((open) => this.gates.push({ key, open }));
    if (this.failing.has(key)) throw new Error(this.failureMessages.get(key) ?? `cannot load ${key}`);
    return { key, worker: 0, incarnation: 0, extraBytes: this.extraBytes.get(key) };
  }

  openGates(): void {
    const gates = this.gates;
    this.gates = [];
    for (const gate of gates) gate.open();
  }

  /** Lets the held loads of one key finish. */
  openGate(key: string): void {
    for (const gate of this.gates.filter((g) => g.key === key)) gate.open();
    this.gates = this.gates.filter((g) => g.key !== key);
  }

  /** Sessions loaded or loading, and not unloaded: what the runtime's memory holds. */
  get live(): number {
    return this.loads.length - this.unloads.length - [...this.loads].filter((k) => this.failing.has(k)).length;
  }

  async run(handle: SessionHandle, parts: HostTensor[][], _batchable: boolean, priority: CallPriority = 'normal'): Promise<RunOutcome> {
    this.calls.push({ key: handle.key, parts, priority });
    return { parts: parts.map((p) => ({ outputs: p })), unbatchable: false };
  }

  unload(handle: SessionHandle): void {
    this.unloads.push(handle.key);
  }

  onSessionsLost(listener: (keys: string[]) => void): void {
    this.lostListener = listener;
  }

  loseSessions(keys: string[]): void {
    this.lostListener?.(keys);
  }

  workers(): WorkerView[] {
    return [];
  }

  async close(): Promise<void> {}
}

export function fakeVersion(id: string, overrides: Partial<ServableVersion> = {}): ServableVersion {
  const spec = { name: 'x', type: 'float32', shape: ['N', 2] as Array<string | number | null> };
  return {
    id,
    tenantId: 't1',
    modelId: `model-id-${id}`,
    model: `model-${id}`,
    version: 1,
    modelSha256: 'a'.repeat(64),
    signature: { inputs: [spec], outputs: [{ ...spec, name: 'y' }] },
    mlflow: null,
    outputs: [{ ...spec, name: 'y' }],
    batchable: true,
    ...overrides,
  };
}

export const flushPromises = () => new Promise((resolve) => setImmediate(resolve));
