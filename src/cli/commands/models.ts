import { Command, Option } from 'commander';
import * as path from 'node:path';
import { seg } from '../api-client';
import { collectPairs, parsePairs, parsePositiveInt } from '../args';
import { contextOf } from '../context';
import { CliError } from '../errors';
import { bytes, json, labels, shape, table, time } from '../output';
import { createProgress, parseProgressMode, ProgressMode } from '../progress';
import { discoverCandidates } from '../register/discover';
import { registerFiles } from '../register/register-files';
import { SegmentPattern } from '../register/segment-pattern';

interface TensorSpec {
  name: string;
  type: string;
  shape: Array<number | string | null>;
}

interface VersionView {
  name: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  format: string;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  tags: Record<string, string>;
  description: string | null;
  createdAt: string;
}

interface ModelSummary {
  name: string;
  description: string | null;
  segment: Record<string, string> | null;
  tags: Record<string, string>;
  latestVersion: VersionView | null;
  updatedAt: string;
}

interface ModelView extends Omit<ModelSummary, 'latestVersion'> {
  aliases: Record<string, number>;
  versions: VersionView[];
  createdAt: string;
}

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const MAX_PAGE = 1000;

export function modelCommands(program: Command): void {
  const models = program.command('models').description('register, list and inspect models');

  models
    .command('register')
    .description('register model files: an .onnx file, a zipped MLflow model, or a directory of them (a new version each)')
    .argument('<paths...>', 'files or directories (a directory registers every .onnx and .zip in it)')
    .option('--segment-pattern <pattern>', 'read segment keys from file names, e.g. demand-{region}-{store}.onnx')
    .option('--segment <key=value>', 'segment key for every file (repeatable)', collectPairs)
    .option('--tag <key=value>', 'tag for every file (repeatable)', collectPairs)
    .option('--name <name>', 'model name (a single file only; default: the file name without .onnx/.zip)')
    .option('--description <text>', 'description of the new versions')
    .option('--concurrency <n>', 'uploads in flight at once', '4')
    .addOption(new Option('--progress <mode>', 'auto: a bar on a terminal, a line per file otherwise').choices(['auto', 'bar', 'lines', 'none']).default('auto'))
    .option('--dry-run', 'show what would be registered, send nothing')
    .addHelpText(
      'after',
      `
Segments come from, last winning: --segment, the --segment-pattern match, the directory's
segments.json ({"file.onnx": {"region": "north"}}), and a sidecar <file>.json beside the file
({"segment": {...}, "tags": {...}, "name": "...", "description": "..."} or just the segment).
Exits 1 if any file failed; every failure is listed at the end.

Examples:
  mms models register ./models --segment-pattern 'demand-{region}-{store}.onnx' --tag algo=gbr
  mms models register model.zip --name demand-north --segment region=north`,
    )
    .action(async (paths: string[], opts: { segmentPattern?: string; segment?: string[]; tag?: string[]; name?: string; description?: string; concurrency: string; progress: string; dryRun?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const concurrency = parsePositiveInt('--concurrency', opts.concurrency);
      const candidates = discoverCandidates(paths, {
        name: opts.name,
        segmentPattern: opts.segmentPattern ? new SegmentPattern(opts.segmentPattern) : undefined,
        segment: parsePairs('--segment', opts.segment),
        tags: parsePairs('--tag', opts.tag),
        description: opts.description,
      });
      if (opts.dryRun) {
        ctx.io.out(
          ctx.json
            ? json(candidates)
            : table(['FILE', 'NAME', 'SEGMENT', 'TAGS', 'PROBLEM'], candidates.map((c) => [path.basename(c.file), c.name, labels(c.segment), labels(c.tags), c.problem])),
        );
        if (candidates.some((c) => c.problem)) process.exitCode = 1;
        return;
      }
      const mode: ProgressMode = ctx.json && opts.progress === 'auto' ? 'none' : parseProgressMode(opts.progress);
      const outcomes = await registerFiles(ctx.api, candidates, concurrency, createProgress(mode, 'files'));
      const registered = outcomes.filter((o) => o.ok);
      const failed = outcomes.filter((o) => !o.ok);
      if (ctx.json) {
        ctx.io.out(json({ registered: registered.map((o) => ({ file: o.file, ...o.version })), failed: failed.map((o) => ({ file: o.file, name: o.name, error: o.error })) }));
      } else {
        if (registered.length) {
          ctx.io.out(table(['NAME', 'VERSION', 'SEGMENT', 'FILE'], registered.map((o) => [o.name, o.version.version, labels(o.version.segment), path.basename(o.file)])));
        }
        ctx.io.err(`\nRegistered ${registered.length} of ${outcomes.length} file${outcomes.length === 1 ? '' : 's'}${failed.length ? `; ${failed.length} failed:` : '.'}\n`);
        if (failed.length) {
          ctx.io.err(table(['FILE', 'MODEL', 'ERROR'], failed.map((o) => [path.basename(o.file), o.name, `${o.error.code}: ${o.error.message}${reason(o.error.details)}`])));
        }
      }
      if (failed.length) process.exitCode = 1;
    });

  models
    .command('ls')
    .alias('list')
    .description('list models, filtered by segment keys, tags and a name substring')
    .option('--segment <key=value>', 'segment key that must match (repeatable)', collectPairs)
    .option('--tag <key=value>', 'tag that must match (repeatable)', collectPairs)
    .option('-q, --query <text>', 'substring of the name')
    .option('--limit <n>', 'models per page (1–1000)', '50')
    .option('--cursor <cursor>', 'continue after a previous page (its nextCursor)')
    .option('--all', 'follow every page')
    .action(async (opts: { segment?: string[]; tag?: string[]; query?: string; limit: string; cursor?: string; all?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const limit = parsePositiveInt('--limit', opts.limit);
      if (limit > MAX_PAGE) throw new CliError(`--limit is at most ${MAX_PAGE}`, 2);
      const query: Record<string, string | number | undefined> = { q: opts.query, limit: opts.all ? MAX_PAGE : limit, cursor: opts.cursor };
      for (const [k, v] of Object.entries(parsePairs('--segment', opts.segment))) query[`segment.${k}`] = v;
      for (const [k, v] of Object.entries(parsePairs('--tag', opts.tag))) query[`tag.${k}`] = v;
      const items: ModelSummary[] = [];
      let page: Page<ModelSummary>;
      do {
        page = await ctx.api.request<Page<ModelSummary>>('GET', '/v1/models', { query });
        items.push(...page.items);
        query.cursor = page.nextCursor ?? undefined;
      } while (opts.all && page.nextCursor);
      const nextCursor = opts.all ? null : page.nextCursor;
      if (ctx.json) return ctx.io.out(json({ items, nextCursor }));
      if (!items.length) return ctx.io.err('No models match.\n');
      ctx.io.out(
        table(
          ['NAME', 'LATEST', 'SEGMENT', 'TAGS', 'UPDATED'],
          items.map((m) => [m.name, m.latestVersion?.version, labels(m.segment), labels(m.tags), time(m.updatedAt)]),
        ),
      );
      if (nextCursor) ctx.io.err(`More models: add --cursor ${nextCursor} (or --all)\n`);
    });

  models
    .command('show')
    .description('a model: segment, tags, aliases, versions and the signature of its latest version')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      const model = await ctx.api.request<ModelView>('GET', `/v1/models/${seg(name)}`);
      if (ctx.json) return ctx.io.out(json(model));
      const latest = model.versions[model.versions.length - 1];
      const aliases = Object.entries(model.aliases ?? {})
        .map(([a, v]) => `${a} → ${v}`)
        .join(', ');
      const facts: Array<[string, string]> = [
        ['Name', model.name],
        ['Description', model.description ?? ''],
        ['Segment', labels(model.segment)],
        ['Tags', labels(model.tags)],
        ['Aliases', aliases],
        ['Created', time(model.createdAt)],
        ['Updated', time(model.updatedAt)],
      ];
      let text = facts.map(([k, v]) => `${`${k}:`.padEnd(13)}${v || '-'}`).join('\n');
      text += `\n\n${table(
        ['VERSION', 'FORMAT', 'SIZE', 'SHA256', 'CREATED', 'TAGS'],
        model.versions.map((v) => [v.version, v.format, bytes(v.sizeBytes), v.sha256.slice(0, 12), time(v.createdAt), labels(v.tags)]),
      )}`;
      if (latest) {
        text += `\nSignature of version ${latest.version}:\n`;
        text += table(
          ['', 'NAME', 'TYPE', 'SHAPE'],
          [...latest.signature.inputs.map((s) => ['input', s.name, s.type, shape(s.shape)]), ...latest.signature.outputs.map((s) => ['output', s.name, s.type, shape(s.shape)])],
        );
      }
      ctx.io.out(text);
    });
}

/** The runtime's own words for a refused artifact, when the API gives them. */
function reason(details: Record<string, unknown> | undefined): string {
  const r = details?.reason;
  return typeof r === 'string' && r ? ` (${r})` : '';
}
