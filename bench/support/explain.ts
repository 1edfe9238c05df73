import { DataSource, QueryRunner } from 'typeorm';

/** The plan of one query, as EXPLAIN ANALYZE found it. */
export interface PlanSummary {
  /** Plan nodes, outermost first: "Limit > Sort > Bitmap Heap Scan models > Bitmap Index Scan models_segment_idx". */
  nodes: string;
  /** Rows the scans produced or removed by a filter or recheck (all loops): the work done. */
  rowsRead: number;
  /** EXPLAIN (ANALYZE, FORMAT TEXT). */
  text: string;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Sort Method'?: string;
  Plans?: PlanNode[];
}

/**
 * Runs `work` while recording the first SQL statement it sends through `dataSource.query`
 * (for `listModels`, the page query), then EXPLAIN ANALYZEs that exact statement with the
 * same parameters: the plan shown is the plan of the code under test, not of a copy.
 */
export async function explainPlan(dataSource: DataSource, work: () => Promise<unknown>): Promise<PlanSummary> {
  const original = dataSource.query;
  let captured: { sql: string; params: unknown[] } | undefined;
  const recording = ((sql: string, params?: unknown[], runner?: QueryRunner) => {
    captured ??= { sql, params: params ?? [] };
    return original.call(dataSource, sql, params, runner);
  }) as DataSource['query'];
  dataSource.query = recording;
  try {
    await work();
  } finally {
    Reflect.deleteProperty(dataSource, 'query'); // back to the prototype's method
    if (dataSource.query !== original) dataSource.query = original;
  }
  if (!captured) throw new Error('the measured call sent no query through DataSource.query');
  const [json] = (await dataSource.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${captured.sql}`, captured.params)) as Array<{ 'QUERY PLAN': unknown }>;
  const raw = json['QUERY PLAN'];
  const root = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }>;
  const text = (await dataSource.query(`EXPLAIN (ANALYZE, FORMAT TEXT) ${captured.sql}`, captured.params)) as Array<{ 'QUERY PLAN': string }>;
  const names: string[] = [];
  let rowsRead = 0;
  const walk = (node: PlanNode) => {
    const on = node['Index Name'] ?? node['Relation Name'];
    names.push(on ? `${node['Node Type']} ${on}` : node['Sort Method'] ? `${node['Node Type']} (${node['Sort Method']})` : node['Node Type']);
    if (/Scan$/.test(node['Node Type']) && !/Bitmap Index Scan/.test(node['Node Type'])) {
      const loops = node['Actual Loops'] ?? 1;
      rowsRead += ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * loops;
    }
    node.Plans?.forEach(walk);
  };
  walk(root[0].Plan);
  return { nodes: names.join(' > '), rowsRead, text: text.map((r) => r['QUERY PLAN']).join('\n') };
}
