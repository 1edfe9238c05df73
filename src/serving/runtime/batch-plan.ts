import type { HostTensor, TensorData, TypedData } from '../tensor-codec';

/**
 * Pure helpers the worker uses to merge several requests into one call and to cut a big
 * request into chunks, along the first (row) dimension.
 */

export function rowsOf(feeds: readonly HostTensor[]): number | null {
  if (!feeds.length || feeds[0].dims.length === 0) return null;
  const rows = feeds[0].dims[0];
  for (const t of feeds) if (t.dims.length === 0 || t.dims[0] !== rows) return null;
  return rows;
}

/** Concatenates each input of every part along dimension 0 (parts list inputs in the same order). */
export function concatParts(parts: readonly HostTensor[][]): HostTensor[] {
  return parts[0].map((first, i) =>
    concatTensors(
      first,
      parts.map((p) => p[i]),
    ),
  );
}

/** Concatenation along dimension 0 of tensors that agree on every other dimension. */
export function concatTensors(template: HostTensor, tensors: readonly HostTensor[]): HostTensor {
  let rows = 0;
  for (const t of tensors) rows += t.dims[0];
  const dims = [rows, ...template.dims.slice(1)];
  if (Array.isArray(template.data)) {
    return { name: template.name, type: template.type, dims, data: tensors.flatMap((t) => t.data as string[]) };
  }
  let length = 0;
  for (const t of tensors) length += t.data.length;
  const Ctor = template.data.constructor as new (n: number) => TypedData;
  const data = new Ctor(length);
  let offset = 0;
  for (const t of tensors) {
    (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(t.data as TypedData, offset);
    offset += t.data.length;
  }
  return { name: template.name, type: template.type, dims, data };
}

/** Elements [start, end) without copying typed arrays. */
export function sliceData(data: TensorData, start: number, end: number): TensorData {
  return Array.isArray(data) ? data.slice(start, end) : data.subarray(start, end);
}

/**
 * Splits merged outputs back into one list per part (views, no copies). Null when an output's
 * first dimension is not the total of rows: the model is not row-independent after all.
 */
export function splitOutputs(outputs: readonly HostTensor[], rows: readonly number[]): HostTensor[][] | null {
  const total = rows.reduce((a, b) => a + b, 0);
  if (outputs.some((o) => o.dims.length === 0 || o.dims[0] !== total)) return null;
  const parts: HostTensor[][] = rows.map(() => []);
  for (const o of outputs) {
    const perRow = o.data.length / total;
    let start = 0;
    rows.forEach((n, p) => {
      parts[p].push({ name: o.name, type: o.type, dims: [n, ...o.dims.slice(1)], data: sliceData(o.data, start * perRow, (start + n) * perRow) });
      start += n;
    });
  }
  return parts;
}

/** Rows [start, end) of each input, as views. */
export function sliceRows(feeds: readonly HostTensor[], start: number, end: number): HostTensor[] {
  return feeds.map((t) => {
    const perRow = t.data.length / t.dims[0];
    return { name: t.name, type: t.type, dims: [end - start, ...t.dims.slice(1)], data: sliceData(t.data, start * perRow, end * perRow) };
  });
}

/** Rows per chunk so that one chunk feeds about `elementBudget` values. */
export function chunkRowsFor(feeds: readonly HostTensor[], elementBudget: number): number {
  const rows = feeds[0].dims[0];
  const perRow = feeds.reduce((sum, t) => sum + t.data.length / t.dims[0], 0);
  return Math.max(1, Math.min(rows, Math.floor(elementBudget / Math.max(1, perRow))));
}
