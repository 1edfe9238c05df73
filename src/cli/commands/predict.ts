import { Command } from 'commander';
import { collectPairs, parsePairs, parsePositiveInt, readJsonArgument } from '../args';
import { contextOf } from '../context';
import { usageError } from '../errors';
import { json, table } from '../output';

interface PredictResponse {
  model: string;
  version: number;
  outputs: Record<string, unknown>;
  predictionId?: string;
}

export function predictCommand(program: Command): void {
  program
    .command('predict')
    .description('one online prediction (POST /v1/predict), by model name or by segment')
    .argument('[model]', 'model name (or give --segment instead)')
    .requiredOption('--input <json>', 'the inputs: JSON, @file.json or - (stdin), e.g. \'{"float_input":[[4,1,3.49,55,51,22]]}\'')
    .option('--segment <key=value>', 'route by segment instead of a model name (repeatable): the most specific matching model serves', collectPairs)
    .option('--version <n>', 'a specific version')
    .option('--alias <alias>', 'the version an alias points at (e.g. production)')
    .option('--key <routing-key>', 'routing key: the same key lands on the same version under a traffic split')
    .addHelpText(
      'after',
      `
Examples:
  mms predict demand-north-0001 --input '{"float_input":[[4,1,3.49,55,51,22]]}'
  mms predict --segment region=north --segment store=0061 --input @row.json --json`,
    )
    .action(async (model: string | undefined, opts: { input: string; segment?: string[]; version?: string; alias?: string; key?: string }, command: Command) => {
      const ctx = contextOf(command);
      const segment = parsePairs('--segment', opts.segment);
      const hasSegment = Object.keys(segment).length > 0;
      if (Boolean(model) === hasSegment) throw usageError('Name a model, or give --segment key=value (one of the two)');
      if (opts.version && opts.alias) throw usageError('Give --version or --alias, not both');
      const inputs = readJsonArgument('--input', opts.input);
      if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) {
        throw usageError('--input must be a JSON object mapping input names to tensors, e.g. {"float_input":[[1,2,3]]}');
      }
      // Accept the whole request body too ({"inputs": {...}}), as copied from a curl example.
      const tensors = 'inputs' in inputs && Object.keys(inputs).length === 1 ? (inputs as { inputs: unknown }).inputs : inputs;
      const body = {
        ...(model ? { model } : { segment }),
        ...(opts.version ? { version: parsePositiveInt('--version', opts.version) } : {}),
        ...(opts.alias ? { alias: opts.alias } : {}),
        ...(opts.key ? { key: opts.key } : {}),
        inputs: tensors,
      };
      const result = await ctx.api.request<PredictResponse>('POST', '/v1/predict', { json: body });
      if (ctx.json) return ctx.io.out(json(result));
      ctx.io.out(`${result.model} version ${result.version}${result.predictionId ? `  (prediction ${result.predictionId})` : ''}\n`);
      ctx.io.out(table(['OUTPUT', 'VALUES'], Object.entries(result.outputs ?? {}).map(([name, value]) => [name, JSON.stringify(value)])));
    });
}
