/**
 * A POSIX ustar archive assembled from Blobs in the page: each file is a 512-byte header,
 * its Blob, zero padding to 512 bytes; two zero blocks end it. The archive is itself a Blob
 * made of those parts, so no file is copied into the page's memory to build it.
 */

/** One file of the archive. */
export interface TarFile {
  name: string;
  blob: Blob;
  mtime: Date;
}

const enc = new TextEncoder();

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mtime: Date): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(512);
  const put = (text: string, at: number, max: number) => h.set(enc.encode(text).subarray(0, max), at);
  const bytes = enc.encode(name);
  // Names over 100 bytes go into the ustar prefix (at a slash); the archive's names are short.
  let base = name;
  let prefix = '';
  if (bytes.length > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  put(base, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12);
  put('        ', 148, 8); // checksum field counts as spaces while summing
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  const sum = h.reduce((a, b) => a + b, 0);
  put(octal(sum, 7) + ' ', 148, 8);
  return h;
}

/** The archive of `files`, in order, as one Blob (`application/x-tar`). */
export function tarBlob(files: readonly TarFile[]): Blob {
  const parts: BlobPart[] = [];
  for (const f of files) {
    parts.push(header(f.name, f.blob.size, f.mtime), f.blob);
    const pad = (512 - (f.blob.size % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(1024));
  return new Blob(parts, { type: 'application/x-tar' });
}
