import { isSampledPredictionId, sampledPredictionId, sampledPredictionTime, unsampledPredictionId } from './prediction-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('prediction ids', () => {
  it('are UUIDs, version 7 (time first) when sampled and version 4 when not', () => {
    const sampled = sampledPredictionId(Date.UTC(2026, 10, 25));
    expect(sampled).toMatch(UUID);
    expect(sampled[14]).toBe('7');
    expect(parseInt(sampled.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2026, 10, 25));
    expect(unsampledPredictionId()).toMatch(UUID);
    expect(isSampledPredictionId(sampled)).toBe(true);
    expect(isSampledPredictionId(unsampledPredictionId())).toBe(false);
  });

  it('sort by time when sampled (the log index grows at its end)', () => {
    const a = sampledPredictionId(1_000);
    const b = sampledPredictionId(2_000);
    expect(a < b).toBe(true);
    expect(a).not.toBe(sampledPredictionId(1_000));
  });

  it('tell when a sampled prediction was made, and nothing for any other id', () => {
    expect(sampledPredictionTime(sampledPredictionId(Date.UTC(2026, 10, 25, 8, 30)))).toBe(Date.UTC(2026, 10, 25, 8, 30));
    expect(sampledPredictionTime(unsampledPredictionId())).toBeNull();
    expect(sampledPredictionTime('not-a-uuid')).toBeNull();
  });
});
