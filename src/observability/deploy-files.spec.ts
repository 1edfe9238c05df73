import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ServiceMetrics } from './metrics/service-metrics';

const DEPLOY = path.resolve(__dirname, '../../deploy');
/** Series names in PromQL: ours and prom-client's process/Node.js defaults. */
const METRIC_NAME = /(?<![A-Za-z0-9_:])((?:mms|process|nodejs)_[a-z0-9_]+)/g;

function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(METRIC_NAME)].map((m) => m[1]);
}

/** Every string under a key named expr / query / definition, anywhere in a JSON document. */
function queriesIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => queriesIn(n, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (['expr', 'query', 'definition'].includes(key) && typeof value === 'string') out.push(value);
      else queriesIn(value, out);
    }
  }
  return out;
}

describe('deploy/ files', () => {
  // The real registry, process metrics included: what GET /metrics can expose.
  const exposed = new ServiceMetrics({ maxModels: 1 }).exposedNames();

  describe('prometheus/alerts.yml', () => {
    const doc = parse(fs.readFileSync(path.join(DEPLOY, 'prometheus/alerts.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> };
    const rules = doc.groups.flatMap((g) => g.rules);

    it('is a Prometheus rule file: groups of named alerts with expr, severity and summary', () => {
      expect(doc.groups.length).toBeGreaterThan(0);
      for (const group of doc.groups) expect(typeof group.name).toBe('string');
      for (const rule of rules) {
        expect(typeof rule.alert).toBe('string');
        expect(typeof rule.expr).toBe('string');
        expect((rule.labels as Record<string, string>).severity).toMatch(/^(critical|warning|info)$/);
        expect(typeof (rule.annotations as Record<string, string>).summary).toBe('string');
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
      }
      expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    });

    it('covers latency, errors, cache thrash, load failures, batch failures and accuracy drops', () => {
      const names = rules.map((r) => r.alert);
      expect(names).toEqual(
        expect.arrayContaining(['MmsPredictLatencyP99High', 'MmsErrorRateHigh', 'MmsCacheThrashing', 'MmsModelLoadFailures', 'MmsBatchJobsFailing', 'MmsForecastAccuracyDrop']),
      );
    });

    it('names only metrics the service exposes', () => {
      const used = rules.flatMap((r) => metricNamesIn(r.expr as string));
      expect(used.length).toBeGreaterThan(rules.length - 1);
      expect(used.filter((name) => !exposed.has(name))).toEqual([]);
    });
  });

  describe('grafana dashboard', () => {
    const files = fs.readdirSync(path.join(DEPLOY, 'grafana')).filter((f) => f.endsWith('.json'));

    it('exists and parses as a Grafana dashboard', () => {
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const dashboard = JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana', file), 'utf8')) as { title: string; uid: string; panels: Array<{ type: string; gridPos: object; targets?: unknown[] }> };
        expect(dashboard.title).toBeTruthy();
        expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
        expect(dashboard.panels.length).toBeGreaterThan(10);
        for (const panel of dashboard.panels) {
          expect(panel.gridPos).toBeDefined();
          if (panel.type !== 'row') expect(panel.targets?.length).toBeGreaterThan(0);
        }
      }
    });

    it('names only metrics the service exposes', () => {
      for (const file of files) {
        const queries = queriesIn(JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana', file), 'utf8')));
        const used = queries.flatMap(metricNamesIn);
        expect(used.length).toBeGreaterThan(20);
        expect(used.filter((name) => !exposed.has(name))).toEqual([]);
      }
    });
  });

  it('would notice a metric that does not exist', () => {
    expect(metricNamesIn('rate(mms_nonexistent_total[5m]) / rate(mms_http_requests_total[5m])').filter((n) => !exposed.has(n))).toEqual(['mms_nonexistent_total']);
  });
});
