import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';

/**
 * Nest's ValidationPipe, refusing a JSON `null` body where a DTO is expected: the pipe lets it
 * through as if it were `{}` (a `PATCH` of `null` answered 200, changing nothing), while `1`,
 * `"s"` and `[]` are refused. An array with items is refused too, but as an object with keys
 * 0, 1… ("property 0 should not exist"): said plainly instead. Reported as the pipe reports its
 * own problems (VALIDATION_FAILED).
 */
export class ObjectBodyValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && (value === null || Array.isArray(value)) && this.toValidate(metadata)) {
      throw new BadRequestException([`The request body must be a JSON object, not ${value === null ? 'null' : 'an array'}`]);
    }
    return super.transform(value, metadata);
  }
}
