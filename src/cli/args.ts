import * as fs from 'node:fs';
import { usageError } from './errors';

/** Commander collector for repeatable `--segment k=v` style flags (also accepts `k=v,k2=v2`). */
export function collectPairs(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `['region=north', 'store=0042,tier=a']` → `{region: 'north', store: '0042', tier: 'a'}`. */
export function parsePairs(flag: string, values: string[] | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const value of values ?? []) {
    for (const pair of value.split(',')) {
      if (!pair.trim()) continue;
      const at = pair.indexOf('=');
      if (at <= 0) throw usageError(`${flag} expects key=value, got '${pair}'`);
      result[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
  }
  return result;
}

/** `3=90,4=10` → `{"3": 90, "4": 10}` (API.md's traffic split). */
export function parseSplit(text: string): Record<string, number> {
  const split: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*v?(\d+)\s*[=:]\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(part);
    if (!m) throw usageError(`--split expects version=percent pairs like 3=90,4=10, got '${part}'`);
    split[m[1]] = Number(m[2]);
  }
  const total = Object.values(split).reduce((a, b) => a + b, 0);
  if (Math.abs(total - 100) > 1e-6) throw usageError(`--split percentages must add up to 100 (they add up to ${total})`);
  return split;
}

/** `5:20` (version 5 gets a copy of 20% of requests) → `{"version": 5, "percent": 20}`. */
export function parseMirror(text: string): { version: number; percent: number } {
  const m = /^\s*v?(\d+)\s*[:=]\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) throw usageError(`--mirror expects version:percent like 5:20, got '${text}'`);
  return { version: Number(m[1]), percent: Number(m[2]) };
}

export function parsePositiveInt(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw usageError(`${flag} must be a positive whole number, got '${text}'`);
  return Number(text);
}

export function parseInteger(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text)) throw usageError(`${flag} must be a whole number, got '${text}'`);
  return Number(text);
}

/** `a,b, c` → `['a', 'b', 'c']`. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** JSON given inline, as `@file.json`, or `-` for standard input. */
export function readJsonArgument(flag: string, text: string): unknown {
  let source = text;
  let where = flag;
  if (text === '-') {
    source = fs.readFileSync(0, 'utf8');
    where = `${flag} (standard input)`;
  } else if (text.startsWith('@')) {
    const file = text.slice(1);
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw usageError(`${flag}: cannot read ${file}: ${(error as Error).message}`);
    }
    where = file;
  }
  try {
    return JSON.parse(source);
  } catch (error) {
    throw usageError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}
