import { ModelAliasEntity } from './entities/model-alias.entity';
import { ModelVersionEntity } from './entities/model-version.entity';
import { ModelEntity } from './entities/model.entity';

/** The JSON shapes of API.md's registry routes, built from entities in one place. */

export function versionView(model: ModelEntity, v: ModelVersionEntity) {
  return {
    name: model.name,
    version: v.version,
    sha256: v.sha256,
    sizeBytes: v.sizeBytes,
    // The model the store keeps (an MLflow zip's may be far bigger than the zip): what the storage quota counts.
    ...(v.storedBytes !== null ? { storedBytes: v.storedBytes } : {}),
    format: v.format,
    signature: v.signature,
    segment: model.segment,
    tags: v.tags,
    description: v.description,
    ...(v.mlflow ? { mlflow: v.mlflow } : {}),
    createdAt: v.createdAt.toISOString(),
    createdBy: v.createdBy,
  };
}

export function modelSummaryView(model: ModelEntity, latest: ModelVersionEntity | null) {
  return {
    name: model.name,
    description: model.description,
    segment: model.segment,
    tags: model.tags,
    latestVersion: latest ? versionView(model, latest) : null,
    createdAt: model.createdAt.toISOString(),
    updatedAt: model.updatedAt.toISOString(),
  };
}

export function modelView(model: ModelEntity, versions: ModelVersionEntity[], aliases: ModelAliasEntity[]) {
  return {
    name: model.name,
    description: model.description,
    segment: model.segment,
    tags: model.tags,
    aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
    versions: versions.map((v) => versionView(model, v)),
    createdAt: model.createdAt.toISOString(),
    updatedAt: model.updatedAt.toISOString(),
  };
}

export function aliasView(model: ModelEntity, alias: ModelAliasEntity) {
  return { name: model.name, alias: alias.alias, version: alias.version, updatedAt: alias.updatedAt.toISOString() };
}

export type VersionView = ReturnType<typeof versionView>;
export type ModelView = ReturnType<typeof modelView>;
export type ModelSummaryView = ReturnType<typeof modelSummaryView>;
export type AliasView = ReturnType<typeof aliasView>;
