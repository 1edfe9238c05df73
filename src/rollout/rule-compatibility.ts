import type { ModelSignature, TensorSpec } from '../registry/artifact/artifact.types';

/** A version a rule names, with what it takes. */
export interface RuleVersion {
  version: number;
  signature: ModelSignature;
}

/** Which versions answer clients under a rule: its split's (weight above 0), else the model's default. */
export interface RulePrimaries {
  versions: RuleVersion[];
  /** How the primaries were picked, for messages: 'split', or the default ('alias production' / 'the latest version'). */
  source: string;
}

export interface RuleProblem {
  /** Different inputs make requests fail; a mirror of the only serving version only wastes work. */
  kind: 'different-inputs' | 'mirror-of-itself';
  message: string;
  details: Record<string, unknown>;
}

/**
 * Why a rule would make requests fail at random (null when it would not): split versions must
 * take the same inputs, or a request fits one and gets a 400 from the other; a mirror must take
 * the primaries' inputs, or every mirrored call fails; and a mirror of the only version that
 * serves would compare a version with itself.
 */
export function ruleProblem(primaries: RulePrimaries, mirror: RuleVersion | null): RuleProblem | null {
  const [first, ...others] = primaries.versions;
  for (const other of others) {
    const differences = inputDifferences(first, other);
    if (differences.length) {
      return {
        kind: 'different-inputs',
        message: `Versions ${first.version} and ${other.version} of the split take different inputs (${differences.join('; ')}): a request would succeed on one and fail on the other`,
        details: { field: 'split', versions: [first.version, other.version], differences },
      };
    }
  }
  if (!mirror || !first) return null;
  if (primaries.versions.length === 1 && first.version === mirror.version) {
    return {
      kind: 'mirror-of-itself',
      message: `Mirror version ${mirror.version} is the version that serves every request (${primaries.source}): it would be mirrored to itself`,
      details: { field: 'mirror.version', version: mirror.version },
    };
  }
  for (const primary of primaries.versions) {
    const differences = inputDifferences(primary, mirror);
    if (differences.length) {
      return {
        kind: 'different-inputs',
        message: `Mirror version ${mirror.version} takes different inputs from version ${primary.version}, which serves (${primaries.source}): ${differences.join('; ')}`,
        details: { field: 'mirror.version', versions: [primary.version, mirror.version], differences },
      };
    }
  }
  return null;
}

/**
 * Why a split would answer clients with outputs that change at random (null when it would not):
 * its versions must answer outputs of the same names, or a client reading `y` (or an OIP request
 * asking for it) gets it from one version and misses it, or a 400, from the other. Checked where
 * a split is set; a version that adds an output is rolled out by alias, or mirrored first.
 */
export function splitOutputProblem(primaries: RulePrimaries): { message: string; details: Record<string, unknown> } | null {
  const [first, ...others] = primaries.versions;
  const namesOf = (v: RuleVersion) => v.signature.outputs.filter((o) => o.type !== 'non-tensor').map((o) => o.name);
  for (const other of others) {
    const [a, b] = [namesOf(first), namesOf(other)];
    const onlyA = a.filter((n) => !b.includes(n));
    const onlyB = b.filter((n) => !a.includes(n));
    if (!onlyA.length && !onlyB.length) continue;
    const said = [...onlyA.map((n) => `v${first.version} answers '${n}', v${other.version} does not`), ...onlyB.map((n) => `v${other.version} answers '${n}', v${first.version} does not`)];
    return {
      message: `Versions ${first.version} and ${other.version} of the split answer different outputs (${said.join('; ')}): a client would get one set or the other at random; move an alias instead, or mirror first`,
      details: { field: 'split', versions: [first.version, other.version], differences: said },
    };
  }
  return null;
}

/**
 * How two versions' inputs differ, one phrase each: names, element types, ranks and fixed
 * dimensions (a fixed size against a dynamic one counts: one version takes what the other refuses).
 */
export function inputDifferences(a: RuleVersion, b: RuleVersion): string[] {
  const found: string[] = [];
  const aInputs = new Map(a.signature.inputs.map((s) => [s.name, s]));
  const bInputs = new Map(b.signature.inputs.map((s) => [s.name, s]));
  for (const [name, spec] of aInputs) {
    const other = bInputs.get(name);
    if (!other) found.push(`v${a.version} takes input '${name}' ${describe(spec)}, v${b.version} does not`);
    else found.push(...specDifferences(name, a.version, spec, b.version, other));
  }
  for (const [name, spec] of bInputs) if (!aInputs.has(name)) found.push(`v${b.version} takes input '${name}' ${describe(spec)}, v${a.version} does not`);
  return found;
}

function specDifferences(name: string, av: number, a: TensorSpec, bv: number, b: TensorSpec): string[] {
  if (a.type !== b.type) return [`input '${name}' is ${a.type} in v${av}, ${b.type} in v${bv}`];
  if (a.shape.length !== b.shape.length) return [`input '${name}' has rank ${a.shape.length} in v${av} ${shapeOf(a)}, ${b.shape.length} in v${bv} ${shapeOf(b)}`];
  const found: string[] = [];
  a.shape.forEach((dim, i) => {
    const [x, y] = [fixed(dim), fixed(b.shape[i])];
    if (x !== y) found.push(`input '${name}' dimension ${i} is ${x ?? 'dynamic'} in v${av}, ${y ?? 'dynamic'} in v${bv}`);
  });
  return found;
}

function fixed(dim: number | string | null): number | null {
  return typeof dim === 'number' && dim >= 0 ? dim : null;
}

function shapeOf(spec: TensorSpec): string {
  return `[${spec.shape.map((d) => fixed(d) ?? 'N').join(',')}]`;
}

function describe(spec: TensorSpec): string {
  return `${spec.type} ${shapeOf(spec)}`;
}
