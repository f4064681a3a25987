/**
 * A reusable in-memory byte store of bounded size: bytes are copied into blocks that are
 * allocated once and kept for the next use. The export holds one muxed track in it to learn
 * the track's size for its tar header without a second pass, and reuses the same memory for
 * the next track, so memory stays flat however many tracks an org has.
 */

const BLOCK = 1024 * 1024;

export class Arena {
  readonly #limit: number;
  readonly #blocks: Buffer[] = [];
  #length = 0;

  /** @param limit the most bytes it holds; {@link append} refuses more. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Forgets the contents (the blocks stay, for the next use). The caller must be done with every slice. */
  reset(): void {
    this.#length = 0;
  }

  /** Copies `data` in; false (and nothing copied) when it would pass the limit. */
  append(data: Uint8Array): boolean {
    if (this.#length + data.length > this.#limit) return false;
    let off = 0;
    while (off < data.length) {
      const index = Math.floor(this.#length / BLOCK);
      const at = this.#length % BLOCK;
      const block = this.#blocks[index] ?? this.#grow();
      const n = Math.min(BLOCK - at, data.length - off);
      block.set(off === 0 && n === data.length ? data : data.subarray(off, off + n), at);
      off += n;
      this.#length += n;
    }
    return true;
  }

  /** The contents as views into the blocks, in order (valid until the next reset). */
  slices(): Buffer[] {
    const out: Buffer[] = [];
    for (let left = this.#length, i = 0; left > 0; i++) {
      const block = this.#blocks[i];
      if (!block) break;
      out.push(block.subarray(0, Math.min(BLOCK, left)));
      left -= BLOCK;
    }
    return out;
  }

  #grow(): Buffer {
    const block = Buffer.allocUnsafe(BLOCK);
    this.#blocks.push(block);
    return block;
  }
}
