import { Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppConfig } from '../config/app-config';
import type { KeyRole } from './auth-context';

const ISSUER = 'mms';
const AUDIENCE = 'mms-api';
export const SECRET_FILE = 'token-signing.key';

export interface TokenClaims {
  keyId: string;
  tenantId: string;
  role: KeyRole;
  models: string[] | null;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'expired' | 'invalid' };

/**
 * Short-lived signed tokens (HS256 JWT) exchanged for an API key. The signing secret is
 * `MMS_TOKEN_SECRET`, else generated once and kept in the data directory (replicas sharing
 * a database must share the secret: set the variable).
 */
@Injectable()
export class TokenService {
  private readonly secret: Uint8Array;

  constructor(private readonly config: AppConfig) {
    this.secret = config.MMS_TOKEN_SECRET ? Buffer.from(config.MMS_TOKEN_SECRET, 'utf8') : loadOrCreateSecret(config.dataDir);
  }

  /**
   * A token never outlives its key (`keyExpiresAt`, epoch ms): the key's expiry ends its tokens
   * anyway, so a later `exp` would promise the caller time it does not have.
   */
  async issue(claims: TokenClaims, keyExpiresAt: number | null = null): Promise<{ token: string; expiresAt: string }> {
    const ttlEnd = Date.now() + this.config.MMS_TOKEN_TTL_SECONDS * 1000;
    // `exp` counts whole seconds: answer that second, not the millisecond it was cut from, so a
    // client refreshing at `expiresAt` never holds a token already refused.
    const exp = Math.floor((keyExpiresAt === null ? ttlEnd : Math.min(ttlEnd, keyExpiresAt)) / 1000);
    const expiresAt = new Date(exp * 1000);
    const token = await new SignJWT({ tid: claims.tenantId, role: claims.role, models: claims.models })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.keyId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.secret);
    return { token, expiresAt: expiresAt.toISOString() };
  }

  async verify(token: string): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const { sub, tid, role, models } = payload as { sub?: string; tid?: string; role?: KeyRole; models?: string[] | null };
      if (!sub || !tid || !role) return { ok: false, reason: 'invalid' };
      return { ok: true, claims: { keyId: sub, tenantId: tid, role, models: models ?? null } };
    } catch (error) {
      return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}

function loadOrCreateSecret(dataDir: string): Uint8Array {
  const file = path.join(dataDir, SECRET_FILE);
  if (fs.existsSync(file)) return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32);
  try {
    fs.writeFileSync(file, secret.toString('base64url'), { mode: 0o600, flag: 'wx' });
    return secret;
  } catch {
    // another process wrote it first: use theirs
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
  }
}
