import type { TensorSpec } from '../registry/artifact/artifact.types';
import { parseMlflowCsv } from './mlflow-csv';
import { decodeMlflowInputs } from './mlflow-payload';

const nativeIndexOf = String.prototype.indexOf;
const csv = (text: string) => parseMlflowCsv(Buffer.from(text, 'utf8'));
const decoded = (text: string, specs: TensorSpec[], columns: string[] | null = null) => decodeMlflowInputs(csv(text), specs, columns).tensors;

describe('MLflow CSV bodies (text/csv)', () => {
  // A 32 MB body is read on the JSON codec thread that every big body waits for: a search to the end of the text for each
  // record (the next quote, the next LF) took minutes for a body whose only quote is in its last row, or whose quoted rows end in a CR.
  it.each([
    ['whose only quote is in its last row', `a,b\n${'1,2\n'.repeat(20_000)}1,"2"\n`, 20_001],
    ['of quoted rows ending in a CR, with a LF at the end', `a\n${'"1"\r'.repeat(20_000)}\n`, 20_000],
  ])('reads a body %s searching its text about once, not once per record', (_what, text, rows) => {
    let searched = 0;
    const indexOf = jest.spyOn(String.prototype, 'indexOf').mockImplementation(function (this: string, search: string, from = 0) {
      const at = nativeIndexOf.call(this, search, from);
      if (this.length === text.length) searched += (at < 0 ? this.length : at + 1) - from;
      return at;
    });
    try {
      expect(csv(text).rows).toHaveLength(rows);
    } finally {
      indexOf.mockRestore();
    }
    expect(searched).toBeLessThan(10 * text.length);
  });

  it('reads a header row of column names, then rows of text cells; an empty or missing field is a missing value', () => {
    expect(csv('a,b,c\n1,x,2.5\r\n4,,\n5\n')).toEqual({
      kind: 'dataframe',
      columns: ['a', 'b', 'c'],
      rows: [
        ['1', 'x', '2.5'],
        ['4', null, null],
        ['5', null, null],
      ],
      text: true,
    });
  });

  it('reads RFC 4180 quoting, a byte order mark, blank lines, and names a column without a header as pandas does', () => {
    expect(csv('\ufeff,"name, full","say ""hi"""\n\n0,"Smith, J","multi\nline"\n')).toEqual({
      kind: 'dataframe',
      columns: ['Unnamed: 0', 'name, full', 'say "hi"'],
      rows: [['0', 'Smith, J', 'multi\nline']],
      text: true,
    });
  });

  it('reads lines that end in a carriage return alone, as pandas does', () => {
    expect(csv('a,b\r1,2\r3,"x"\r')).toEqual({ kind: 'dataframe', columns: ['a', 'b'], rows: [['1', '2'], ['3', 'x']], text: true });
  });

  it('refuses (400) an empty body, a row longer than the header and an unterminated quote', () => {
    expect(() => csv('')).toThrow('The CSV body is empty');
    expect(() => csv('\n\n')).toThrow('The CSV body is empty');
    expect(() => csv('a,b\n1,2\n1,2,3\n')).toThrow("CSV row 2 has 3 fields for the header's 2 columns");
    expect(() => csv('a,b\n1,"2\n')).toThrow('The CSV body cannot be read at record 2: unterminated quoted field');
  });

  it('types each cell by the input it feeds: numbers for float inputs (pandas NA spellings missing), exact text for int64, booleans, strings as written', () => {
    const specs: TensorSpec[] = [
      { name: 'store', type: 'string', shape: ['N', 1] },
      { name: 'price', type: 'float32', shape: ['N', 1] },
      { name: 'units', type: 'int64', shape: ['N', 1] },
      { name: 'promo', type: 'bool', shape: ['N', 1] },
      { name: 'week', type: 'int32', shape: ['N', 1] },
    ];
    const [store, price, units, promo, week] = decoded('store,price,units,promo,week\n0042,1.5e1,9007199254740993,True,+7\nNA, NaN ,-3,false,8\n', specs);
    expect(store.data).toEqual(['0042', 'NA']);
    expect(Array.from(price.data as Float32Array)).toEqual([15, NaN]);
    expect(Array.from(units.data as BigInt64Array)).toEqual([9007199254740993n, -3n]);
    expect(Array.from(promo.data as Uint8Array)).toEqual([1, 0]);
    expect(Array.from(week.data as Int32Array)).toEqual([7, 8]);
  });

  it('feeds the columns of a single-input model as its feature matrix, in the signature order when it names them', () => {
    const tabular: TensorSpec[] = [{ name: 'float_input', type: 'float32', shape: ['N', 3] }];
    expect(Array.from(decoded('c,a,b\n3,1,2\n', tabular, ['a', 'b', 'c'])[0].data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(decoded('x,y,z\n1,,3\n', tabular)[0].data as Float32Array)).toEqual([1, NaN, 3]);
  });

  it('leaves a cell that is not of its input type as text, which the input check refuses naming the input', () => {
    const tabular: TensorSpec[] = [{ name: 'float_input', type: 'float32', shape: ['N', 2] }];
    expect(() => decoded('a,b\n1,abc\n', tabular)).toThrow(/Input 'float_input'.*"abc"/);
    expect(() => decoded('a,b\n1,2\n', [{ name: 'n', type: 'int32', shape: ['N', 2] }])).not.toThrow();
    expect(() => decoded('a,b\n1,2.5\n', [{ name: 'n', type: 'int32', shape: ['N', 2] }])).toThrow(/Input 'n'/);
    expect(() => decoded('a\nyes\n', [{ name: 'd', type: 'bool', shape: ['N', 1] }])).toThrow(/Input 'd'/);
  });

  it("says that 'Unnamed: 0' is pandas' index when it makes the column count wrong", () => {
    const tabular: TensorSpec[] = [{ name: 'float_input', type: 'float32', shape: ['N', 2] }];
    expect(() => decoded(',a,b\n0,1,2\n', tabular)).toThrow("takes 2 columns in order, the data frame has 3 (Unnamed: 0, a, b); 'Unnamed: 0' is the index pandas writes: leave it out with to_csv(index=False)");
  });
});
