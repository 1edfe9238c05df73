import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseLabels } from '../../registry/labels';
import { MODEL_NAME } from '../../registry/names';
import { CliError } from '../errors';
import { SegmentPattern, stripExtension } from './segment-pattern';

/** One file to register and what to send with it; `problem` set when it cannot be sent at all. */
export interface Candidate {
  file: string;
  name: string;
  segment: Record<string, string>;
  tags: Record<string, string>;
  description?: string;
  problem?: string;
}

export interface DiscoverOptions {
  /** Only with a single file: the model name (else the file name without .onnx / .zip). */
  name?: string;
  segmentPattern?: SegmentPattern;
  /** Segment keys given on the command line, for every file. */
  segment: Record<string, string>;
  tags: Record<string, string>;
  description?: string;
}

/** Model files a directory registers: ONNX files and zipped MLflow model directories. */
const MODEL_FILE = /\.(onnx|zip)$/i;
export const SEGMENTS_FILE = 'segments.json';

interface Sidecar {
  name?: string;
  segment?: Record<string, string>;
  tags?: Record<string, string>;
  description?: string;
}

/**
 * Turns the command's paths into candidates. A directory contributes every .onnx and .zip
 * file in it (not its subdirectories), in name order. A file's segment is built from, last
 * winning: `--segment`, the `--segment-pattern` match, its entry in the directory's
 * `segments.json`, then its own sidecar (`<file>.json` or `<name>.json`). A name that does not fit
 * the pattern is a problem only when neither segments.json nor a sidecar gives the file a segment.
 */
export function discoverCandidates(paths: string[], options: DiscoverOptions): Candidate[] {
  const files: string[] = [];
  for (const p of paths) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch {
      throw new CliError(`${p}: no such file or directory`);
    }
    if (stat.isDirectory()) {
      const found = fs
        .readdirSync(p, { withFileTypes: true })
        .filter((e) => e.isFile() && MODEL_FILE.test(e.name))
        .map((e) => path.join(p, e.name))
        .sort();
      if (!found.length) throw new CliError(`${p}: no .onnx or .zip model files in this directory`);
      files.push(...found);
    } else files.push(p);
  }
  if (options.name && files.length !== 1) throw new CliError('--name names one model: give a single file (in a directory, use sidecar files to name models)', 2);

  const segmentFiles = new Map<string, Record<string, unknown> | Error | undefined>();
  return files.map((file) => {
    const base = path.basename(file);
    const candidate: Candidate = {
      file,
      name: options.name ?? stripExtension(base),
      segment: { ...options.segment },
      tags: { ...options.tags },
      ...(options.description ? { description: options.description } : {}),
    };
    try {
      const dir = path.dirname(file);
      if (!segmentFiles.has(dir)) segmentFiles.set(dir, readSegmentsFile(dir));
      const shared = segmentFiles.get(dir);
      if (shared instanceof Error) throw shared;
      const entry = shared?.[base] ?? shared?.[stripExtension(base)];
      const listed = entry !== undefined ? toSidecar(entry, `${path.join(dir, SEGMENTS_FILE)} entry '${base}'`) : null;
      const sidecar = readSidecar(file);
      if (options.segmentPattern) {
        const matched = options.segmentPattern.match(base);
        // segments.json and sidecars win over the pattern, so a file whose segment they give needs no match.
        if (!matched && !listed?.segment && !sidecar?.segment) throw new Error(`the file name does not match --segment-pattern ${options.segmentPattern.source}`);
        Object.assign(candidate.segment, matched ?? {});
      }
      if (listed) apply(candidate, listed, false);
      if (sidecar) apply(candidate, sidecar, !options.name);
      refuseWhatTheServiceWould(candidate);
    } catch (error) {
      candidate.problem = (error as Error).message;
    }
    return candidate;
  });
}

/**
 * The service's own rules for names, segments and tags, checked before anything is sent: a
 * dry run must show the file names that make no model name (`Demand-North.onnx`, `été.onnx`)
 * rather than a clean plan that then fails file by file.
 */
function refuseWhatTheServiceWould(candidate: Candidate): void {
  if (!MODEL_NAME.test(candidate.name)) {
    throw new Error(`model name '${candidate.name}' must match ${MODEL_NAME.source}: rename the file, or name the model with --name (one file) or a sidecar's "name"`);
  }
  parseLabels('segment', candidate.segment);
  parseLabels('tags', candidate.tags);
}

function apply(candidate: Candidate, sidecar: Sidecar, allowName: boolean): void {
  if (sidecar.name && allowName) candidate.name = sidecar.name;
  Object.assign(candidate.segment, sidecar.segment ?? {});
  Object.assign(candidate.tags, sidecar.tags ?? {});
  if (sidecar.description !== undefined) candidate.description = sidecar.description;
}

function readSegmentsFile(dir: string): Record<string, unknown> | Error | undefined {
  const file = path.join(dir, SEGMENTS_FILE);
  if (!fs.existsSync(file)) return undefined;
  const parsed = readJson(file);
  if (parsed instanceof Error) return parsed;
  if (!isObject(parsed)) return new Error(`${file} must map file names to segments, e.g. {"demand-north-0042.onnx": {"region": "north"}}`);
  return parsed;
}

/** `<file>.json` (demand.onnx.json) or `<name>.json` (demand.json) beside the file. */
function readSidecar(file: string): Sidecar | null {
  for (const candidate of [`${file}.json`, path.join(path.dirname(file), `${stripExtension(path.basename(file))}.json`)]) {
    if (path.basename(candidate) === SEGMENTS_FILE || !fs.existsSync(candidate)) continue;
    const parsed = readJson(candidate);
    if (parsed instanceof Error) throw parsed;
    return toSidecar(parsed, candidate);
  }
  return null;
}

/**
 * A sidecar is either `{"name"?, "segment"?, "tags"?, "description"?}` or, shorter, just the
 * segment (`{"region": "north", "store": "0042"}`).
 */
function toSidecar(value: unknown, where: string): Sidecar {
  if (!isObject(value)) throw new Error(`${where} must be a JSON object`);
  const structured = ['name', 'segment', 'tags', 'description'].some((k) => k in value) && Object.keys(value).every((k) => ['name', 'segment', 'tags', 'description'].includes(k));
  const sidecar: Sidecar = structured ? (value as Sidecar) : { segment: value as Record<string, string> };
  if (sidecar.name !== undefined && typeof sidecar.name !== 'string') throw new Error(`${where}: name must be a string`);
  if (sidecar.description !== undefined && typeof sidecar.description !== 'string') throw new Error(`${where}: description must be a string`);
  for (const field of ['segment', 'tags'] as const) {
    const labels = sidecar[field];
    if (labels === undefined) continue;
    if (!isObject(labels) || Object.values(labels).some((v) => typeof v !== 'string')) {
      throw new Error(`${where}: ${field} must be an object of strings (write "0042", not 42)`);
    }
  }
  return sidecar;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    return new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
