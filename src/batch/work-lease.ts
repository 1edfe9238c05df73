/**
 * A piece of work this process holds a lease on. The runner's heartbeat renews it; when the
 * lease is lost or the job is cancelled, `stop` says why and the work ends at its next check.
 */
export class WorkLease {
  stopReason: string | null = null;

  constructor(
    readonly kind: 'job' | 'partition',
    readonly tenantId: string,
    readonly id: string,
    readonly attempt: number,
  ) {}

  stop(reason: string): void {
    this.stopReason ??= reason;
  }

  get stopped(): boolean {
    return this.stopReason !== null;
  }

  /** Throws StoppedError when the work should end. */
  check(): void {
    if (this.stopReason !== null) throw new StoppedError(this.stopReason);
  }
}

export class StoppedError extends Error {}

/** A failure that another attempt cannot fix (the model's inputs do not fit the features): no retries. */
export class PermanentError extends Error {}
