import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';

export class UpdateModelDto {
  @ApiPropertyOptional({ description: 'Merge patch: a string sets a tag, null removes it', example: { algo: 'gbr', stale: null } })
  @IsOptional() @IsObject()
  tags?: Record<string, string | null>;

  @ApiPropertyOptional({ description: 'Merge patch of the segment keys', example: { region: 'north' } })
  @IsOptional() @IsObject()
  segment?: Record<string, string | null>;

  @ApiPropertyOptional({ nullable: true, type: String })
  @ValidateIf((_o, v) => v !== null) @IsOptional() @IsString() @MaxLength(10_000)
  description?: string | null;
}
