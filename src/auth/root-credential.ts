import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppConfig } from '../config/app-config';

export const HASH_FILE = 'root-token.sha256';

export function sha256Hex(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The root credential: `MMS_ADMIN_TOKEN`, or on the embedded default a token generated on
 * first start. Only its SHA-256 is kept (in the data directory), so a generated token is
 * shown exactly once; delete the file to have a new one made at the next start.
 */
export class RootCredential {
  private constructor(
    private readonly hash: Buffer,
    /** Set only on the start that generated the token, so it can be printed once. */
    readonly generatedToken: string | null,
  ) {}

  static resolve(config: AppConfig): RootCredential {
    if (config.MMS_ADMIN_TOKEN) return new RootCredential(sha256Hex(config.MMS_ADMIN_TOKEN), null);
    if (!config.usesEmbeddedDatabase) {
      throw new Error('MMS_ADMIN_TOKEN is required when DATABASE_URL is set (several replicas must share one root credential)');
    }
    const file = path.join(config.dataDir, HASH_FILE);
    if (fs.existsSync(file)) {
      const stored = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
      if (stored.length === 32) return new RootCredential(stored, null);
    }
    const token = `mms_root_${randomBytes(24).toString('base64url')}`;
    fs.mkdirSync(config.dataDir, { recursive: true });
    fs.writeFileSync(file, `${sha256Hex(token).toString('hex')}\n`, { mode: 0o600 });
    return new RootCredential(sha256Hex(token), token);
  }

  /** Constant-time comparison of hashes: equal lengths always, no early exit on content. */
  matches(presented: string): boolean {
    return timingSafeEqual(sha256Hex(presented), this.hash);
  }
}
