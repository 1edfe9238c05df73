import type { TensorSpec } from '../registry/artifact/artifact.types';
import { inputDifferences, RuleVersion, ruleProblem, splitOutputProblem } from './rule-compatibility';

const v = (version: number, ...inputs: TensorSpec[]): RuleVersion => ({ version, signature: { inputs, outputs: [] } });
const input = (name: string, type: string, shape: Array<number | string | null>): TensorSpec => ({ name, type, shape });

describe('inputDifferences', () => {
  it('finds none between versions that take the same inputs, whatever the symbolic names', () => {
    expect(inputDifferences(v(1, input('x', 'float32', ['N', 6])), v(2, input('x', 'float32', ['batch', 6])))).toEqual([]);
  });

  it('names inputs one version lacks, other element types, ranks and fixed dimensions', () => {
    expect(inputDifferences(v(1, input('feats', 'float32', ['N', 3])), v(2, input('x', 'float32', ['N', 2])))).toEqual([
      "v1 takes input 'feats' float32 [N,3], v2 does not",
      "v2 takes input 'x' float32 [N,2], v1 does not",
    ]);
    expect(inputDifferences(v(1, input('x', 'float32', ['N', 3])), v(2, input('x', 'int64', ['N', 3])))).toEqual(["input 'x' is float32 in v1, int64 in v2"]);
    expect(inputDifferences(v(1, input('x', 'float32', ['N', 3])), v(2, input('x', 'float32', ['N', 3, 1])))).toEqual([
      "input 'x' has rank 2 in v1 [N,3], 3 in v2 [N,3,1]",
    ]);
    expect(inputDifferences(v(1, input('x', 'float32', ['N', 3])), v(2, input('x', 'float32', ['N', null])))).toEqual([
      "input 'x' dimension 1 is 3 in v1, dynamic in v2",
    ]);
  });
});

describe('ruleProblem', () => {
  const a = v(1, input('feats', 'float32', ['N', 3]));
  const same = v(2, input('feats', 'float32', ['N', 3]));
  const other = v(3, input('x', 'float32', ['N', 2]));

  it('accepts a split and a mirror over the same inputs', () => {
    expect(ruleProblem({ versions: [a, same], source: 'split' }, same)).toBeNull();
    expect(ruleProblem({ versions: [a], source: 'alias production' }, same)).toBeNull();
  });

  it('refuses a split whose versions take different inputs, naming both', () => {
    const problem = ruleProblem({ versions: [a, other], source: 'split' }, null);
    expect(problem?.message).toMatch(/^Versions 1 and 3 of the split take different inputs \(v1 takes input 'feats'/);
    expect(problem?.details).toMatchObject({ field: 'split', versions: [1, 3] });
  });

  it('refuses a mirror whose inputs differ from a primary, and a mirror of the only primary', () => {
    expect(ruleProblem({ versions: [a], source: 'split' }, other)?.message).toMatch(/^Mirror version 3 takes different inputs from version 1/);
    expect(ruleProblem({ versions: [a], source: 'the latest version' }, a)?.message).toMatch(/mirrored to itself/);
  });
});

describe('splitOutputProblem', () => {
  const answering = (version: number, ...names: string[]): RuleVersion => ({
    version,
    signature: { inputs: [input('x', 'float32', ['N', 3])], outputs: names.map((name) => input(name, name === 'zipmap' ? 'non-tensor' : 'float32', ['N', 1])) },
  });
  const split = (...versions: RuleVersion[]) => ({ versions, source: 'split' });

  it('finds none when every version answers the same outputs, in any order (a ZipMap output, never answered, aside)', () => {
    expect(splitOutputProblem(split(answering(1, 'y', 'z'), answering(2, 'z', 'y', 'zipmap')))).toBeNull();
    expect(splitOutputProblem(split(answering(1, 'y')))).toBeNull();
  });

  it('names the outputs one version answers and another does not', () => {
    expect(splitOutputProblem(split(answering(1, 'variable'), answering(2, 'y')))).toEqual({
      message: expect.stringContaining("Versions 1 and 2 of the split answer different outputs (v1 answers 'variable', v2 does not; v2 answers 'y', v1 does not)"),
      details: { field: 'split', versions: [1, 2], differences: ["v1 answers 'variable', v2 does not", "v2 answers 'y', v1 does not"] },
    });
    expect(splitOutputProblem(split(answering(1, 'y'), answering(2, 'y'), answering(3, 'y', 'extra')))?.details.versions).toEqual([1, 3]);
  });
});
