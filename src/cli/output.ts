/**
 * Plain aligned columns (like kubectl or docker ls): easy to read and to grep or cut, so no
 * box-drawing table library. `--json` prints the API's own JSON instead.
 */

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress bars) and colours/redraws are welcome. */
  readonly errIsTty: boolean;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  get errIsTty() {
    return Boolean(process.stderr.isTTY);
  },
};

export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `{"region":"north","store":"0042"}` → `region=north,store=0042`. */
export function labels(value: Record<string, string> | null | undefined): string {
  if (!value) return '';
  return Object.entries(value)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** ISO time without milliseconds, in UTC (what the API returns, shortened). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '';
  return iso.replace(/\.\d+Z$/, 'Z').replace('T', ' ');
}

export function shape(dims: Array<number | string | null> | undefined): string {
  return `[${(dims ?? []).map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}
