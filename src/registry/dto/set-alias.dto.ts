import { ApiProperty } from '@nestjs/swagger';
import { ValidateBy } from 'class-validator';
import { MAX_VERSION, VERSION_RANGE } from '../names';

export class SetAliasDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_VERSION, example: 3, description: 'An existing version number of the model' })
  // One check with one message: a string "3", a missing version or 0 each got two ('must not be less than 1; must be an integer number').
  @ValidateBy({
    name: 'isVersionNumber',
    validator: {
      validate: (value: unknown) => Number.isInteger(value) && (value as number) >= 1,
      defaultMessage: () => `version must be ${VERSION_RANGE}, as a JSON number (not a string)`,
    },
  })
  version: number;
}
