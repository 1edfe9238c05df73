import { LoadQueue } from './load-queue';

describe('LoadQueue', () => {
  const item = (tenantId: string, name: string) => ({ tenantId, name });

  it('serves the longest-waiting item across tenants, passing over the tenants asked', () => {
    const queue = new LoadQueue<ReturnType<typeof item>>();
    const [a1, b1, a2, c1] = [item('a', 'a1'), item('b', 'b1'), item('a', 'a2'), item('c', 'c1')];
    for (const i of [a1, b1, a2, c1]) queue.push(i);
    expect(queue.size).toBe(4);
    expect(queue.oldest()).toBe(a1);
    expect(queue.oldest(new Set(['a']))).toBe(b1);
    expect(queue.oldest(new Set(['a', 'b']))).toBe(c1);
    expect(queue.oldest(new Set(['a', 'b', 'c']))).toBeUndefined();
    expect(queue.remove(a1)).toBe(true);
    expect(queue.oldest()).toBe(b1);
    expect(queue.oldest(new Set(['b']))).toBe(a2);
  });

  it('removes an item from the middle once, and forgets a tenant with nothing waiting', () => {
    const queue = new LoadQueue<ReturnType<typeof item>>();
    const [a1, a2, a3, b1] = [item('a', 'a1'), item('a', 'a2'), item('a', 'a3'), item('b', 'b1')];
    for (const i of [a1, a2, a3, b1]) queue.push(i);
    expect(queue.remove(a2)).toBe(true);
    expect(queue.remove(a2)).toBe(false);
    expect(queue.size).toBe(3);
    expect(queue.hasOtherThan('a')).toBe(true);
    queue.remove(b1);
    expect(queue.hasOtherThan('a')).toBe(false);
    expect(queue.hasOtherThan('b')).toBe(true);
    queue.remove(a1);
    queue.remove(a3);
    expect(queue.size).toBe(0);
    expect(queue.hasOtherThan('b')).toBe(false);
    expect(queue.oldest()).toBeUndefined();
  });
});
