import { Injectable } from '@nestjs/common';
import { MicroBatcher } from './micro-batcher';
import type { CallPriority } from './runtime/inference-runtime';
import type { ServableVersion } from './servable';
import { SessionCache } from './session-cache';
import type { HostTensor } from './tensor-codec';

/**
 * The serving core every protocol shares (and batch scoring will): checked inputs in, outputs
 * out. The session is held for the whole call, so eviction can never release it mid-run.
 */
@Injectable()
export class InferenceExecutor {
  constructor(
    private readonly sessions: SessionCache,
    private readonly batcher: MicroBatcher,
  ) {}

  async run(version: ServableVersion, feeds: HostTensor[], priority: CallPriority = 'normal'): Promise<HostTensor[]> {
    const lease = await this.sessions.acquire(version);
    try {
      return await this.batcher.submit(lease.entry, feeds, priority);
    } finally {
      lease.release();
    }
  }
}
