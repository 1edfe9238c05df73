import { DomainError } from '../common/domain-error';

export enum RegistryErrorCode {
  InvalidModelName = 'INVALID_MODEL_NAME',
  InvalidAliasName = 'INVALID_ALIAS_NAME',
  InvalidRequest = 'INVALID_REQUEST',
  InvalidCursor = 'INVALID_CURSOR',
  ModelNotFound = 'MODEL_NOT_FOUND',
  VersionNotFound = 'VERSION_NOT_FOUND',
  AliasNotFound = 'ALIAS_NOT_FOUND',
  VersionInUse = 'VERSION_IN_USE',
  ArtifactMissing = 'ARTIFACT_MISSING',
  ArtifactTooLarge = 'ARTIFACT_TOO_LARGE',
  ArtifactInvalid = 'ARTIFACT_INVALID',
  ArchiveUnsafe = 'ARCHIVE_UNSAFE',
  MlmodelInvalid = 'MLMODEL_INVALID',
}

export class RegistryError extends DomainError<RegistryErrorCode> {}
