import { RegistryError, RegistryErrorCode } from './registry.error';

export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** Alias names start with a letter so they can never be mistaken for a version number. */
export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export function assertModelName(name: string): void {
  if (!MODEL_NAME.test(name)) {
    throw new RegistryError(RegistryErrorCode.InvalidModelName, `Model name '${truncate(name)}' must match ${MODEL_NAME.source}`, {
      name: truncate(name),
      pattern: MODEL_NAME.source,
    });
  }
}

export function assertAliasName(alias: string): void {
  if (!ALIAS_NAME.test(alias)) {
    throw new RegistryError(RegistryErrorCode.InvalidAliasName, `Alias '${truncate(alias)}' must match ${ALIAS_NAME.source}`, {
      alias: truncate(alias),
      pattern: ALIAS_NAME.source,
    });
  }
}

/** Versions are Postgres `integer`s. */
export const MAX_VERSION = 2_147_483_647;
/** What a version number may be, for error messages. */
export const VERSION_RANGE = `a whole number from 1 to ${MAX_VERSION}`;

/** A version number as given in a body (a number) or a path (its digits), if it is one that can exist. */
export function asVersionNumber(raw: unknown): number | undefined {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= MAX_VERSION ? n : undefined;
}

/** Version numbers in paths and bodies: positive integers that fit the column. */
export function parseVersionNumber(raw: string | number): number {
  const n = asVersionNumber(raw);
  if (n === undefined) {
    throw new RegistryError(RegistryErrorCode.InvalidRequest, `Version '${truncate(String(raw))}' must be ${VERSION_RANGE}`, {
      version: truncate(String(raw)),
    });
  }
  return n;
}

function truncate(text: string): string {
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}
