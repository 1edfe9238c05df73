import { usageError } from '../errors';

/**
 * A file-name pattern with `{key}` placeholders, e.g. `demand-{region}-{store}.onnx`: each
 * placeholder captures part of the name as a segment key. `*` matches anything without
 * capturing. A pattern without an extension matches the name without its extension.
 */
export class SegmentPattern {
  private readonly regex: RegExp;
  readonly keys: string[];

  constructor(readonly source: string) {
    const keys: string[] = [];
    let regex = '';
    const token = /\{([^{}]*)\}|\*/g;
    let last = 0;
    for (let m = token.exec(source); m; m = token.exec(source)) {
      regex += escapeRegex(source.slice(last, m.index));
      if (m[0] === '*') regex += '.*?';
      else {
        const key = m[1];
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) throw usageError(`--segment-pattern: '{${key}}' is not a usable key (letters, digits, _)`);
        if (keys.includes(key)) throw usageError(`--segment-pattern: {${key}} appears twice`);
        keys.push(key);
        regex += `(?<${key}>[^/]+?)`;
      }
      last = m.index + m[0].length;
    }
    regex += escapeRegex(source.slice(last));
    if (!keys.length) throw usageError(`--segment-pattern '${source}' has no {key} placeholder (e.g. demand-{region}-{store}.onnx)`);
    this.keys = keys;
    this.regex = new RegExp(`^${regex}$`);
  }

  /** The segment read from a file's base name, or null when the name does not fit the pattern. */
  match(fileName: string): Record<string, string> | null {
    // A pattern that names no extension is matched against the name without it.
    const m = this.regex.exec(/\.(onnx|zip)$/i.test(this.source) ? fileName : stripExtension(fileName));
    if (!m?.groups) return null;
    return Object.fromEntries(this.keys.map((k) => [k, m.groups![k]]));
  }
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `model.onnx` → `model`; `model.zip` → `model`. */
export function stripExtension(fileName: string): string {
  return fileName.replace(/\.(onnx|zip)$/i, '');
}
