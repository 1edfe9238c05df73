import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverCandidates } from './discover';
import { SegmentPattern } from './segment-pattern';

describe('discoverCandidates: what the service would refuse is a problem before anything is sent (and in --dry-run)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'h29d-discover-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const problems = (options: Partial<Parameters<typeof discoverCandidates>[1]> = {}) =>
    Object.fromEntries(discoverCandidates([dir], { segment: {}, tags: {}, ...options }).map((c) => [c.name, c.problem]));

  it('flags file names that make no model name', () => {
    for (const file of ['Demand-North-0042.onnx', 'seg-nörth-0042.onnx', 'store 42.onnx', 'ok-0001.onnx']) writeFileSync(join(dir, file), 'x');
    const found = problems({ segmentPattern: new SegmentPattern('{name}.onnx') });
    expect(found['ok-0001']).toBeUndefined();
    for (const name of ['Demand-North-0042', 'seg-nörth-0042', 'store 42']) expect(found[name]).toMatch(/^model name '.+' must match .*--name/);
  });

  it('takes a sidecar name that fits, and flags segment keys and values the service refuses', () => {
    writeFileSync(join(dir, 'Store 42.onnx'), 'x');
    writeFileSync(join(dir, 'Store 42.onnx.json'), JSON.stringify({ name: 'store-42', segment: { 'bad key': 'v' } }));
    writeFileSync(join(dir, 'long.onnx'), 'x');
    writeFileSync(join(dir, 'long.json'), JSON.stringify({ tags: { note: 'n'.repeat(300) } }));
    const found = problems();
    expect(found['store-42']).toMatch(/segment key 'bad key' must match/);
    expect(found.long).toMatch(/tags\.note is longer than 256 characters/);
  });
});
