/**
 * Ogg pages (RFC 3533): packets are cut into lacing segments and grouped into pages, each
 * with a granule position and a CRC-32 (polynomial 0x04c11db7, no reflection, initial and
 * final value 0). The pager always holds the newest page back until more data comes, so the
 * stream's last page can carry the end-of-stream flag.
 *
 * Built for throughput (an export muxes gigabytes): a packet's bytes are copied once, straight
 * into the page in an output buffer that collects every page completed between two
 * {@link OggPager.take} calls, and the CRC runs sixteen bytes a step (slice-by-16). With
 * `countOnly` the pager writes nothing and only adds up the bytes it would have written:
 * the exact size of the stream, for a tar header, at a fraction of the cost.
 */

/**
 * CRC tables for slice-by-16, in one flat array: entries [256k, 256k+256) are the byte-wise
 * table advanced by k more zero bytes (k = 0…15).
 */
const T = (() => {
  const t = new Int32Array(256 * 16);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r;
  }
  for (let k = 1; k < 16; k++)
    for (let i = 0; i < 256; i++) {
      const v = t[(k - 1) * 256 + i] ?? 0;
      t[k * 256 + i] = (v << 8) ^ (t[v >>> 24] ?? 0);
    }
  return t;
})();

/**
 * The Ogg CRC-32 of `buf[start, end)` (default: all of it), 16 bytes a step. Every index is
 * in range by construction, hence the `!`s: `?? 0` on each costs a third of the speed.
 */
export function oggCrc(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  let i = start;
  for (const stop = end - 15; i < stop; i += 16) {
    crc ^= (buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!;
    crc =
      T[3840 + (crc >>> 24)]! ^
      T[3584 + ((crc >>> 16) & 0xff)]! ^
      T[3328 + ((crc >>> 8) & 0xff)]! ^
      T[3072 + (crc & 0xff)]! ^
      T[2816 + buf[i + 4]!]! ^
      T[2560 + buf[i + 5]!]! ^
      T[2304 + buf[i + 6]!]! ^
      T[2048 + buf[i + 7]!]! ^
      T[1792 + buf[i + 8]!]! ^
      T[1536 + buf[i + 9]!]! ^
      T[1280 + buf[i + 10]!]! ^
      T[1024 + buf[i + 11]!]! ^
      T[768 + buf[i + 12]!]! ^
      T[512 + buf[i + 13]!]! ^
      T[256 + buf[i + 14]!]! ^
      T[buf[i + 15]!]!;
  }
  for (; i < end; i++) crc = (crc << 8) ^ T[((crc >>> 24) ^ buf[i]!) & 0xff]!;
  return crc >>> 0;
}

const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;
const TWO_32 = 2 ** 32;
/** Output buffers are allocated this large, and handed out in slices. */
const MIN_OUT = 1024 * 1024;
/** The largest page: 27 header bytes, 255 lacing values, 255 segments of 255 bytes. */
const MAX_PAGE = 27 + 255 + 255 * 255;

/** Options for {@link OggPager}. */
export interface OggPagerOptions {
  /** Bitstream serial number. */
  serial: number;
  /** A page is closed once it holds this many bytes (default 8192). */
  pageBytes?: number;
  /** A page is closed once its packets span this many granule units (default 48000: 1 s). */
  pageGranules?: number;
  /**
   * Only count the bytes: {@link OggPager.take} and {@link OggPager.end} return empty buffers,
   * {@link OggPager.bytes} the total.
   */
  countOnly?: boolean;
  /**
   * The buffer {@link OggPager.take} returns is only read until the next call to `packet`,
   * `take` or `end` (the caller copies it: an export into its arena), so the pager writes every
   * page into one buffer, reused throughout, rather than allocating more. Default false:
   * each buffer returned stays the caller's.
   */
  transient?: boolean;
}

/** Builds the pages of one logical Ogg bitstream. */
export class OggPager {
  readonly #serial: number;
  readonly #pageBytes: number;
  readonly #pageGranules: number;
  readonly #countOnly: boolean;
  readonly #transient: boolean;
  /** Transient: bytes at the front of #out handed out by take(), to drop before the next write. */
  #taken = 0;
  #sequence = 0;
  /** The open page: lacing values, and the pieces of packets (buffer, start, end) it holds. */
  readonly #lacing = new Uint8Array(255);
  #segments = 0;
  #pieces: Uint8Array[] = [];
  #starts: number[] = [];
  #ends: number[] = [];
  #dataBytes = 0;
  #granule = -1;
  #pageStartGranule: number | undefined;
  #continued = false;
  #closeBeforeNext = false;
  /** Completed pages since the last take(), the newest of them (from #heldAt) held back. */
  #out: Buffer = Buffer.alloc(0);
  #outLength = 0;
  #heldAt = -1;
  #bytes = 0;

  constructor(opts: OggPagerOptions) {
    this.#serial = opts.serial >>> 0;
    this.#pageBytes = opts.pageBytes ?? 8192;
    this.#pageGranules = opts.pageGranules ?? 48000;
    this.#countOnly = opts.countOnly ?? false;
    this.#transient = opts.transient ?? false;
  }

  /** Bytes of all pages closed so far (the held one included). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Adds one packet whose last sample has granule position `granule` (a non-negative
   * integer). The pager keeps a reference to `data` until the page closes: do not change it.
   * `alone`: the packet gets a page of its own (the Ogg Opus headers need that).
   */
  packet(data: Uint8Array, granule: number, alone = false): void {
    if (this.#closeBeforeNext || this.#segments === 255 || (alone && this.#segments > 0)) this.#close();
    this.#pageStartGranule ??= granule;
    let offset = 0;
    for (;;) {
      // As many segments as fit in this page: 255-byte ones, then the short one that ends the packet.
      const room = 255 - this.#segments;
      const left = data.length - offset;
      const full = Math.floor(left / 255);
      if (full < room) {
        for (let i = 0; i < full; i++) this.#lacing[this.#segments++] = 255;
        this.#lacing[this.#segments++] = left - full * 255;
        this.#piece(data, offset, data.length);
        break;
      }
      // The page fills up with 255-byte segments: the packet goes on in the next page.
      for (let i = 0; i < room; i++) this.#lacing[this.#segments++] = 255;
      this.#piece(data, offset, offset + room * 255);
      offset += room * 255;
      this.#close();
      this.#continued = true;
    }
    this.#granule = granule;
    this.#closeBeforeNext =
      alone ||
      this.#dataBytes >= this.#pageBytes ||
      granule - (this.#pageStartGranule ?? granule) >= this.#pageGranules;
  }

  /** Pages completed so far, ready to send, as one buffer (the newest page is held back for the EOS flag). */
  take(): Buffer {
    this.#dropTaken();
    if (this.#heldAt <= 0) return EMPTY;
    const done = this.#out.subarray(0, this.#heldAt);
    if (this.#transient) {
      // The held page moves to the front once the caller is done with `done` (the next write).
      this.#taken = this.#heldAt;
      return done;
    }
    // The rest of the buffer becomes the next one (the caller owns `done`; nothing is written
    // before its end), the held page moved to its front: one allocation per MIN_OUT of
    // output rather than one per take.
    const held = this.#out.subarray(this.#heldAt, this.#outLength);
    const rest = this.#out.subarray(this.#outLength);
    this.#out = rest.length >= held.length + 2 * MAX_PAGE ? rest : Buffer.allocUnsafe(MIN_OUT);
    held.copy(this.#out, 0);
    this.#outLength = held.length;
    this.#heldAt = 0;
    return done;
  }

  /** Closes the stream: the final page gets the EOS flag. Returns the remaining pages. */
  end(): Buffer {
    this.#dropTaken();
    if (this.#segments > 0 || this.#heldAt < 0) this.#close();
    if (this.#countOnly) return EMPTY;
    const page = this.#out.subarray(this.#heldAt, this.#outLength);
    page[5] = (page[5] ?? 0) | FLAG_EOS;
    page.writeUInt32LE(0, 22);
    page.writeUInt32LE(oggCrc(page), 22);
    const out = this.#out.subarray(0, this.#outLength);
    this.#out = Buffer.alloc(0);
    this.#outLength = 0;
    this.#heldAt = -1;
    return out;
  }

  #piece(data: Uint8Array, start: number, end: number): void {
    this.#dataBytes += end - start;
    if (this.#countOnly) return;
    this.#pieces.push(data);
    this.#starts.push(start);
    this.#ends.push(end);
  }

  #close(): void {
    const count = this.#segments;
    const size = 27 + count + this.#dataBytes;
    this.#bytes += size;
    const first = this.#sequence === 0;
    this.#sequence++;
    if (this.#countOnly) {
      this.#heldAt = 0;
    } else {
      this.#reserve(size);
      const out = this.#out;
      const at = this.#outLength;
      out.write('OggS', at, 'ascii');
      out[at + 4] = 0;
      out[at + 5] = (this.#continued ? FLAG_CONTINUED : 0) | (first ? FLAG_BOS : 0);
      // Granule of the last packet completed on this page; -1 when none is.
      const g = this.#granule;
      out.writeUInt32LE(g < 0 ? 0xffffffff : g % TWO_32, at + 6);
      out.writeUInt32LE(g < 0 ? 0xffffffff : Math.floor(g / TWO_32), at + 10);
      out.writeUInt32LE(this.#serial, at + 14);
      out.writeUInt32LE(this.#sequence - 1, at + 18);
      out.writeUInt32LE(0, at + 22);
      out[at + 26] = count;
      out.set(count === 255 ? this.#lacing : this.#lacing.subarray(0, count), at + 27);
      let o = at + 27 + count;
      const pieces = this.#pieces;
      for (let i = 0; i < pieces.length; i++) {
        const start = this.#starts[i] ?? 0;
        const end = this.#ends[i] ?? 0;
        const piece = pieces[i] as Uint8Array;
        out.set(start === 0 && end === piece.length ? piece : piece.subarray(start, end), o);
        o += end - start;
      }
      out.writeUInt32LE(oggCrc(out, at, at + size), at + 22);
      this.#heldAt = at;
      this.#outLength = at + size;
      this.#pieces.length = 0;
      this.#starts.length = 0;
      this.#ends.length = 0;
    }
    this.#segments = 0;
    this.#dataBytes = 0;
    this.#continued = false;
    this.#closeBeforeNext = false;
    this.#pageStartGranule = undefined;
    this.#granule = -1;
  }

  /** Transient: forgets the pages take() handed out, moving the held page to the front. */
  #dropTaken(): void {
    const taken = this.#taken;
    if (taken === 0) return;
    this.#out.copyWithin(0, taken, this.#outLength);
    this.#outLength -= taken;
    this.#heldAt -= taken;
    this.#taken = 0;
  }

  /** Room for `size` more bytes in the output buffer. */
  #reserve(size: number): void {
    this.#dropTaken();
    if (this.#outLength + size <= this.#out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(MIN_OUT, (this.#outLength + size) * 2));
    this.#out.copy(bigger, 0, 0, this.#outLength);
    this.#out = bigger;
  }
}

const EMPTY = Buffer.alloc(0);
