/**
 * Loads waiting for room in the session cache: a first-in-first-out queue per tenant, served
 * oldest first across tenants, so that a tenant whose own loads hold it back can be passed over
 * without walking the whole queue (one tenant's burst may queue thousands).
 */
export class LoadQueue<T extends { readonly tenantId: string }> {
  private readonly byTenant = new Map<string, Array<{ item: T; seq: number }>>();
  private seq = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    const queue = this.byTenant.get(item.tenantId) ?? [];
    queue.push({ item, seq: this.seq++ });
    this.byTenant.set(item.tenantId, queue);
    this.count++;
  }

  /** The longest-waiting item of a tenant not in `passedOver`. */
  oldest(passedOver: ReadonlySet<string> = new Set()): T | undefined {
    let oldest: { item: T; seq: number } | undefined;
    for (const [tenantId, queue] of this.byTenant) {
      if (passedOver.has(tenantId)) continue;
      if (!oldest || queue[0].seq < oldest.seq) oldest = queue[0];
    }
    return oldest?.item;
  }

  /** The first waiting item of each tenant. */
  heads(): T[] {
    return [...this.byTenant.values()].map((queue) => queue[0].item);
  }

  /** Takes the item out of the queue; false when it was not in it. */
  remove(item: T): boolean {
    const queue = this.byTenant.get(item.tenantId);
    const at = queue?.findIndex((waiting) => waiting.item === item) ?? -1;
    if (!queue || at < 0) return false;
    if (at === 0) queue.shift();
    else queue.splice(at, 1);
    if (queue.length === 0) this.byTenant.delete(item.tenantId);
    this.count--;
    return true;
  }

  /** Whether a tenant other than this one has loads waiting. */
  hasOtherThan(tenantId: string): boolean {
    return this.byTenant.size > (this.byTenant.has(tenantId) ? 1 : 0);
  }

}
