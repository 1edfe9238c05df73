import { FIXED_MMAP_THRESHOLD, mallocAdvice, runsOnGlibc } from './malloc-tuning';

describe('mallocAdvice', () => {
  it('tells a glibc process whose mmap threshold is not fixed how to fix it', () => {
    expect(mallocAdvice({}, true)).toContain(`GLIBC_TUNABLES=${FIXED_MMAP_THRESHOLD}`);
    expect(mallocAdvice({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, true)).toContain('not fixed');
  });

  it('says nothing when the threshold is fixed, or off glibc', () => {
    expect(mallocAdvice({ GLIBC_TUNABLES: FIXED_MMAP_THRESHOLD }, true)).toBeUndefined();
    expect(mallocAdvice({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=262144' }, true)).toBeUndefined();
    expect(mallocAdvice({ MALLOC_MMAP_THRESHOLD_: '131072' }, true)).toBeUndefined();
    expect(mallocAdvice({}, false)).toBeUndefined();
  });

  it('finds glibc where the project runs (Debian, as CI)', () => {
    expect(runsOnGlibc()).toBe(true);
  });
});
