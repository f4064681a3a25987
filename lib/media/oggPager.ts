/**
 * Ogg pages (RFC 3533): packets are cut into lacing segments and grouped into pages, each
 * with a granule position and a CRC-32 (polynomial 0x04c11db7, no reflection, initial and
 * final value 0). The pager always holds the newest page back until more data comes, so the
 * stream's last page can carry the end-of-stream flag.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let b = 0; b < 8; b++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** The Ogg CRC-32 of `buf`. */
export function oggCrc(buf: Uint8Array): number {
  let crc = 0;
  for (const byte of buf) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] ?? 0)) >>> 0;
  return crc;
}

const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;

/** Options for {@link OggPager}. */
export interface OggPagerOptions {
  /** Bitstream serial number. */
  serial: number;
  /** A page is closed once it holds this many bytes (default 8192). */
  pageBytes?: number;
  /** A page is closed once its packets span this many granule units (default 48000: 1 s). */
  pageGranules?: number;
}

/** Builds the pages of one logical Ogg bitstream. */
export class OggPager {
  readonly #serial: number;
  readonly #pageBytes: number;
  readonly #pageGranules: number;
  #sequence = 0;
  #lacing: number[] = [];
  #data: Buffer[] = [];
  #dataBytes = 0;
  #granule = -1n;
  #pageStartGranule: bigint | undefined;
  #continued = false;
  #closeBeforeNext = false;
  #held: Buffer | undefined;
  #out: Buffer[] = [];

  constructor(opts: OggPagerOptions) {
    this.#serial = opts.serial >>> 0;
    this.#pageBytes = opts.pageBytes ?? 8192;
    this.#pageGranules = opts.pageGranules ?? 48000;
  }

  /**
   * Adds one packet whose last sample has granule position `granule`.
   * `alone`: the packet gets a page of its own (the Ogg Opus headers need that).
   */
  packet(data: Buffer, granule: bigint, alone = false): void {
    if (this.#closeBeforeNext || this.#lacing.length === 255 || (alone && this.#lacing.length > 0)) this.#close();
    this.#pageStartGranule ??= granule;
    let offset = 0;
    for (;;) {
      const seg = Math.min(255, data.length - offset);
      this.#lacing.push(seg);
      this.#data.push(data.subarray(offset, offset + seg));
      this.#dataBytes += seg;
      offset += seg;
      if (seg < 255) break;
      if (this.#lacing.length === 255) {
        // The packet goes on in the next page.
        this.#close();
        this.#continued = true;
      }
    }
    this.#granule = granule;
    this.#closeBeforeNext =
      alone ||
      this.#dataBytes >= this.#pageBytes ||
      granule - (this.#pageStartGranule ?? granule) >= BigInt(this.#pageGranules);
  }

  /** Pages completed so far, ready to send (the newest is held back for the EOS flag). */
  take(): Buffer[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** Closes the stream: the final page gets the EOS flag. Returns the remaining pages. */
  end(): Buffer[] {
    if (this.#lacing.length > 0 || !this.#held) this.#close();
    const last = this.#held;
    this.#held = undefined;
    if (last) {
      last[5] = (last[5] ?? 0) | FLAG_EOS;
      last.writeUInt32LE(0, 22);
      last.writeUInt32LE(oggCrc(last), 22);
      this.#out.push(last);
    }
    return this.take();
  }

  #close(): void {
    const count = this.#lacing.length;
    const page = Buffer.alloc(27 + count + this.#dataBytes);
    page.write('OggS', 0, 'ascii');
    page[4] = 0;
    page[5] = (this.#continued ? FLAG_CONTINUED : 0) | (this.#sequence === 0 ? FLAG_BOS : 0);
    // Granule of the last packet completed on this page; -1 when none is.
    page.writeBigInt64LE(this.#granule, 6);
    page.writeUInt32LE(this.#serial, 14);
    page.writeUInt32LE(this.#sequence++, 18);
    page[26] = count;
    for (let i = 0; i < count; i++) page[27 + i] = this.#lacing[i] ?? 0;
    let o = 27 + count;
    for (const d of this.#data) o += d.copy(page, o);
    page.writeUInt32LE(oggCrc(page), 22);
    if (this.#held) this.#out.push(this.#held);
    this.#held = page;
    this.#lacing = [];
    this.#data = [];
    this.#dataBytes = 0;
    this.#continued = false;
    this.#closeBeforeNext = false;
    this.#pageStartGranule = undefined;
    this.#granule = -1n;
  }
}
