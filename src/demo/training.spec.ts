import type * as Ort from 'onnxruntime-node';
import { adoptHostTypedArrays, buildLinearModel, buildTreeEnsembleModel } from '../../test/fixtures/onnx-builder';
import { DEMO_FEATURES, generateRetailData, HOLDOUT_DAYS, seededRandom, STORES_PER_REGION, TRAIN_DAYS } from './retail-data';
import { planDemoModels } from './demo-models';
import { fitBoostedTrees, fitLinear, meanAbsoluteError, predictLinear, predictTrees } from './training';

adoptHostTypedArrays();
const { InferenceSession, Tensor } = require('onnxruntime-node') as typeof Ort;

async function runOnnx(bytes: Buffer, rows: number[][]): Promise<number[]> {
  const session = await InferenceSession.create(new Uint8Array(bytes), { intraOpNumThreads: 1 });
  try {
    const input = new Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]);
    const out = await session.run({ float_input: input });
    return Array.from(out.variable.data as Float32Array);
  } finally {
    await session.release();
  }
}

describe('demo training', () => {
  const rand = seededRandom(7);
  const x = Array.from({ length: 300 }, () => [rand() * 10, rand() < 0.5 ? 1 : 0, rand() * 5, 0]);

  it('recovers the coefficients of a linear relation by least squares (and survives a constant column)', () => {
    const y = x.map((r) => 3 + 2 * r[0] - 4 * r[1] + 0.5 * r[2]);
    const fit = fitLinear(x, y);
    expect(fit.bias).toBeCloseTo(3, 6);
    expect(fit.weights[0]).toBeCloseTo(2, 6);
    expect(fit.weights[1]).toBeCloseTo(-4, 6);
    expect(fit.weights[2]).toBeCloseTo(0.5, 6);
    expect(fit.weights[3]).toBe(0);
  });

  it('boosted trees learn a step the linear fit cannot', () => {
    const y = x.map((r) => (r[0] > 5 ? 100 : 10) + (r[1] ? 20 : 0));
    const trees = fitBoostedTrees(x, y);
    const linear = fitLinear(x, y);
    const treeMae = meanAbsoluteError(x.map((r) => predictTrees(trees, r)), y);
    const linearMae = meanAbsoluteError(x.map((r) => predictLinear(linear, r)), y);
    expect(trees.trees.length).toBeGreaterThan(5);
    expect(treeMae).toBeLessThan(2);
    expect(treeMae).toBeLessThan(linearMae / 5);
  });

  it('generates the same retail data every time: 3 regions × 20 stores plus one new store each', () => {
    const a = generateRetailData();
    const b = generateRetailData();
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.filter((s) => !s.isNew)).toHaveLength(3 * STORES_PER_REGION);
    expect(a.filter((s) => s.isNew).map((s) => s.store)).toEqual(['0061', '0062', '0063']);
    expect(new Set(a.map((s) => s.store)).size).toBe(a.length);
    for (const s of a) {
      expect(s.history).toHaveLength(TRAIN_DAYS + HOLDOUT_DAYS);
      expect(s.forecast).toHaveLength(7);
      expect(s.forecast[0].date).toBe('2026-11-24');
      expect(s.history.every((row) => row.features.length === DEMO_FEATURES.length && row.sales >= 0)).toBe(true);
    }
  });

  it('writes fits as ONNX that onnxruntime evaluates like the TypeScript model', async () => {
    const store = generateRetailData()[0];
    const rows = store.history.map((r) => r.features);
    const sales = store.history.map((r) => r.sales);
    const trees = fitBoostedTrees(rows, sales);
    const linear = fitLinear(rows, sales);
    const sample = rows.slice(0, 50);
    const treeOut = await runOnnx(buildTreeEnsembleModel({ nFeatures: 6, trees: trees.trees, baseValue: trees.baseValue }).bytes, sample);
    const linearOut = await runOnnx(buildLinearModel(linear).bytes, sample);
    sample.forEach((row, i) => {
      expect(treeOut[i]).toBeCloseTo(predictTrees(trees, row), 1);
      expect(linearOut[i]).toBeCloseTo(predictLinear(linear, row), 1);
    });
  });

  it('plans one model per store of the better family, and fallbacks keeping both with production on the better', async () => {
    const plans = await planDemoModels(generateRetailData());
    expect(plans).toHaveLength(63);
    for (const p of plans) {
      const better = p.holdoutMae.gbt < p.holdoutMae.linear ? 'gbt' : 'linear';
      if (p.segment.store) {
        expect(p.versions.map((v) => v.algo)).toEqual([better]);
        expect(p.production).toBeNull();
      } else {
        expect(p.versions.map((v) => v.algo)).toEqual(['linear', 'gbt']);
        expect(p.production).toBe(better === 'gbt' ? 2 : 1);
      }
      expect(p.versions.every((v) => v.bytes.length > 0)).toBe(true);
    }
  });
});
