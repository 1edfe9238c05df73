/**
 * Text PostgreSQL can store: no NUL character (U+0000), which `text` and `jsonb` refuse, and no
 * unpaired UTF-16 surrogate, which JSON carries as `\ud800` but is no character at all. Checked
 * where a client's string will be written (routing keys, segments, feedback keys), so that it is
 * refused with a 400 there rather than failing a write later.
 */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !UNPAIRED_SURROGATE.test(value);
}

/** What a refused string holds, for error messages. */
export const UNSTORABLE_TEXT = 'a NUL character (\\u0000) or an unpaired surrogate (such as \\ud800)';

/** PostgreSQL's refusal of such text (22P05 untranslatable character, 22021 bad character, invalid JSON escapes). */
export function isUnstorableTextError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === '22P05' || e.code === '22021') return true;
  if (e.code === '22P02' && typeof e.message === 'string' && /Unicode|surrogate|type json/i.test(e.message)) return true;
  return e.driverError !== undefined && e.driverError !== error && isUnstorableTextError(e.driverError);
}
