import type { Readable } from 'node:stream';

/**
 * A minimal POSIX ustar writer for the player archives (workers/privacy.ts): regular files only,
 * names cut to fit the 100-byte name field (the archive's own names are short and ASCII-safe).
 * Each entry's size must be known before its body, as tar puts it in the header.
 */
export interface TarEntry {
  name: string;
  size: number;
  body: Readable;
}

const BLOCK = 512;

/** A file name safe inside the archive: no path separators or control characters, at most 100 bytes. */
export function safeName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes.
  const clean = name.replace(/[\u0000-\u001f\u007f\\]/g, '_').replace(/\.\.+/g, '.');
  let out = clean;
  while (Buffer.byteLength(out) > 100) out = out.slice(0, -1);
  return out;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

export function tarHeader(name: string, size: number, mtime = Math.floor(Date.now() / 1000)): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(safeName(name), 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(mtime, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii'); // checksum counts as spaces while it is computed
  h.write('0', 156, 1, 'ascii');
  h.write('ustar\u000000', 257, 8, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** The archive's bytes, entry by entry; a body longer or shorter than its size is an error. */
export async function* tarEntries(entries: AsyncIterable<TarEntry>): AsyncGenerator<Buffer> {
  for await (const e of entries) {
    yield tarHeader(e.name, e.size);
    let seen = 0;
    for await (const chunk of e.body) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      seen += b.length;
      if (seen > e.size) throw new Error(`${e.name}: longer than its ${e.size} bytes`);
      yield b;
    }
    if (seen !== e.size) throw new Error(`${e.name}: ${seen} bytes, expected ${e.size}`);
    const pad = (BLOCK - (e.size % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad, 0);
  }
  yield Buffer.alloc(BLOCK * 2, 0);
}
