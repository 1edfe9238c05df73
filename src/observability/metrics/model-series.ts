import { OTHER, TopModelLabels } from './top-model-labels';

/** Version label values one model keeps at most; the least recently seen one's series go first. */
export const MAX_VERSIONS_PER_MODEL = 5;

type Labels = Record<string, string>;
/** A metric whose series can be ended by label set (prom-client's, or RequestSeries). */
type LabelledMetric = { remove(labels: Labels): void };

interface ModelEntry {
  /** version label → when last seen, and the label sets created under it. */
  versions: Map<string, { seenAt: number; labelSets: Map<string, Labels> }>;
}

/**
 * The series of per-model metrics (labels include `tenant`, `model` and `version`): maps a
 * model to its label value through the shared top-N, and remembers which label sets each
 * labelled model created so that they can be removed when the model leaves the top N, or
 * when it has served more than MAX_VERSIONS_PER_MODEL versions. Models counted under
 * `other` share a fixed set of series, so they need no bookkeeping.
 */
export class ModelSeries {
  private readonly models = new Map<string, ModelEntry>();
  private tick = 0;

  constructor(
    private readonly top: TopModelLabels,
    private readonly metrics: LabelledMetric[],
  ) {
    top.listen((keys) => {
      for (const key of keys) this.removeModel(key);
    });
  }

  /**
   * The `model` and `version` label values for one observation: as given for a top-N model,
   * `other` otherwise, empty for requests that are about no model. `key` is set when the caller
   * must `track` the label set it builds (a labelled model's series can be removed later).
   * The caller builds the label object itself, as a literal: that is several times faster than
   * spreading one, and this runs on every request.
   */
  resolve(tenantId: string, model: string | undefined, version: string | undefined, count = true): { model: string; version: string; key: string | null } {
    if (!model) return { model: '', version: '', key: null };
    const value = this.top.labelFor(tenantId, model, count);
    if (value === OTHER) return { model: OTHER, version: OTHER, key: null };
    return { model, version: version ?? '', key: TopModelLabels.key(tenantId, model) };
  }

  /**
   * Remembers a labelled model's label set (from `resolve`, with the same `version`); `id`
   * names the label set (its values joined) when the caller has it already.
   */
  track(key: string, labels: Labels, id = Object.values(labels).join('\u0000')): void {
    let entry = this.models.get(key);
    if (!entry) this.models.set(key, (entry = { versions: new Map() }));
    let version = entry.versions.get(labels.version);
    if (!version) {
      if (entry.versions.size >= MAX_VERSIONS_PER_MODEL) this.dropOldestVersion(entry);
      entry.versions.set(labels.version, (version = { seenAt: 0, labelSets: new Map() }));
    }
    version.seenAt = ++this.tick;
    if (!version.labelSets.has(id)) version.labelSets.set(id, labels);
  }

  /** Label sets currently held for labelled models (for tests and the cardinality figure). */
  get labelledSeries(): number {
    let n = 0;
    for (const entry of this.models.values()) for (const v of entry.versions.values()) n += v.labelSets.size;
    return n;
  }

  private dropOldestVersion(entry: ModelEntry): void {
    let oldest: string | undefined;
    let oldestAt = Infinity;
    for (const [v, info] of entry.versions) {
      if (info.seenAt < oldestAt) {
        oldest = v;
        oldestAt = info.seenAt;
      }
    }
    if (oldest === undefined) return;
    this.removeSets(entry.versions.get(oldest)!.labelSets);
    entry.versions.delete(oldest);
  }

  private removeModel(key: string): void {
    const entry = this.models.get(key);
    if (!entry) return;
    for (const version of entry.versions.values()) this.removeSets(version.labelSets);
    this.models.delete(key);
  }

  private removeSets(sets: Map<string, Labels>): void {
    for (const labels of sets.values()) for (const metric of this.metrics) metric.remove(labels);
  }
}
