import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { AppConfig } from './app-config';

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

/**
 * The PEM certificate and key of MMS_TLS_CERT and MMS_TLS_KEY, or null to serve plain HTTP.
 * Read and tried together at boot, so that a missing file, a file that is not PEM or a key of
 * another certificate stops the start naming the variables, not with OpenSSL's bare
 * "PEM routines::no start line".
 */
export function readTlsCredentials(config: AppConfig): TlsCredentials | null {
  if (!config.MMS_TLS_CERT || !config.MMS_TLS_KEY) return null;
  const cert = readPem('MMS_TLS_CERT', config.MMS_TLS_CERT);
  const key = readPem('MMS_TLS_KEY', config.MMS_TLS_KEY);
  try {
    tls.createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(`MMS_TLS_CERT (${config.MMS_TLS_CERT}) and MMS_TLS_KEY (${config.MMS_TLS_KEY}) are not a usable PEM certificate and its key: ${(error as Error).message}`, { cause: error });
  }
  return { cert, key };
}

function readPem(variable: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(`${variable} (${file}) cannot be read: ${(error as Error).message}`, { cause: error });
  }
}
