import { Command } from 'commander';
import { seg } from '../api-client';
import { parseMirror, parseSplit } from '../args';
import { contextOf } from '../context';
import { usageError } from '../errors';
import { json, table } from '../output';

export function trafficCommands(program: Command): void {
  const traffic = program.command('traffic').description("a model's traffic rule: split between versions, and a mirrored (shadow) version");

  traffic
    .command('set')
    .description('set the traffic rule (PUT /v1/models/{name}/traffic)')
    .argument('<model>')
    .option('--split <version=percent,...>', 'share of requests per version, adding up to 100, e.g. 3=90,4=10')
    .option('--mirror <version:percent>', 'also send a copy of this share of requests to a version (never answered from), e.g. 5:20')
    .addHelpText(
      'after',
      `
Examples:
  mms traffic set demand-north-0001 --split 1=90,2=10
  mms traffic set demand-north-0001 --split 2=100 --mirror 1:20`,
    )
    .action(async (model: string, opts: { split?: string; mirror?: string }, command: Command) => {
      const ctx = contextOf(command);
      if (!opts.split && !opts.mirror) throw usageError('Give --split, --mirror or both (mms traffic clear removes the rule)');
      const body = { ...(opts.split ? { split: parseSplit(opts.split) } : {}), ...(opts.mirror ? { mirror: parseMirror(opts.mirror) } : {}) };
      const rule = await ctx.api.request('PUT', `/v1/models/${seg(model)}/traffic`, { json: body });
      ctx.io.out(ctx.json ? json(rule) : `Traffic of ${model}: ${describeRule(body)}\n`);
    });

  traffic
    .command('show')
    .description('the traffic rule with the shadow-versus-primary comparison')
    .argument('<model>')
    .action(async (model: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      const rule = await ctx.api.request<Record<string, unknown>>('GET', `/v1/models/${seg(model)}/traffic`);
      ctx.io.out(ctx.json ? json(rule) : `Traffic of ${model}: ${describeRule(rule)}\n${comparison(rule)}`);
    });

  traffic
    .command('clear')
    .description('remove the traffic rule (aliases and the latest version decide again)')
    .argument('<model>')
    .action(async (model: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      await ctx.api.request('DELETE', `/v1/models/${seg(model)}/traffic`);
      ctx.io.out(ctx.json ? json({ model, cleared: true }) : `Traffic rule of ${model} removed\n`);
    });
}

/** `{"split": {"3": 90, "4": 10}, "mirror": {...}}` (or the split as a list) → `v3 90%, v4 10%; mirror v5 20%`. */
function describeRule(rule: Record<string, unknown>): string {
  const parts: string[] = [];
  const split = rule.split;
  if (Array.isArray(split)) parts.push(split.map((s: { version: number; weight?: number; percent?: number }) => `v${s.version} ${s.weight ?? s.percent}%`).join(', '));
  else if (split && typeof split === 'object') parts.push(Object.entries(split).map(([v, w]) => `v${v} ${String(w)}%`).join(', '));
  const mirror = rule.mirror as { version?: number; percent?: number } | null | undefined;
  if (mirror?.version) parts.push(`mirror v${mirror.version} ${mirror.percent}%`);
  return parts.join('; ') || 'no rule';
}

/** The shadow-versus-primary figures (one row per primary/shadow pair), when there are any. */
function comparison(rule: Record<string, unknown>): string {
  const figures = rule.comparison;
  if (!Array.isArray(figures) || !figures.length) return '';
  const num = (v: unknown) => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : '');
  return `\nShadow versus primary:\n${table(
    ['PRIMARY', 'SHADOW', 'COMPARED', 'SHADOW ERRORS', 'MEAN |DIFF|', 'MAX |DIFF|', 'P95 REL DIFF'],
    figures.map((f: Record<string, unknown>) => [
      `v${String(f.primaryVersion)}`,
      `v${String(f.shadowVersion)}`,
      num(f.count),
      num(f.shadowErrors),
      num(f.meanAbsDiff),
      num(f.maxAbsDiff),
      num(f.p95RelDiff),
    ]),
  )}`;
}
