import { PendingCalls } from './pending-calls';

describe('PendingCalls', () => {
  it('gives each call its own id and hands it back once', () => {
    const calls = new PendingCalls<string>();
    const a = calls.add('a');
    const b = calls.add('b');
    expect(a).not.toBe(b);
    expect(calls.size).toBe(2);
    expect(calls.take(b)).toBe('b');
    expect(calls.take(b)).toBeUndefined();
    expect(calls.take(a)).toBe('a');
    expect(calls.size).toBe(0);
  });

  it('answers undefined for an id it never issued', () => {
    const calls = new PendingCalls<string>();
    calls.add('a');
    expect(calls.take(999)).toBeUndefined();
    expect(calls.take(-1)).toBeUndefined();
    expect(calls.size).toBe(1);
  });

  it('keeps a call that waits while thousands of others come and go', () => {
    const calls = new PendingCalls<string>();
    const slow = calls.add('slow');
    const alsoSlow = calls.add('also slow');
    for (let i = 0; i < 5000; i++) expect(calls.take(calls.add(`quick ${i}`))).toBe(`quick ${i}`);
    const held = Array.from({ length: 3000 }, (_, i) => [calls.add(`held ${i}`), i] as const);
    expect(calls.size).toBe(3002);
    expect(calls.take(alsoSlow)).toBe('also slow');
    for (const [id, i] of held) expect(calls.take(id)).toBe(`held ${i}`);
    expect(calls.take(slow)).toBe('slow');
    expect(calls.size).toBe(0);
  });

  it('hands back every waiting call when its worker is gone', () => {
    const calls = new PendingCalls<string>();
    const ids = Array.from({ length: 1500 }, (_, i) => calls.add(`c${i}`));
    calls.take(ids[7]);
    const all = calls.takeAll();
    expect(all).toHaveLength(1499);
    expect(new Set(all).size).toBe(1499);
    expect(all).not.toContain('c7');
    expect(calls.size).toBe(0);
    expect(calls.take(ids[0])).toBeUndefined();
  });
});
