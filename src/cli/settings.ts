import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliError } from './errors';

/** What `mms login` keeps: where the service is and the credential to use. */
export interface StoredSettings {
  url?: string;
  token?: string;
  /** For the root credential: the tenant (id or name) it acts in (`x-tenant`). */
  tenant?: string;
}

export interface Connection {
  url: string;
  token: string | undefined;
  tenant: string | undefined;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** `$XDG_CONFIG_HOME/mms/config.json`, else `~/.config/mms/config.json`. */
export function settingsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'mms', 'config.json');
}

export function readSettings(file = settingsPath()): StoredSettings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    const { url, token, tenant } = parsed as Record<string, unknown>;
    return {
      ...(typeof url === 'string' ? { url } : {}),
      ...(typeof token === 'string' ? { token } : {}),
      ...(typeof tenant === 'string' ? { tenant } : {}),
    };
  } catch (error) {
    throw new CliError(`${file} is not valid settings (${(error as Error).message}): fix it, or run mms login again after deleting it`);
  }
}

/**
 * Writes the settings readable by the owner only (0600, in a 0700 directory): the file holds
 * a credential. Written to a new file and renamed, so the mode holds even when an older file
 * had another one, and a crash never leaves half a file.
 */
export function writeSettings(settings: StoredSettings, file = settingsPath()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
}

export function removeSettings(file = settingsPath()): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Flags first, then MMS_URL / MMS_TOKEN / MMS_TENANT, then the settings file, then the default URL.
 * The kept credential and tenant belong to the kept server: when --url or MMS_URL points elsewhere
 * only an explicit --token/MMS_TOKEN and --tenant/MMS_TENANT apply, so that a credential kept for
 * one service is never sent to another (and a tenant of one means nothing on another).
 */
export function resolveConnection(flags: { url?: string; token?: string; tenant?: string }, env: NodeJS.ProcessEnv = process.env, stored: StoredSettings = readSettings(settingsPath(env))): Connection {
  const url = normalizeUrl(flags.url || env.MMS_URL || stored.url || DEFAULT_URL);
  const onStoredServer = url === normalizeUrl(stored.url || DEFAULT_URL);
  return {
    url,
    token: flags.token || env.MMS_TOKEN || (onStoredServer ? stored.token : undefined),
    tenant: flags.tenant || env.MMS_TENANT || (onStoredServer ? stored.tenant : undefined),
  };
}

export function normalizeUrl(raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new CliError(`'${raw}' is not a URL (expected e.g. ${DEFAULT_URL})`, 2);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`'${raw}' must be an http:// or https:// URL`, 2);
  return parsed.toString().replace(/\/+$/, '');
}
