// The signalling schemas shared by the SFU and the browser (lib/signaling/messages.ts): every
// malformed frame gets a stable code and a message naming the field, and valid ones pass
// with their data narrowed to the method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest, shouldReconnect, CLOSE_CODES } from '../lib/signaling/messages.ts';

test('valid requests pass with their data', () => {
  const r = parseRequest({ id: 7, method: 'createTransport', data: { direction: 'send' } });
  assert.ok(r.ok);
  assert.equal(r.id, 7);
  assert.deepEqual(r.request, { method: 'createTransport', data: { direction: 'send' } });
  const s = parseRequest({ id: 'a', method: 'startRecording' });
  assert.ok(s.ok, 'data defaults to {}');
});

test('malformed frames are refused with a code and the field named, keeping the id', () => {
  const cases: [unknown, string, RegExp, number | string | null][] = [
    [null, 'invalid_message', /message/, null],
    [[1, 2], 'invalid_message', /.+/, null],
    [{ method: 'join', data: {} }, 'invalid_message', /id/, null],
    [{ id: 1, method: 'teleport' }, 'unknown_method', /teleport/, 1],
    [{ id: 2, method: 'createTransport', data: { direction: 'sideways' } }, 'invalid_message', /direction/, 2],
    [{ id: 3, method: 'produce', data: { transportId: 't', kind: 'audio' } }, 'invalid_message', /rtpParameters/, 3],
    [{ id: 4, method: 'removePeer', data: { peerId: 'not-a-uuid' } }, 'invalid_message', /peerId/, 4],
    [{ id: 5, method: 'join', data: { token: 5 } }, 'invalid_message', /token/, 5],
    [{ id: 6, method: 'join', data: 'token' }, 'invalid_message', /data/, 6],
    [{ id: 'x'.repeat(100), method: 'join' }, 'invalid_message', /id/, 'x'.repeat(100)],
  ];
  for (const [frame, code, message, id] of cases) {
    const r = parseRequest(frame);
    assert.equal(r.ok, false, JSON.stringify(frame));
    if (r.ok) continue;
    assert.equal(r.code, code, JSON.stringify(frame));
    assert.match(r.message, message, JSON.stringify(frame));
    assert.equal(r.id, id);
  }
});

test('clients reconnect unless the session ended, they were removed or replaced (and at once when it moved)', () => {
  for (const code of [1001, 1006, 1011, 1000, CLOSE_CODES.moved])
    assert.equal(shouldReconnect(code), true, String(code));
  for (const code of [CLOSE_CODES.sessionEnded, CLOSE_CODES.removed, CLOSE_CODES.replaced])
    assert.equal(shouldReconnect(code), false, String(code));
});
