import { buildLinearModel, buildTreeEnsembleModel } from '../../test/fixtures/onnx-builder';
import { DEMO_FEATURES, DemoRow, DemoStore, HOLDOUT_DAYS } from './retail-data';
import { fitBoostedTrees, fitLinear, meanAbsoluteError, predictLinear, predictTrees } from './training';

/** One version to register: the ONNX bytes and what the demo says about them. */
export interface DemoVersionPlan {
  algo: 'linear' | 'gbt';
  bytes: Buffer;
  holdoutMae: number;
  description: string;
}

/** One model of the demo tenant: a store's (segment region+store) or a region's fallback (segment region). */
export interface DemoModelPlan {
  name: string;
  segment: Record<string, string>;
  /** In registration order: version 1, then 2. */
  versions: DemoVersionPlan[];
  /** The version alias `production` points at (fallback models, which keep both families). */
  production: number | null;
  /** Holdout error of each family, kept as tags so the choice is visible. */
  holdoutMae: { linear: number; gbt: number };
  /** What the model as a whole is. */
  description: string;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/**
 * Fits both families on every store's history (and on each region's pooled history for the
 * fallback models) and compares them on the held-out weeks. A store's model is the better
 * family (as a data scientist would ship it); a region's fallback keeps both as versions 1
 * (linear) and 2 (trees), with `production` on the better, to show versions and aliases.
 * Registering fewer versions keeps the first start fast.
 */
export async function planDemoModels(stores: readonly DemoStore[]): Promise<DemoModelPlan[]> {
  const featureNames = [...DEMO_FEATURES];
  const plan = (name: string, segment: Record<string, string>, histories: DemoRow[][], what: string, keepBoth: boolean): DemoModelPlan => {
    const train = histories.flatMap((h) => h.slice(0, h.length - HOLDOUT_DAYS));
    const holdout = histories.flatMap((h) => h.slice(h.length - HOLDOUT_DAYS));
    const x = train.map((r) => r.features);
    const y = train.map((r) => r.sales);
    const actual = holdout.map((r) => r.sales);
    const linear = fitLinear(x, y);
    const trees = fitBoostedTrees(x, y);
    const holdoutMae = {
      linear: round(meanAbsoluteError(holdout.map((r) => predictLinear(linear, r.features)), actual)),
      gbt: round(meanAbsoluteError(holdout.map((r) => predictTrees(trees, r.features)), actual)),
    };
    const rows = `${train.length} training rows, ${holdout.length} held out`;
    const linearVersion = (): DemoVersionPlan => ({
      algo: 'linear',
      bytes: buildLinearModel({ weights: linear.weights, bias: linear.bias, featureNames }).bytes,
      holdoutMae: holdoutMae.linear,
      description: `Linear regression (least squares) of daily unit sales for ${what}; ${rows}; holdout MAE ${holdoutMae.linear}`,
    });
    const treesVersion = (): DemoVersionPlan => ({
      algo: 'gbt',
      bytes: buildTreeEnsembleModel({ nFeatures: featureNames.length, trees: trees.trees, baseValue: trees.baseValue, featureNames }).bytes,
      holdoutMae: holdoutMae.gbt,
      description: `Gradient-boosted trees (${trees.trees.length} trees) of daily unit sales for ${what}; ${rows}; holdout MAE ${holdoutMae.gbt}`,
    });
    const treesWin = holdoutMae.gbt < holdoutMae.linear;
    if (keepBoth) {
      const description = `Daily unit sales for ${what}: version 1 linear regression (holdout MAE ${holdoutMae.linear}), version 2 gradient-boosted trees (holdout MAE ${holdoutMae.gbt}); alias production on the better`;
      return { name, segment, versions: [linearVersion(), treesVersion()], production: treesWin ? 2 : 1, holdoutMae, description };
    }
    const version = treesWin ? treesVersion() : linearVersion();
    return { name, segment, versions: [version], production: null, holdoutMae, description: version.description };
  };

  const plans: DemoModelPlan[] = [];
  const regions = [...new Set(stores.map((s) => s.region))];
  for (const region of regions) {
    const own = stores.filter((s) => s.region === region && !s.isNew);
    plans.push(plan(`demand-${region}`, { region }, own.map((s) => s.history), `the ${region} region (fallback for stores without a model)`, true));
    for (const s of own) {
      plans.push(plan(`demand-${region}-${s.store}`, { region, store: s.store }, [s.history], `store ${s.store} (${region})`, false));
      // Training runs on the HTTP thread of a server that is already listening: let requests through between fits.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return plans;
}
