import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { withoutServerPaths } from '../common/server-paths';
import type { ServableVersion } from './servable';
import { ServingError, ServingErrorCode } from './serving.error';

/** A version whose last load failed, and when it may be tried again. */
export interface LoadFailure {
  readonly tenantId: string;
  readonly model: string;
  readonly version: number;
  readonly attempts: number;
  readonly retryAt: number;
  /** The runtime's reason, without the server's file paths. */
  readonly reason: string;
}

/**
 * Failed loads and their backoff: a version whose artifact does not load answers 503
 * MODEL_LOAD_FAILED until its retry time (1 s, doubling per failure up to 60 s by default),
 * then the next request tries again; never cached as failed for good, never retried on every
 * request.
 */
export class LoadBackoff {
  private readonly logger = new Logger('SessionCache');
  private readonly failures = new LRUCache<string, LoadFailure>({ max: 10_000 });

  constructor(
    private readonly now: () => number,
    private readonly baseMs = 1000,
    private readonly maxMs = 60_000,
  ) {}

  /** The error to answer while the version's last load failed and its retry time has not come; undefined when it may be tried. */
  refusal(version: ServableVersion): ServingError | undefined {
    const failure = this.failures.get(version.id);
    return failure && this.now() < failure.retryAt ? this.loadFailedError(version, failure) : undefined;
  }

  /** Records a failed load (the retry moves further out) and answers the error for it. */
  failed(version: ServableVersion, error: unknown): ServingError {
    const attempts = (this.failures.get(version.id)?.attempts ?? 0) + 1;
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** (attempts - 1));
    const message = error instanceof Error ? error.message : String(error);
    // Clients see the runtime's reason without the server's file paths; the log keeps them.
    const failure: LoadFailure = { tenantId: version.tenantId, model: version.model, version: version.version, attempts, retryAt: this.now() + delay, reason: withoutServerPaths(message) };
    this.failures.set(version.id, failure);
    this.logger.warn(`loading ${version.model} v${version.version} failed (attempt ${attempts}, next try in ${delay} ms): ${message}`);
    return this.loadFailedError(version, failure);
  }

  /** The version loaded: its failures are forgotten. */
  loaded(versionId: string): void {
    this.failures.delete(versionId);
  }

  /** Forgets the failures of the versions that `matches` picks (deleted: they will never be tried again). */
  forget(matches: (failure: LoadFailure) => boolean): void {
    for (const [versionId, failure] of this.failures.entries()) if (matches(failure)) this.failures.delete(versionId);
  }

  /** Versions whose last load failed, by version id. */
  entries(): IterableIterator<[string, LoadFailure]> {
    return this.failures.entries();
  }

  private loadFailedError(version: ServableVersion, failure: LoadFailure): ServingError {
    const retryAfterMs = Math.max(0, failure.retryAt - this.now());
    return new ServingError(ServingErrorCode.ModelLoadFailed, `Model '${version.model}' version ${version.version} could not be loaded (${failure.reason}); it is tried again in ${Math.ceil(retryAfterMs / 1000)} s`, {
      model: version.model,
      version: version.version,
      reason: failure.reason,
      attempts: failure.attempts,
      retryAfterMs,
    }).withHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  }
}
