/**
 * Names (inputs, columns) listed in an error. A wide model has thousands of them — an MLflow
 * signature of 20,000 feature columns, skl2onnx's one input per column — and an error that
 * listed them all was a body of hundreds of kilobytes for a misspelt column. Messages show the
 * first few and the count; details keep up to MAX_DETAIL_NAMES and say how many there are.
 */
const MAX_SHOWN_NAMES = 20;
const MAX_DETAIL_NAMES = 100;

/** A name the client sent, as an error repeats it: cut to 64 characters, as values are (tensor-codec's echo). */
export function sentName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}

/** `a, b, c` (or `'a', 'b'` with `quote`), cut after 20 names with `… (20000 in all)`. */
export function nameList(names: readonly string[], { quote = false } = {}): string {
  const shown = names.slice(0, MAX_SHOWN_NAMES).map((n) => (quote ? `'${n}'` : n));
  return names.length > MAX_SHOWN_NAMES ? `${shown.join(', ')}, … (${names.length} in all)` : shown.join(', ');
}

/** `{[key]: names}` for an error's details, at most 100 of them, with `[key]Count` when there are more. */
export function namesDetail(key: string, names: readonly string[]): Record<string, unknown> {
  if (names.length <= MAX_DETAIL_NAMES) return { [key]: [...names] };
  return { [key]: names.slice(0, MAX_DETAIL_NAMES), [`${key}Count`]: names.length };
}
