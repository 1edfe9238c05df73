import { randomBytes } from 'node:crypto';

/**
 * API keys look like `mmsk_<prefix>_<secret>`: the prefix (16 lowercase base32-ish chars)
 * finds the row without being secret, the secret (256 random bits) is only ever stored
 * as its SHA-256.
 */
const KEY_PATTERN = /^mmsk_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export interface GeneratedKey {
  key: string;
  prefix: string;
  secret: string;
}

export function generateApiKey(): GeneratedKey {
  const prefix = Array.from(randomBytes(16), (b) => BASE32[b & 31]).join('');
  const secret = randomBytes(32).toString('base64url');
  return { key: `mmsk_${prefix}_${secret}`, prefix, secret };
}

export function parseApiKey(credential: string): { prefix: string; secret: string } | null {
  const match = KEY_PATTERN.exec(credential);
  return match ? { prefix: match[1], secret: match[2] } : null;
}

/** JWTs are three base64url segments. */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(credential);
}
