import { tiff } from './images.js';

/**
 * TIFF's LZW (compression 5) as libtiff writes it (tif_lzw.c): codes packed most significant bit first,
 * 256 clears the table, 257 ends, new codes from 258; the code width grows when the next free code
 * passes the widest the current width holds, and the table is cleared once it reaches 4094. Written here
 * because no encoder in node_modules writes LZW; the tests check it by decoding with relprop's decoder.
 */
export function lzw(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let pending = 0;
  let width = 9;
  const put = (code: number) => {
    pending = (pending << width) | code;
    bits += width;
    while (bits >= 8) {
      out.push((pending >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    pending &= (1 << bits) - 1;
  };
  let table = new Map<number, number>();
  let free = 258;
  let maxCode = 511;
  const added = () => {
    free++;
    if (free === 4094) {
      put(256);
      table = new Map();
      free = 258;
      width = 9;
      maxCode = 511;
    } else if (free > maxCode) {
      width++;
      maxCode = (1 << width) - 1;
    }
  };
  put(256);
  let prefix = -1;
  for (const byte of data) {
    if (prefix < 0) {
      prefix = byte;
      continue;
    }
    const key = prefix * 256 + byte;
    const known = table.get(key);
    if (known !== undefined) {
      prefix = known;
      continue;
    }
    put(prefix);
    table.set(key, free);
    prefix = byte;
    added();
  }
  if (prefix >= 0) {
    put(prefix);
    added();
  }
  put(257);
  if (bits > 0) out.push((pending << (8 - bits)) & 0xff);
  return Uint8Array.from(out);
}

/** An RGB picture (8 bits a sample, interleaved) as a one-strip LZW-compressed TIFF. */
export function lzwTiff(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const packed = lzw(rgb);
  return tiff(width, height, Array.from(packed), (e) => e.map((x) => (x.tag === 259 ? { ...x, values: [5] } : x)));
}
