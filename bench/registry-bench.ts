import 'reflect-metadata';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { ModelListFilter, ModelListRow, ModelsRepository } from '../src/registry/models.repository';
import { BenchDatabase, openBenchDatabase } from './support/bench-database';
import { findRepoRoot, writeSubsection } from './support/benchmarks-doc';
import { explainPlan, PlanSummary } from './support/explain';
import { measureRounds, RoundsOptions, Timing } from './support/timing';

/**
 * `npm run bench:registry`: listing latency at 100,000 models, with segment and tag
 * filters, against a baseline without the GIN indexes measured in the same run.
 *
 * Runs on a temporary database (on the server in DATABASE_URL, else an embedded PGlite in a
 * temporary directory), seeds it with set-based SQL, times `ModelsRepository.listModels`
 * (the real query path) for several query shapes, drops the two GIN indexes and times the
 * same shapes again. Prints a table and rewrites its section of docs/benchmarks.md.
 */

const TENANT = '00000000-0000-0000-0000-000000000001'; // "default", created by the initial migration
const OTHER_TENANT = '00000000-0000-0000-0000-0000000000b2';
const MODELS = 100_000;
const OTHER_MODELS = 10_000;
const PAGE = 50;

const INDEXED: RoundsOptions = { warmupRounds: 5, rounds: 50, budgetMs: 30_000, minRounds: 15 };
const UNINDEXED: RoundsOptions = { warmupRounds: 2, rounds: 50, budgetMs: 30_000, minRounds: 15 };
/** A plan that reads more rows than this per row it returns is flagged: its cost grows with the registry. */
const READ_AMPLIFICATION_LIMIT = 100;

const SECTION = '## Registry listing at 100,000 models (`npm run bench:registry`)';

interface Shape {
  key: string;
  title: string;
  filter: ModelListFilter;
}

interface ShapeResult {
  shape: Shape;
  rows: number;
  indexed: Timing;
  unindexed: Timing;
  planIndexed: PlanSummary;
  planUnindexed: PlanSummary;
}

interface PhaseResult {
  timings: Timing[];
  names: string[][];
  plans: PlanSummary[];
}

async function main(): Promise<void> {
  const began = performance.now();
  const serverUrl = process.env.DATABASE_URL || undefined;
  process.stdout.write(`registry bench: ${serverUrl ? 'DATABASE_URL set, creating a temporary database' : 'embedded PGlite (DATABASE_URL unset)'}\n`);
  const db = await openBenchDatabase(serverUrl);
  try {
    process.stdout.write(`database: ${db.label}\n`);
    const ds = db.dataSource;
    const seedMs = await seed(ds);
    process.stdout.write(`seeded ${fmtInt(MODELS)} + ${fmtInt(OTHER_MODELS)} models (one version each) and analyzed in ${(seedMs / 1000).toFixed(1)} s\n`);

    const repo = new ModelsRepository(ds);
    const shapes = await buildShapes(ds);

    process.stdout.write(`\nphase 1: with the GIN indexes (as migrated), ${INDEXED.rounds} rounds over ${shapes.length} query shapes\n`);
    const indexed = await runPhase(repo, ds, shapes, INDEXED);
    const selective = shapes.findIndex((s) => s.key === 'store');
    const selectiveExplain = indexed.plans[selective].text;

    process.stdout.write(`\nphase 2: baseline after DROP INDEX models_segment_idx, models_tags_idx\n`);
    await ds.query('DROP INDEX models_segment_idx, models_tags_idx');
    await ds.query('ANALYZE models');
    const unindexed = await runPhase(repo, ds, shapes, UNINDEXED);
    const results: ShapeResult[] = shapes.map((shape, i) => {
      if (unindexed.names[i].join('\n') !== indexed.names[i].join('\n')) throw new Error(`${shape.title}: results differ with and without the indexes`);
      return {
        shape,
        rows: indexed.names[i].length,
        indexed: indexed.timings[i],
        unindexed: unindexed.timings[i],
        planIndexed: indexed.plans[i],
        planUnindexed: unindexed.plans[i],
      };
    });

    const totalS = (performance.now() - began) / 1000;
    const report = renderReport(db, results, selectiveExplain, seedMs, totalS);
    process.stdout.write(`\n${report.console}\n`);
    const docFile = path.join(findRepoRoot(__dirname, process.cwd()), 'docs', 'benchmarks.md');
    writeSubsection(docFile, SECTION, SECTION_INTRO, report.subKey, report.markdown);
    process.stdout.write(`\nwrote ${path.relative(process.cwd(), docFile) || docFile} (${report.subKey.replace(/^### /, '')} subsection)\n`);
  } finally {
    await db.close();
  }
}

/** Checks each shape's result, records its page query's plan, then times all shapes in rounds. */
async function runPhase(repo: ModelsRepository, ds: DataSource, shapes: Shape[], options: RoundsOptions): Promise<PhaseResult> {
  const names: string[][] = [];
  const plans: PlanSummary[] = [];
  for (const shape of shapes) {
    const rows = await repo.listModels(TENANT, shape.filter);
    checkRows(shape, rows);
    names.push(rows.map((r) => r.model.name));
    plans.push(await explainPlan(ds, () => repo.listModels(TENANT, shape.filter)));
  }
  const timings = await measureRounds(
    shapes.map((shape) => () => repo.listModels(TENANT, shape.filter)),
    options,
  );
  shapes.forEach((shape, i) =>
    process.stdout.write(`  ${shape.title.padEnd(50)} ${fmtMs(timings[i].medianMs).padStart(6)} ms median of ${timings[i].iterations}  ${plans[i].nodes}\n`),
  );
  return { timings, names, plans };
}

/**
 * 100,000 models in the default tenant and 10,000 in a second one, with names, segments and
 * tags shaped like the README's (`demand-north-0042-3`: 10 models per store, 10,000 stores,
 * 5 regions, 3 algorithms, 80 % family "demand"), inserted in a shuffled order so that the
 * heap order does not follow the name order. One version per model, as an upload makes it.
 */
async function seed(ds: DataSource): Promise<number> {
  const t0 = performance.now();
  await ds.query(`INSERT INTO tenants (id, name) VALUES ($1, 'bench-other')`, [OTHER_TENANT]);
  for (const [tenant, n] of [[TENANT, MODELS], [OTHER_TENANT, OTHER_MODELS]] as const) {
    await ds.query(
      `INSERT INTO models (tenant_id, name, segment, tags, latest_version)
       SELECT $1::uuid, format('%s-%s-%s-%s', fam, region, store, k),
              jsonb_build_object('region', region, 'store', store),
              jsonb_build_object('algo', algo, 'family', fam), 1
       FROM generate_series(0, $2::int - 1) AS g(i)
       -- 7919 is prime, so i -> i * 7919 mod n is a permutation of 0..n-1 (a cheap shuffle)
       CROSS JOIN LATERAL (SELECT (g.i::bigint * 7919 % $2::int)::int AS p) AS perm
       CROSS JOIN LATERAL (SELECT
           (ARRAY['north', 'south', 'east', 'west', 'central'])[(perm.p / 10) % 5 + 1] AS region,
           lpad((perm.p / 10)::text, 4, '0') AS store,
           perm.p % 10 AS k,
           (ARRAY['gbr', 'lgbm', 'arima'])[(hashtext(perm.p::text) & 2147483647) % 3 + 1] AS algo,
           CASE WHEN perm.p % 5 = 4 THEN 'other' ELSE 'demand' END AS fam) AS x`,
      [tenant, n],
    );
  }
  const signature = {
    inputs: [{ name: 'features', type: 'float32', shape: ['batch', 12] }],
    outputs: [{ name: 'forecast', type: 'float32', shape: ['batch', 1] }],
  };
  await ds.query(
    `INSERT INTO model_versions (tenant_id, model_id, version, sha256, size_bytes, format, model_sha256, signature, tags, created_by)
     SELECT m.tenant_id, m.id, 1, x.h, 2048 + length(m.name) * 64, 'onnx', x.h, $1::jsonb, m.tags, 'bench'
     FROM models m CROSS JOIN LATERAL (SELECT md5(m.id::text) || md5(m.name) AS h) AS x`,
    [JSON.stringify(signature)],
  );
  await ds.query('ANALYZE');
  return performance.now() - t0;
}

async function buildShapes(ds: DataSource): Promise<Shape[]> {
  const nameAt = async (offset: number, region?: string): Promise<string> => {
    const [row] = (await ds.query(
      `SELECT name FROM models WHERE tenant_id = $1 AND ($2::text IS NULL OR segment->>'region' = $2) ORDER BY name OFFSET $3 LIMIT 1`,
      [TENANT, region ?? null, offset],
    )) as Array<{ name: string }>;
    return row.name;
  };
  const base = { segment: {}, tags: {}, limit: PAGE };
  return [
    { key: 'all', title: 'unfiltered, first page', filter: { ...base } },
    { key: 'store', title: 'segment.store=0042 (10 models)', filter: { ...base, segment: { store: '0042' } } },
    { key: 'region', title: 'segment.region=north (20 %, from model 32,000)', filter: { ...base, segment: { region: 'north' } } },
    { key: 'tag-region', title: 'tag.algo=lgbm + segment.region=north (~7 %)', filter: { ...base, segment: { region: 'north' }, tags: { algo: 'lgbm' } } },
    { key: 'algo', title: 'tag.algo=lgbm (33 %, spread over names)', filter: { ...base, tags: { algo: 'lgbm' } } },
    { key: 'family', title: 'tag.family=other (20 %, all late in name order)', filter: { ...base, tags: { family: 'other' } } },
    { key: 'q', title: 'q=0042 (name substring, 10 models)', filter: { ...base, q: '0042' } },
    { key: 'deep', title: 'unfiltered, cursor at model 90,000', filter: { ...base, after: await nameAt(90_000) } },
    { key: 'region-deep', title: 'segment.region=north, cursor at 18,000 of 20,000', filter: { ...base, segment: { region: 'north' }, after: await nameAt(18_000, 'north') } },
  ];
}

/** The listing must stay correct while it is fast: right tenant, filters honoured, in name order. */
function checkRows(shape: Shape, rows: ModelListRow[]): void {
  const fail = (why: string) => {
    throw new Error(`${shape.title}: ${why}`);
  };
  if (!rows.length) fail('no rows');
  const f = shape.filter;
  rows.forEach((r, i) => {
    if (r.model.tenantId !== TENANT) fail(`row of tenant ${r.model.tenantId}`);
    for (const [k, v] of Object.entries(f.segment)) if (r.model.segment[k] !== v) fail(`segment.${k} of ${r.model.name}`);
    for (const [k, v] of Object.entries(f.tags)) if (r.model.tags[k] !== v) fail(`tag.${k} of ${r.model.name}`);
    if (f.q && !r.model.name.includes(f.q)) fail(`q of ${r.model.name}`);
    if (f.after !== undefined && !(r.model.name > f.after)) fail('cursor not honoured');
    if (i > 0 && !(rows[i - 1].model.name < r.model.name)) fail('not ordered by name');
    if (r.latest?.version !== 1) fail(`latest version of ${r.model.name}`);
  });
  if (shape.key === 'store' && rows.length !== 10) fail(`${rows.length} rows, expected the store's 10`);
}

const SECTION_INTRO = `
What it proves: listing a tenant's models filtered by segment keys and tags stays fast at
100,000 models (plus 10,000 in a second tenant). The bench seeds a temporary database with
set-based SQL (names like \`demand-north-0042-3\`: 10,000 stores × 10 models, 5 regions,
3 algorithms, 80 % family \`demand\`), then times \`ModelsRepository.listModels\` (the real
query path, all three of its queries, ${PAGE} models a page) for each query shape, in rounds
that run every shape once (so a burst of load hits all shapes alike): ${INDEXED.warmupRounds} warm-up rounds,
then up to ${INDEXED.rounds}. The baseline is the same shapes in the same run after
\`DROP INDEX models_segment_idx, models_tags_idx\` (the two GIN \`jsonb_path_ops\` indexes).

- **ratio** = median with the indexes ÷ median without them: below 1 the indexes help; about 1
  for shapes whose plan does not use them, which also shows the run's noise.
- **× page** = median with the indexes ÷ the unfiltered first page's median with the indexes:
  what a listing costs compared with the cheapest one there is.
- **rows read** = rows the plan of the page query (the first of listModels' three) read, from
  \`EXPLAIN ANALYZE\`. For a shape that scales it stays near the rows returned; a shape reading
  more than ${READ_AMPLIFICATION_LIMIT}× the rows it returns is flagged ⚠: its cost grows with the number of models.

The names carry the region and the family (as the README's convention does), so the matches of
a broad segment or tag filter sit together in name order; the planner assumes they are spread
evenly and walks the \`(tenant_id, name)\` index, reading every model before the first match
(the GIN indexes are not used, so the ratio stays near 1). \`tag.algo\` is the control: as broad,
but spread over the names, it reads about 150 rows. \`q\` (\`strpos\` on the name) is served by no
index: a rare substring reads all of the tenant's models.
`;

function isAmplified(r: ShapeResult): boolean {
  return r.planIndexed.rowsRead > READ_AMPLIFICATION_LIMIT * Math.max(r.rows, 1);
}

function renderReport(db: BenchDatabase, results: ShapeResult[], explainText: string, seedMs: number, totalS: number) {
  const date = new Date().toISOString().slice(0, 10);
  const cpu = os.cpus()[0]?.model.trim() ?? '?';
  const machine = `nproc ${os.availableParallelism()} (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, Linux ${os.release()}`;
  const page = results.find((r) => r.shape.key === 'all')!.indexed.medianMs;
  const header = ['query shape', 'rows', 'indexed median / p95 ms', 'no GIN median / p95 ms', 'ratio', '× page', 'rows read idx / no GIN', 'plan with the indexes'];
  const table = results.map((r) => [
    `${isAmplified(r) ? '⚠ ' : ''}${r.shape.title}`,
    String(r.rows),
    `${fmtMs(r.indexed.medianMs)} / ${fmtMs(r.indexed.p95Ms)}`,
    `${fmtMs(r.unindexed.medianMs)} / ${fmtMs(r.unindexed.p95Ms)}`,
    (r.indexed.medianMs / r.unindexed.medianMs).toFixed(2),
    (r.indexed.medianMs / page).toFixed(2),
    `${fmtInt(r.planIndexed.rowsRead)} / ${fmtInt(r.planUnindexed.rowsRead)}`,
    r.planIndexed.nodes,
  ]);
  const amplified = results.filter(isAmplified);
  const subKey = db.embedded ? '### Embedded PGlite' : `### PostgreSQL ${/PostgreSQL (\d+)/.exec(db.serverVersion)?.[1] ?? ''}`.trim();
  const rounds = (t: Timing[]) => `${Math.min(...t.map((x) => x.iterations))}`;
  const runFacts =
    `${date} · ${db.label} · ${machine} · ` +
    `${rounds(results.map((r) => r.indexed))} rounds with the indexes, ${rounds(results.map((r) => r.unindexed))} without · ` +
    `seeding ${(seedMs / 1000).toFixed(1)} s, whole run ${totalS.toFixed(0)} s.`;
  const flagged = amplified.length
    ? ['Shapes whose cost grows with the registry (rows read by the page query with the indexes):', ...amplified.map((r) => `- ⚠ ${r.shape.title}: ${fmtInt(r.planIndexed.rowsRead)} rows read for ${r.rows} returned`)].join('\n')
    : 'Every shape read a number of rows close to the number it returned.';
  const markdown = [
    `${subKey}${db.embedded ? ' (default, no DATABASE_URL)' : ' (DATABASE_URL)'}`,
    '',
    runFacts,
    '',
    markdownTable(header, table),
    '',
    flagged,
    '',
    'The page query for `segment.store=0042` with the indexes (`EXPLAIN ANALYZE`):',
    '',
    '```',
    explainText.trimEnd(),
    '```',
    ...amplified.flatMap((r) => [
      '',
      `<details><summary>⚠ ${r.shape.title}: page query with the indexes</summary>`,
      '',
      '```',
      r.planIndexed.text.trimEnd(),
      '```',
      '',
      '</details>',
    ]),
  ].join('\n');
  const consoleText = [
    `database: ${db.label}`,
    `machine:  ${machine}`,
    '',
    textTable(header.slice(0, 7), table.map((r) => r.slice(0, 7))),
    '',
    flagged,
    '',
    'plans of the page query:',
    ...results.map((r) => `  ${r.shape.title}\n    indexed: ${r.planIndexed.nodes}\n    no GIN:  ${r.planUnindexed.nodes}`),
    '',
    'EXPLAIN ANALYZE, segment.store=0042, with the indexes:',
    explainText.trimEnd().replace(/^/gm, '  '),
    ...amplified.flatMap((r) => ['', `EXPLAIN ANALYZE, ${r.shape.title}, with the indexes:`, r.planIndexed.text.trimEnd().replace(/^/gm, '  ')]),
    '',
    `whole run: ${totalS.toFixed(0)} s`,
  ].join('\n');
  return { subKey, markdown, console: consoleText };
}

function markdownTable(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 || i === header.length - 1 ? '---' : '--:')).join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function fmtMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
