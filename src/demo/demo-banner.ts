export interface DemoBannerFacts {
  url: string;
  /** The root credential when this start generated it (else it is MMS_ADMIN_TOKEN, which we never print, or one an earlier start generated). */
  rootToken: string | null;
  /** Whether MMS_ADMIN_TOKEN is set: else a start before this one generated and printed the token (only its hash is kept). */
  rootFromEnv: boolean;
  scorerKey: string;
  storeModels: number;
  /** How many store models each family won. */
  storeFamilies: { linear: number; gbt: number };
  regions: string[];
  /** A store with its own model, and its first forecast day's features. */
  example: { region: string; store: string; features: number[] };
  /** A store of the same region without a model of its own (served by the region's fallback). */
  fallbackStore: string | null;
  csvPath: string;
  jobPath: string;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** What the first start prints once the demo tenant exists: where, with what, and a first request. */
export function demoBanner(f: DemoBannerFacts): string {
  const body = JSON.stringify({ segment: { region: f.example.region, store: f.example.store }, inputs: { float_input: [f.example.features] } });
  // A first start that stopped before seeding (a busy port, Ctrl-C) printed the generated token; this one cannot.
  const root = f.rootToken ?? (f.rootFromEnv ? 'the value of MMS_ADMIN_TOKEN' : 'the Root token an earlier start printed (mms_root_…; delete root-token.sha256 in the data directory for a new one)');
  const rule = '─'.repeat(78);
  const lines = [
    '',
    rule,
    ` Demo tenant "demo": ${f.storeModels} per-store demand models in ${f.regions.join(', ')} and one fallback per`,
    ` region, trained on generated sales at this first start. Each store got the better, on 8 held-out`,
    ` weeks, of a linear fit and gradient-boosted trees (${f.storeFamilies.linear} linear, ${f.storeFamilies.gbt} trees: tag algo); each`,
    ` region's fallback keeps both as versions 1 and 2, with alias production on the better.`,
    '',
    `   URL               ${f.url}`,
    `   root credential   ${root}${f.rootToken ? '   (shown once)' : ''}`,
    `   demo scorer key   ${f.scorerKey}   (shown once)`,
    `   batch input       ${f.csvPath}   (job body: ${f.jobPath})`,
    '',
    ` First forecast: store ${f.example.store} (${f.example.region}), day_of_week, promo, price, lag_7, lag_28, temperature:`,
    '',
    `   curl -s -H ${shellQuote(`Authorization: Bearer ${f.scorerKey}`)} -H 'content-type: application/json' \\`,
    `     -d ${shellQuote(body)} \\`,
    `     ${f.url}/v1/predict`,
    '',
    ...(f.fallbackStore
      ? [` A store without its own model ("store":"${f.fallbackStore}") is served by demand-${f.example.region}, its region's fallback.`, '']
      : []),
    ' First batch run, with the CLI (root acts in the demo tenant with --tenant demo):',
    '',
    `   npx mms login --url ${f.url} --tenant demo --token ${f.rootToken ?? (f.rootFromEnv ? '"$MMS_ADMIN_TOKEN"' : 'mms_root_…')}`,
    `   npx mms batch submit ${f.jobPath} --watch`,
    '',
    ' MMS_DEMO=0 skips this demo on a fresh data directory.',
    rule,
    '',
  ];
  return `${lines.join('\n')}\n`;
}
