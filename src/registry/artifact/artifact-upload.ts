import type { Multipart } from '@fastify/multipart';
import { isUtf8 } from 'node:buffer';
import { RegistryError, RegistryErrorCode } from '../registry.error';
import { ModelStore, StagedFile } from '../store/model-store';

export interface ArtifactUpload {
  artifact: StagedFile;
  filename: string;
  fields: { segment?: string; tags?: string; description?: string };
}

const TEXT_FIELDS = new Set(['segment', 'tags', 'description']);

/**
 * Reads the multipart body of a version upload: the `artifact` part is streamed into the
 * store's staging area (hashed on the way, never held in memory), the text parts collected.
 * Whatever fails, no staged file is left behind.
 */
export async function readArtifactUpload(parts: AsyncIterable<Multipart>, store: ModelStore, maxBytes: number): Promise<ArtifactUpload> {
  let artifact: StagedFile | undefined;
  let filename = '';
  const fields: ArtifactUpload['fields'] = {};
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'artifact' || artifact) {
          part.file.resume();
          throw unexpectedFilePart(part.fieldname);
        }
        filename = part.filename;
        artifact = await store.stage(part.file);
        if (part.file.truncated) throw tooLarge(maxBytes);
      } else {
        const name = part.fieldname as keyof ArtifactUpload['fields'];
        if (part.fieldname === 'artifact') {
          throw new RegistryError(RegistryErrorCode.InvalidRequest, "The 'artifact' part must be a file (curl: -F artifact=@model.onnx)", { part: 'artifact' });
        }
        if (!TEXT_FIELDS.has(name)) {
          throw new RegistryError(RegistryErrorCode.InvalidRequest, `Unknown part '${part.fieldname}': expected artifact, segment, tags or description`, {
            part: part.fieldname,
          });
        }
        if (part.valueTruncated) throw new RegistryError(RegistryErrorCode.InvalidRequest, `Part '${name}' is too long`, { part: name });
        // Which of two segments was meant cannot be told: refused, as a query parameter given twice is.
        if (fields[name] !== undefined) throw new RegistryError(RegistryErrorCode.InvalidRequest, `Part '${name}' is given more than once`, { part: name });
        fields[name] = utf8Text(name, String(part.value));
      }
    }
  } catch (error) {
    if (artifact) await store.discard(artifact.path);
    const code = (error as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
    // The multipart limit of one file (app.factory) stops a second file part before we see it.
    if (code === 'FST_FILES_LIMIT') throw unexpectedFilePart(null);
    // busboy searches for the boundary with a needle of at most 256 bytes: a longer one (RFC 2046 allows 70 characters) is the client's.
    if (error instanceof Error && /^The needle cannot have a length bigger than/.test(error.message)) {
      throw new RegistryError(RegistryErrorCode.InvalidRequest, 'The multipart boundary is too long (RFC 2046 allows at most 70 characters)', { reason: 'boundary too long' });
    }
    if (isMalformedMultipart(error)) {
      throw new RegistryError(RegistryErrorCode.InvalidRequest, `The multipart body is malformed: ${(error as Error).message}`, { reason: (error as Error).message });
    }
    throw error;
  }
  if (!artifact) {
    throw new RegistryError(RegistryErrorCode.ArtifactMissing, "The upload has no 'artifact' file part (an .onnx file or a zipped MLflow model)");
  }
  if (artifact.sizeBytes === 0) {
    await store.discard(artifact.path);
    throw new RegistryError(RegistryErrorCode.ArtifactInvalid, 'The artifact is empty');
  }
  return { artifact, filename, fields };
}

/**
 * A text part's bytes (busboy hands them over as latin1: see app.factory) read as UTF-8. Bytes
 * that are not UTF-8 are refused, as in JSON bodies: read with U+FFFD in their place, a segment
 * `{"store":"café"}` saved in Latin-1 would be stored as another store that no request matches.
 * A part that named a charset of its own was decoded by busboy with it and is taken as it is.
 */
function utf8Text(name: string, raw: string): string {
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) > 0xff) return raw;
  const bytes = Buffer.from(raw, 'latin1');
  if (!isUtf8(bytes)) {
    throw new RegistryError(RegistryErrorCode.InvalidRequest, `Part '${name}' is not valid UTF-8: send it encoded in UTF-8`, { part: name });
  }
  return bytes.toString('utf8');
}

function unexpectedFilePart(name: string | null): RegistryError {
  const which = name === null ? 'A second file part' : `Unexpected file part '${name}'`;
  return new RegistryError(RegistryErrorCode.InvalidRequest, `${which}: send exactly one file part, named 'artifact'`, name === null ? {} : { part: name });
}

function tooLarge(maxBytes: number): RegistryError {
  return new RegistryError(RegistryErrorCode.ArtifactTooLarge, `The artifact is larger than the limit of ${maxBytes} bytes (MMS_MAX_ARTIFACT_BYTES)`, {
    limitBytes: maxBytes,
  });
}

/**
 * The multipart parser's own errors (a body cut short, no boundary, a broken part header): plain
 * Errors without a code, unlike the file system's and ours. They are the client's mistake: 400.
 */
function isMalformedMultipart(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === undefined && /multipart|boundary|part header/i.test(error.message);
}
