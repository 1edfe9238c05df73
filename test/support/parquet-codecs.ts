import * as zlib from 'node:zlib';
import { init as initZstd, compress as zstdCompress } from '@bokuweb/zstd-wasm';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** Codecs the tests write Parquet with; LZO_MISLABELLED stores pages as they are but says LZO in the footer. */
export type TestCodec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'ZSTD' | 'BROTLI' | 'LZO_MISLABELLED';

type Compress = (input: Uint8Array) => Uint8Array;
type ColumnData = Parameters<typeof parquetWriteBuffer>[0]['columnData'];

let zstdReady: Promise<void> | null = null;

/**
 * A Parquet file whose pages are compressed with `codec`. hyparquet-writer writes any codec
 * given a compressor: gzip and brotli come from node:zlib, zstd (not in Node 20's zlib) from
 * the reference C library compiled to wasm (@bokuweb/zstd-wasm), so the bytes are what
 * pyarrow or Spark would write.
 */
export async function parquetWithCodec(columnData: ColumnData, codec: TestCodec, rowGroupSize = 700): Promise<Buffer> {
  zstdReady ??= initZstd();
  await zstdReady;
  const compressors: Record<string, Compress> = {
    GZIP: (b) => zlib.gzipSync(b),
    BROTLI: (b) => zlib.brotliCompressSync(b),
    ZSTD: (b) => zstdCompress(b, 3),
    LZO: (b) => b,
  };
  const written = codec === 'LZO_MISLABELLED' ? 'LZO' : codec;
  return Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize, codec: written, compressors } as Parameters<typeof parquetWriteBuffer>[0]));
}

/** The codec each column chunk of a Parquet file's footer names (to check what a test wrote). */
export function codecsOf(bytes: Buffer): string[] {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const meta = parquetMetadata(ab);
  return [...new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec ?? '?')))];
}
