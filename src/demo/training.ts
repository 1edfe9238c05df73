/**
 * The two model families of the demo, fitted in plain TypeScript (no ML dependency): a linear
 * regression by least squares, and gradient-boosted regression trees. Both come out in the
 * shapes the ONNX builder writes (weights + bias; trees of `{feature, threshold, ifTrue, ifFalse}`
 * with `x <= threshold` going to `ifTrue`).
 */

export interface LinearFit {
  weights: number[];
  bias: number;
}

export type FittedTree = { value: number } | { feature: number; threshold: number; ifTrue: FittedTree; ifFalse: FittedTree };

export interface TreeEnsembleFit {
  baseValue: number;
  trees: FittedTree[];
}

/**
 * Ordinary least squares with an intercept, through the normal equations (XᵀX)β = Xᵀy on
 * centred features; a tiny ridge keeps a constant column (a store that never ran a promo)
 * from making the system singular.
 */
export function fitLinear(x: number[][], y: number[]): LinearFit {
  const n = x.length;
  const p = x[0]?.length ?? 0;
  if (n === 0 || p === 0 || y.length !== n) throw new Error('fitLinear: need as many targets as rows, and at least one feature');
  const meanX = Array.from({ length: p }, (_, j) => x.reduce((acc, row) => acc + row[j], 0) / n);
  const meanY = y.reduce((a, b) => a + b, 0) / n;
  const a = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  const b = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++) {
    const row = x[i];
    const dy = y[i] - meanY;
    for (let j = 0; j < p; j++) {
      const dj = row[j] - meanX[j];
      b[j] += dj * dy;
      for (let k = j; k < p; k++) a[j][k] += dj * (row[k] - meanX[k]);
    }
  }
  for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) a[j][k] = a[k][j];
  const ridge = 1e-9 * Math.max(1, ...a.map((r, j) => r[j]));
  for (let j = 0; j < p; j++) a[j][j] += ridge;
  const weights = solve(a, b);
  const bias = meanY - weights.reduce((acc, w, j) => acc + w * meanX[j], 0);
  return { weights, bias };
}

/** Gaussian elimination with partial pivoting (the systems here are 6×6). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    const d = m[col][col];
    if (Math.abs(d) < 1e-300) continue; // a constant feature: its weight stays 0
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / d;
      if (f !== 0) for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => (Math.abs(row[i]) < 1e-300 ? 0 : row[n] / row[i]));
}

export function predictLinear(fit: LinearFit, row: readonly number[]): number {
  return row.reduce((acc, v, j) => acc + v * fit.weights[j], fit.bias);
}

export interface BoostingOptions {
  rounds: number;
  maxDepth: number;
  learningRate: number;
  minLeaf: number;
  /** Candidate thresholds per feature (quantiles when a feature has more distinct values). */
  maxBins: number;
}

export const DEFAULT_BOOSTING: BoostingOptions = { rounds: 40, maxDepth: 3, learningRate: 0.15, minLeaf: 8, maxBins: 64 };

/**
 * Gradient boosting for squared error: each round fits a small regression tree to the
 * residuals and adds it, shrunk by the learning rate. Splits are searched on per-feature
 * histograms (as LightGBM does): thresholds sit halfway between neighbouring distinct values,
 * at most `maxBins` of them per feature, so a node costs one pass over its rows.
 */
export function fitBoostedTrees(x: number[][], y: number[], options: Partial<BoostingOptions> = {}): TreeEnsembleFit {
  const opts = { ...DEFAULT_BOOSTING, ...options };
  const n = x.length;
  const p = x[0]?.length ?? 0;
  if (n === 0 || p === 0 || y.length !== n) throw new Error('fitBoostedTrees: need as many targets as rows, and at least one feature');
  const thresholds = Array.from({ length: p }, (_, f) => candidateThresholds(x.map((row) => row[f]), opts.maxBins));
  // bins[f][i]: how many of feature f's thresholds row i's value exceeds (x <= thresholds[f][k] ⇔ bin <= k).
  const bins = thresholds.map((t, f) => Uint16Array.from(x, (row) => countBelow(t, row[f])));
  const baseValue = y.reduce((a, b) => a + b, 0) / n;
  const prediction = new Float64Array(n).fill(baseValue);
  const residual = new Float64Array(n);
  const trees: FittedTree[] = [];

  const grow = (rows: Uint32Array, depth: number): FittedTree => {
    // Indexed loops: for…of over typed arrays is several times slower here.
    let sum = 0;
    for (let r = 0; r < rows.length; r++) sum += residual[rows[r]];
    const leaf = { value: (opts.learningRate * sum) / rows.length };
    if (depth >= opts.maxDepth || rows.length < 2 * opts.minLeaf) return leaf;
    const total = rows.length;
    let best = { gain: 1e-9, feature: -1, bin: 0 };
    for (let f = 0; f < p; f++) {
      const k = thresholds[f].length;
      if (!k) continue;
      const histSum = new Float64Array(k + 1);
      const histCount = new Uint32Array(k + 1);
      const fb = bins[f];
      for (let r = 0; r < rows.length; r++) {
        const i = rows[r];
        histSum[fb[i]] += residual[i];
        histCount[fb[i]]++;
      }
      let leftSum = 0;
      let leftCount = 0;
      for (let b = 0; b < k; b++) {
        leftSum += histSum[b];
        leftCount += histCount[b];
        if (leftCount < opts.minLeaf) continue;
        if (total - leftCount < opts.minLeaf) break;
        const rightSum = sum - leftSum;
        const gain = (leftSum * leftSum) / leftCount + (rightSum * rightSum) / (total - leftCount) - (sum * sum) / total;
        if (gain > best.gain) best = { gain, feature: f, bin: b };
      }
    }
    if (best.feature < 0) return leaf;
    const fb = bins[best.feature];
    const left = new Uint32Array(rows.length);
    const right = new Uint32Array(rows.length);
    let nLeft = 0;
    let nRight = 0;
    for (let r = 0; r < rows.length; r++) {
      const i = rows[r];
      if (fb[i] <= best.bin) left[nLeft++] = i;
      else right[nRight++] = i;
    }
    return {
      feature: best.feature,
      threshold: thresholds[best.feature][best.bin],
      ifTrue: grow(left.subarray(0, nLeft), depth + 1),
      ifFalse: grow(right.subarray(0, nRight), depth + 1),
    };
  };

  const all = Uint32Array.from({ length: n }, (_, i) => i);
  for (let round = 0; round < opts.rounds; round++) {
    for (let i = 0; i < n; i++) residual[i] = y[i] - prediction[i];
    const tree = grow(all, 0);
    if ('value' in tree) break; // nothing left worth a split
    trees.push(tree);
    for (let i = 0; i < n; i++) prediction[i] += evalTree(tree, x[i]);
  }
  return { baseValue, trees };
}

/** Midpoints between neighbouring distinct values; quantiles of them when there are more than maxBins. */
function candidateThresholds(values: number[], maxBins: number): number[] {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  const mids = distinct.slice(1).map((v, i) => (distinct[i] + v) / 2);
  if (mids.length < maxBins) return mids;
  const sorted = [...values].sort((a, b) => a - b);
  const picked = new Set<number>();
  for (let q = 1; q < maxBins; q++) {
    const v = sorted[Math.floor((q * sorted.length) / maxBins)];
    // The midpoint just above v: v stays on the left.
    const at = distinct.indexOf(v);
    if (at < mids.length) picked.add(mids[at]);
  }
  return [...picked].sort((a, b) => a - b);
}

/** How many thresholds lie strictly below v (binary search). */
function countBelow(thresholds: readonly number[], v: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (thresholds[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function evalTree(tree: FittedTree, row: readonly number[]): number {
  let node = tree;
  while (!('value' in node)) node = row[node.feature] <= node.threshold ? node.ifTrue : node.ifFalse;
  return node.value;
}

export function predictTrees(fit: TreeEnsembleFit, row: readonly number[]): number {
  return fit.trees.reduce((acc, t) => acc + evalTree(t, row), fit.baseValue);
}

export function meanAbsoluteError(predicted: readonly number[], actual: readonly number[]): number {
  if (!actual.length) return 0;
  return predicted.reduce((acc, p, i) => acc + Math.abs(p - actual[i]), 0) / actual.length;
}
