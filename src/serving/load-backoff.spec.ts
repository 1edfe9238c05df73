import { LoadBackoff } from './load-backoff';
import { fakeVersion } from './testing/fake-runtime';

describe('LoadBackoff', () => {
  it('refuses a failed version until its retry time, doubling the wait per failure up to the cap, and forgets it once loaded', () => {
    let now = 0;
    const backoff = new LoadBackoff(() => now, 1000, 4000);
    const v = fakeVersion('a');
    expect(backoff.refusal(v)).toBeUndefined();
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const error = backoff.failed(v, new Error('cannot load'));
      waits.push(error.details!.retryAfterMs as number);
      expect(backoff.refusal(v)?.code).toBe('MODEL_LOAD_FAILED');
      now += waits[i];
      expect(backoff.refusal(v)).toBeUndefined(); // its time has come: the next request tries
    }
    expect(waits).toEqual([1000, 2000, 4000, 4000]);
    backoff.loaded(v.id);
    expect([...backoff.entries()]).toEqual([]);
    expect(backoff.failed(v, new Error('again')).details).toMatchObject({ attempts: 1, retryAfterMs: 1000 });
  });

  it("answers the runtime's reason without the server's file paths, with Retry-After in whole seconds", () => {
    let now = 0;
    const backoff = new LoadBackoff(() => now);
    const error = backoff.failed(fakeVersion('a'), new Error('Load model from /srv/mms/model-store/sha256/abc failed: bad'));
    expect(JSON.stringify(error.details)).not.toContain('/srv/mms');
    // The reason is in the message too, so that a batch row's error or a log line carries it.
    expect(error.message).toBe("Model 'model-a' version 1 could not be loaded (Load model from <artifact> failed: bad); it is tried again in 1 s");
    expect(error.details).toMatchObject({ model: 'model-a', version: 1, attempts: 1 });
    expect(error.headers['retry-after']).toBe('1');
    now = 999.5; // half a millisecond left: still at least 1 s, never 0
    expect(backoff.refusal(fakeVersion('a'))?.headers['retry-after']).toBe('1');
  });
});
