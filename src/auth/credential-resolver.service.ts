import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiKeyEntity } from '../tenancy/entities/api-key.entity';
import { ApiKeysRepository } from '../tenancy/api-keys.repository';
import { looksLikeJwt, parseApiKey } from './api-key-format';
import { CommonError, CommonErrorCode } from '../common/domain-error';
import { AuthContext, DEFAULT_TENANT_ID } from './auth-context';
import { AuthError, AuthErrorCode } from './auth.error';
import { RootCredential } from './root-credential';
import { TokenService } from './token.service';

/**
 * How long an auth decision is reused, counted from when the database was read for it (not
 * from when the answer came back). Revoking a key takes effect within this time on every
 * replica, with no cross-replica messaging: every decision read before the revocation has
 * expired by then, for keys and for the tokens minted from them alike.
 */
export const AUTH_CACHE_TTL_MS = 1000;

/**
 * While the database cannot be asked (an outage), a credential accepted within this time is
 * still accepted, so that loaded models keep answering their callers; revoking needs the
 * database too, so nothing can be revoked meanwhile. Key expiry is still enforced.
 */
/** A cached decision this close to expiring is refreshed in the background when used. */
const REFRESH_AHEAD_MS = 250;
/**
 * How long a key row read for one token is reused for other tokens of the same key. It is
 * kept below AUTH_CACHE_TTL_MS - REFRESH_AHEAD_MS so that a refresh never finds the row its
 * expiring decision was built on: chaining the two caches (each one second) once let a
 * revoked key's tokens live for up to 1.75 s on other replicas.
 */
const KEY_ROW_REUSE_MS = REFRESH_AHEAD_MS;

export const STALE_IF_ERROR_MS = 15 * 60_000;

type Decision = { ok: true; ctx: AuthContext; expiresAt: number | null } | { ok: false; message: string };
/** A decision and when the data it rests on was read (performance.now(), lru-cache's clock). */
type DatedDecision = { decision: Decision; readAt: number };
/** A key row (or its absence) and when it was read. */
type DatedKey = { key: ApiKeyEntity | null; readAt: number };

/**
 * Turns a bearer credential (root token, API key or token) into an AuthContext. Decisions are
 * cached by the credential's SHA-256 for a second, so the hot path pays a hash and a map
 * lookup, not a query; a flood of bad credentials is cached too.
 */
@Injectable()
export class CredentialResolver {
  private readonly decisions = new LRUCache<string, Decision>({ max: 50_000, ttl: AUTH_CACHE_TTL_MS });
  /** Key rows by id, for tokens (which name their key so revocation reaches them too). */
  private readonly keysById = new LRUCache<string, DatedKey>({ max: 50_000, ttl: KEY_ROW_REUSE_MS });
  /** The last positive decision per credential, for when the database is away. */
  private readonly lastAccepted = new LRUCache<string, { ctx: AuthContext; expiresAt: number | null }>({ max: 50_000, ttl: STALE_IF_ERROR_MS });
  /**
   * Lookups in flight, by cache key: when a decision expires under load, the requests that
   * arrive meanwhile wait for the one query instead of each sending its own.
   */
  private readonly inFlight = new Map<string, Promise<Decision>>();
  /** Bumped by forgetAll, so a lookup that started before a revocation does not cache its answer. */
  private generation = 0;

  constructor(
    private readonly root: RootCredential,
    private readonly keys: ApiKeysRepository,
    private readonly tokens: TokenService,
  ) {}

  async resolve(credential: string): Promise<AuthContext> {
    const cacheKey = cacheKeyOf(credential);
    let decision = this.decisions.get(cacheKey);
    if (decision) {
      // Refresh-ahead: a credential in use is looked up again shortly before its decision
      // expires, so its requests never wait for the database.
      if (this.decisions.getRemainingTTL(cacheKey) < REFRESH_AHEAD_MS && !this.inFlight.has(cacheKey)) {
        this.decideOnce(credential, cacheKey).catch(() => undefined);
      }
    } else {
      try {
        decision = await this.decideOnce(credential, cacheKey);
      } catch (error) {
        return this.acceptedBefore(credential, cacheKey, error);
      }
    }
    if (!decision.ok) throw new AuthError(AuthErrorCode.Unauthenticated, decision.message);
    return decision.ctx;
  }

  /** One lookup per credential at a time; its decision is cached for everyone who waited. */
  private decideOnce(credential: string, cacheKey: string): Promise<Decision> {
    let pending = this.inFlight.get(cacheKey);
    if (!pending) {
      const generation = this.generation;
      pending = this.decide(credential)
        .then(({ decision, readAt }) => {
          if (generation !== this.generation) return decision;
          // Its second runs from the read, so a slow query or a reused key row cannot stretch it.
          this.decisions.set(cacheKey, decision, { start: readAt });
          if (decision.ok) this.lastAccepted.set(cacheKey, { ctx: decision.ctx, expiresAt: decision.expiresAt });
          else this.lastAccepted.delete(cacheKey);
          return decision;
        })
        .finally(() => {
          if (this.inFlight.get(cacheKey) === pending) this.inFlight.delete(cacheKey);
        });
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }

  /** The database could not be asked: a credential accepted recently still is (unless it has expired since); others wait (503). */
  private async acceptedBefore(credential: string, cacheKey: string, error: unknown): Promise<AuthContext> {
    const last = this.lastAccepted.get(cacheKey);
    if (last && (last.expiresAt === null || last.expiresAt > Date.now())) {
      if (!looksLikeJwt(credential) || (await this.tokens.verify(credential)).ok) return last.ctx;
      throw new AuthError(AuthErrorCode.Unauthenticated, 'The token has expired');
    }
    throw new CommonError(CommonErrorCode.ServiceUnavailable, 'The credential cannot be checked right now; try again shortly', {
      reason: error instanceof Error ? error.message : String(error),
    });
  }

  /** Forgets cached decisions at once (this replica; others follow within the TTL). */
  forgetAll(): void {
    this.generation++;
    this.inFlight.clear();
    this.decisions.clear();
    this.keysById.clear();
    this.lastAccepted.clear();
  }

  private async decide(credential: string): Promise<DatedDecision> {
    const readAt = performance.now();
    if (this.root.matches(credential)) {
      return { decision: { ok: true, ctx: { tenantId: DEFAULT_TENANT_ID, role: 'root', principal: 'root', keyId: null, via: 'root', modelScope: null }, expiresAt: null }, readAt };
    }
    const apiKey = parseApiKey(credential);
    if (apiKey) return { decision: await this.decideKey(apiKey.prefix, apiKey.secret), readAt };
    if (looksLikeJwt(credential)) return this.decideToken(credential, readAt);
    return { decision: { ok: false, message: 'The credential is not valid' }, readAt };
  }

  private async decideKey(prefix: string, secret: string): Promise<Decision> {
    const key = await this.keys.findKeyByPrefix(prefix);
    const presented = createHash('sha256').update(secret).digest();
    // Compare even when no row was found, so timing does not tell a wrong prefix from a wrong secret.
    const stored = key ? Buffer.from(key.secretSha256, 'hex') : Buffer.alloc(32);
    if (!timingSafeEqual(presented, stored) || !key) return { ok: false, message: 'The credential is not valid' };
    return this.decideLiveKey(key, 'key');
  }

  /** A token is as live as its key: the decision is dated by when that key row was read. */
  private async decideToken(token: string, now: number): Promise<DatedDecision> {
    const check = await this.tokens.verify(token);
    if (!check.ok) return { decision: { ok: false, message: check.reason === 'expired' ? 'The token has expired' : 'The token is not valid' }, readAt: now };
    const { key, readAt } = await this.keyById(check.claims.tenantId, check.claims.keyId);
    if (!key) return { decision: { ok: false, message: 'The token is not valid' }, readAt };
    return { decision: this.decideLiveKey(key, 'token'), readAt };
  }

  private decideLiveKey(key: ApiKeyEntity, via: 'key' | 'token'): Decision {
    if (key.revokedAt) return { ok: false, message: 'The key has been revoked' };
    if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return { ok: false, message: 'The key has expired' };
    return {
      ok: true,
      ctx: {
        tenantId: key.tenantId,
        role: key.role,
        principal: `key:${key.id}`,
        keyId: key.id,
        via,
        modelScope: key.models,
        keyExpiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
      },
      expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
    };
  }

  private async keyById(tenantId: string, id: string): Promise<DatedKey> {
    const cacheKey = `${tenantId}/${id}`;
    const cached = this.keysById.get(cacheKey);
    if (cached) return cached;
    const generation = this.generation;
    const readAt = performance.now();
    const key = /^[0-9a-f-]{36}$/.test(id) ? await this.keys.findKeyById(tenantId, id) : null;
    const dated = { key, readAt };
    // A key read before a revocation (forgetAll) must not be cached after it.
    if (generation === this.generation) this.keysById.set(cacheKey, dated, { start: readAt });
    return dated;
  }
}

/**
 * The decision cache's key: the one-shot crypto.hash (a third of createHash's cost, on every
 * request) where Node has it (20.12+), createHash before.
 */
const cacheKeyOf: (credential: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (credential) => crypto.hash('sha256', credential, 'base64')
    : (credential) => createHash('sha256').update(credential).digest('base64');
