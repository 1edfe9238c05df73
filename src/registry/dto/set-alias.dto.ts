import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Min } from 'class-validator';

export class SetAliasDto {
  @ApiProperty({ example: 3, description: 'An existing version number of the model' })
  @IsInt() @Min(1)
  version: number;
}
