import { Injectable, Logger } from '@nestjs/common';

export type RegistryChangeKind = 'version-added' | 'version-deleted' | 'alias-set' | 'alias-deleted' | 'model-updated' | 'model-deleted';

/** One committed change to a tenant's model (what serving needs to forget cached resolutions). */
export interface RegistryChange {
  tenantId: string;
  model: string;
  kind: RegistryChangeKind;
  version?: number;
  alias?: string;
}

export type RegistryChangeListener = (change: RegistryChange) => void;

/**
 * In-process announcements of registry changes, published by RegistryService after each
 * change has committed. Serving listens (and relays them to other replicas); the registry
 * itself knows nothing about who listens.
 */
@Injectable()
export class RegistryEvents {
  private readonly logger = new Logger('RegistryEvents');
  private readonly listeners = new Set<RegistryChangeListener>();
  private readonly remoteListeners = new Set<RegistryChangeListener>();

  subscribe(listener: RegistryChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(change: RegistryChange): void {
    this.tell(this.listeners, change);
  }

  /**
   * Changes another replica committed, as its notification told this one (Postgres only): for
   * state kept outside serving's caches that should follow at once, not at its next poll.
   */
  subscribeRemote(listener: RegistryChangeListener): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  publishRemote(change: RegistryChange): void {
    this.tell(this.remoteListeners, change);
  }

  private tell(listeners: Set<RegistryChangeListener>, change: RegistryChange): void {
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (error) {
        // A listener's failure must not turn a committed change into an error response.
        this.logger.error(`listener failed on ${change.kind} of ${change.model}: ${(error as Error).message}`);
      }
    }
  }
}
