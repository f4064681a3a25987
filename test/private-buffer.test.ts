// The browser's stand-in for Node's Buffer (web-src/private/buffer.ts), which lets the page
// mux with lib/media: each method it offers returns what Node's returns and writes the same
// bytes, on values across the ranges the muxers use. (The end-to-end proof is the Chromium
// test's byte-identical download; this one names the method that broke.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Buffer as Shim } from '../web-src/private/buffer.ts';

const same = (a: Uint8Array, b: Uint8Array, what: string) => assert.deepEqual([...a], [...b], what);

test('alloc, from, concat and subarray behave as Node does', () => {
  same(Shim.alloc(7), Buffer.alloc(7), 'alloc zero-fills');
  same(Shim.allocUnsafe(5), Buffer.alloc(5), 'allocUnsafe zero-fills here');
  for (const s of ['OggS', 'OpusHead', 'RCK1', 'héllo → wörld', ''])
    for (const e of ['utf8', 'ascii'] as const)
      if (e === 'utf8' || [...s].every((ch) => ch.charCodeAt(0) < 0x80))
        same(Shim.from(s, e), Buffer.from(s, e), `from(${s}, ${e})`);
  same(Shim.from([1, 2, 255]), Buffer.from([1, 2, 255]), 'from(array)');
  const ab = new Uint8Array([9, 8, 7]).buffer;
  const view = Shim.from(ab);
  new Uint8Array(ab)[0] = 1;
  assert.equal(view[0], 1, 'from(ArrayBuffer) is a view');
  const parts = [randomBytes(5), randomBytes(0), randomBytes(9)];
  same(Shim.concat(parts), Buffer.concat(parts), 'concat');
  same(Shim.concat(parts, 7), Buffer.concat(parts, 7), 'concat with a total');
  const sub = Shim.from([1, 2, 3, 4]).subarray(1, 3);
  assert.ok(Shim.isBuffer(sub), 'subarray keeps the class');
  assert.equal(sub.readUInt16BE(0), 0x0203);
});

test('reads and writes return the same values, offsets and bytes', () => {
  const src = randomBytes(64);
  const s = Shim.from(src);
  for (let o = 0; o < 50; o += 7) {
    assert.equal(s.readUInt8(o), src.readUInt8(o));
    assert.equal(s.readUInt16BE(o), src.readUInt16BE(o));
    assert.equal(s.readUInt16LE(o), src.readUInt16LE(o));
    assert.equal(s.readUInt32BE(o), src.readUInt32BE(o));
    assert.equal(s.readBigUInt64BE(o), src.readBigUInt64BE(o));
  }
  const cases: [string, (b: Buffer | InstanceType<typeof Shim>) => number][] = [
    ['writeUInt8', (b) => b.writeUInt8(0xfe, 3)],
    ['writeUInt16BE', (b) => b.writeUInt16BE(0xbeef, 5)],
    ['writeUInt16LE', (b) => b.writeUInt16LE(0xbeef, 5)],
    ['writeInt16BE', (b) => b.writeInt16BE(-1234, 2)],
    ['writeInt16LE', (b) => b.writeInt16LE(-1234, 2)],
    ['writeUInt32BE', (b) => b.writeUInt32BE(0xdeadbeef, 4)],
    ['writeUInt32LE', (b) => b.writeUInt32LE(0xdeadbeef, 4)],
    ['writeBigUInt64BE', (b) => b.writeBigUInt64BE(0x0123456789abcdefn, 8)],
    ['writeBigInt64BE', (b) => b.writeBigInt64BE(-5n, 8)],
    ['writeDoubleBE', (b) => b.writeDoubleBE(3600.125, 1)],
    ['writeUIntBE 1', (b) => b.writeUIntBE(0x1a, 0, 1)],
    ['writeUIntBE 4', (b) => b.writeUIntBE(0x1a45dfa3, 2, 4)],
    ['writeUIntBE 6', (b) => b.writeUIntBE(2 ** 42 + 12345, 1, 6)],
    ['write ascii', (b) => b.write('OggS', 3, 'ascii')],
    ['write utf8', (b) => b.write('→x', 1, 'utf8')],
  ];
  for (const [name, fn] of cases) {
    const n = Buffer.alloc(24);
    const b = Shim.alloc(24);
    assert.equal(fn(b), fn(n), `${name} returns the same`);
    same(b, n, `${name} writes the same bytes`);
  }
  const from = Shim.from([1, 2, 3, 4, 5]);
  const into = Shim.alloc(4);
  const nodeInto = Buffer.alloc(4);
  assert.equal(from.copy(into, 1, 2), Buffer.from([1, 2, 3, 4, 5]).copy(nodeInto, 1, 2));
  same(into, nodeInto, 'copy');
  assert.equal(Shim.from('RCK1', 'ascii').equals(Shim.from([82, 67, 75, 49])), true);
  assert.equal(Shim.from('héllo', 'utf8').toString('utf8', 1, 3), Buffer.from('héllo', 'utf8').toString('utf8', 1, 3));
});
