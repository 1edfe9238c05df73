import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { RegistryChange, RegistryEvents } from '../registry/registry-events';
import { ShadowMonitor } from '../rollout/shadow-monitor';
import { ModelResolver } from './model-resolver.service';
import { SessionCache } from './session-cache';

export const REGISTRY_CHANNEL = 'mms_registry_changes';
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

/**
 * Applies registry changes to serving's caches: this process's own at once, other replicas'
 * through Postgres LISTEN/NOTIFY on a dedicated connection. While that connection is down the
 * resolver re-reads entries after a few seconds instead of a minute, and everything is
 * forgotten once it is back (notifications may have been missed meanwhile).
 *
 * On the embedded database there is no NOTIFY: PGlite's socket server shares one backend
 * between its connections and hands a notification to whichever connection is active, not to
 * the listener (tested), and only one process can open the embedded database anyway, so
 * in-process invalidation is complete there (and counts as notifications flowing).
 */
@Injectable()
export class RegistryChangeFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RegistryChangeFeed');
  /** Tells our own notifications from other replicas'. */
  private readonly origin = randomUUID();
  private unsubscribe?: () => void;
  private client: Client | null = null;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer?: NodeJS.Timeout;
  private connectedBefore = false;
  private stopped = false;

  constructor(
    private readonly events: RegistryEvents,
    private readonly resolver: ModelResolver,
    private readonly sessions: SessionCache,
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly shadows: ShadowMonitor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = this.events.subscribe((change) => {
      this.apply(change);
      this.broadcast(change);
    });
    if (!this.config.usesEmbeddedDatabase) await this.listen();
    // The embedded database serves this process alone, whose own changes arrive above: the feed
    // is complete, so entries need only the long safety-net refresh (a short one would re-read
    // every model in use every few seconds, on the HTTP thread that runs the embedded database).
    else this.resolver.setNotificationsFlowing(true);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => undefined);
  }

  private apply(change: RegistryChange): void {
    this.resolver.invalidate(change);
    this.sessions.onRegistryChange(change);
    // Its mirrored traffic's figures: kept by model id, which a model registered again under the name does not reuse.
    if (change.kind === 'model-deleted') this.shadows.forgetModel(change.tenantId, change.model);
    // And a deleted version's pairs: nothing can be compared with it again.
    if (change.kind === 'version-deleted' && change.version !== undefined) this.shadows.forgetVersion(change.tenantId, change.model, change.version);
  }

  private broadcast(change: RegistryChange): void {
    if (this.config.usesEmbeddedDatabase) return;
    const payload = JSON.stringify({ ...change, origin: this.origin });
    this.dataSource.query('SELECT pg_notify($1, $2)', [REGISTRY_CHANNEL, payload]).catch((error: Error) => {
      // Other replicas still pick the change up when their entries age out.
      this.logger.warn(`could not notify other replicas of ${change.kind} ${change.model}: ${error.message}`);
    });
  }

  private async listen(): Promise<void> {
    // TCP keepalive: a connection lost without a word (a network partition) is noticed, not taken as quiet.
    const client = new Client({ connectionString: this.config.DATABASE_URL, connectionTimeoutMillis: 5000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    client.on('notification', (message) => this.onNotification(message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${REGISTRY_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    this.client = client;
    this.reconnectDelay = RECONNECT_MIN_MS;
    if (this.connectedBefore) {
      this.logger.log('listening for registry changes again; cached resolutions dropped');
      this.resolver.invalidateAll();
    }
    this.connectedBefore = true;
    this.resolver.setNotificationsFlowing(true);
  }

  private lost(client: Client, error?: Error): void {
    if (this.client !== null && this.client !== client) return;
    this.client = null;
    this.resolver.setNotificationsFlowing(false);
    client.removeAllListeners('end');
    client.end().catch(() => undefined);
    if (this.stopped || this.reconnectTimer) return;
    this.logger.warn(`registry change notifications interrupted${error ? `: ${error.message}` : ''}; reconnecting in ${this.reconnectDelay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.listen();
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
  }

  private onNotification(payload: string | undefined): void {
    try {
      const change = JSON.parse(payload ?? '') as RegistryChange & { origin?: string };
      if (change.origin === this.origin || typeof change.tenantId !== 'string' || typeof change.model !== 'string') return;
      const remote: RegistryChange = { tenantId: change.tenantId, model: change.model, kind: change.kind, version: change.version, alias: change.alias };
      this.apply(remote);
      this.events.publishRemote(remote);
    } catch {
      this.logger.warn('ignored a malformed registry notification');
    }
  }
}
