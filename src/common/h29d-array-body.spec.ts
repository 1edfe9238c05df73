import { BadRequestException } from '@nestjs/common';
import { UpdateModelDto } from '../registry/dto/update-model.dto';
import { SetAliasDto } from '../registry/dto/set-alias.dto';
import { ObjectBodyValidationPipe } from './object-body-validation.pipe';

describe('ObjectBodyValidationPipe: a JSON array where an object is expected', () => {
  const pipe = new ObjectBodyValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });
  const problemsOf = async (value: unknown, metatype: new () => object): Promise<unknown> => {
    try {
      await pipe.transform(value, { type: 'body', metatype });
    } catch (error) {
      expect(error).toBeInstanceOf(BadRequestException);
      return ((error as BadRequestException).getResponse() as { message: unknown }).message;
    }
    throw new Error('expected a 400');
  };

  it('says the body must be an object, not that "property 0 should not exist"', async () => {
    expect(await problemsOf([2], SetAliasDto)).toEqual(['The request body must be a JSON object, not an array']);
    expect(await problemsOf([{ tags: { a: 'b' } }], UpdateModelDto)).toEqual(['The request body must be a JSON object, not an array']);
    expect(await problemsOf([], UpdateModelDto)).toEqual(['The request body must be a JSON object, not an array']);
    expect(await problemsOf(null, UpdateModelDto)).toEqual(['The request body must be a JSON object, not null']);
  });

  it('still takes objects', async () => {
    await expect(pipe.transform({ version: 2 }, { type: 'body', metatype: SetAliasDto })).resolves.toMatchObject({ version: 2 });
  });
});
