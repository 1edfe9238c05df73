import { csvField, csvRecords, withLineFeeds } from './csv';

async function parseAll(chunks: string[], batchSize = 2): Promise<string[][]> {
  const out: string[][] = [];
  for await (const batch of csvRecords((async function* () {
    yield* chunks;
  })(), batchSize)) out.push(...batch);
  return out;
}

describe('csvRecords', () => {
  it('reads plain and quoted fields, CRLF, a BOM, and skips blank lines', async () => {
    expect(await parseAll(['\ufeffa,b,c\r\n1,"x, y",3\n\n"he said ""hi""",,"line\nbreak"\n'])).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', '3'],
      ['he said "hi"', '', 'line\nbreak'],
    ]);
  });

  it('gives the same records however the text is cut into chunks', async () => {
    const text = 'id,name\r\n1,"a ""quoted"" name"\r\n2,"multi\r\nline"\r\n3,plain\n4,"x"';
    const whole = await parseAll([text]);
    expect(whole).toHaveLength(5);
    for (let cut = 1; cut < text.length; cut++) expect(await parseAll([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(await parseAll(text.split(''))).toEqual(whole);
  });

  it('reads a last line without a newline', async () => {
    expect(await parseAll(['a,b\n1,2'])).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('keeps a carriage return inside the last line when the file does not end with a newline', async () => {
    expect(await parseAll(['h\n1,2\r3,4'])).toEqual([['h'], ['1', '2\r3', '4']]);
  });

  it('keeps every record of a last stretch without a newline, also when a lone CR ends a quoted one', async () => {
    expect(await parseAll(['h\n"a",b\rc,d'])).toEqual([['h'], ['a', 'b'], ['c', 'd']]);
  });

  it('refuses an unterminated quote', async () => {
    await expect(parseAll(['a\n"open'])).rejects.toThrow('unterminated quoted field');
  });
});

describe('csvField', () => {
  it('quotes only when needed', () => {
    expect(['plain', 'a,b', 'say "x"', 'two\nlines', ''].map(csvField)).toEqual(['plain', '"a,b"', '"say ""x"""', '"two\nlines"', '']);
  });
});

describe('withLineFeeds', () => {
  const all = async <T extends string | Buffer>(chunks: T[]) => {
    const out: T[] = [];
    for await (const c of withLineFeeds((async function* () {
      yield* chunks;
    })())) out.push(c);
    return out;
  };

  it('puts LF in place of CR in a file whose first 64 KiB hold a CR and no LF, strings and bytes alike', async () => {
    expect((await all(['a,b\r1,', '2\r3,4\r'])).join('')).toBe('a,b\n1,2\n3,4\n');
    expect(Buffer.concat(await all([Buffer.from('a\rb'), Buffer.from('\r')])).toString()).toBe('a\nb\n');
    const long = 'x'.repeat(70 * 1024);
    expect((await all([`a\r${long}`, 'b\nc\r'])).join('')).toBe(`a\n${long}b\nc\n`); // decided before the LF came
  });

  it('leaves a file with LFs as it is, a lone CR in it included, and a file with neither', async () => {
    expect(await all(['a,b\r', 'x\n1,2\r\n'])).toEqual(['a,b\r', 'x\n1,2\r\n']);
    expect(await all(['a,b', ',c'])).toEqual(['a,b', ',c']);
    expect(await all([])).toEqual([]);
  });
});
