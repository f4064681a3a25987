// Embedded Postgres started as root runs as the "postgres" user, which must be able to
// enter every directory above DATA_DIR. A 0700 folder on the way (a home, a mktemp -d) is
// found before start-up, and the error names it with the exact fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { untraversableAncestor, assertPostgresCanReach } from '../server/core/db/rootRun.ts';

const stranger = { uid: 54321, gid: 54321 };

test('a 0700 folder above DATA_DIR is found; a traversable chain is not', () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-root-'));
  try {
    fs.chmodSync(top, 0o711);
    const closed = path.join(top, 'home');
    fs.mkdirSync(path.join(closed, 'data'), { recursive: true, mode: 0o700 });
    fs.chmodSync(closed, 0o700);
    assert.equal(untraversableAncestor(path.join(closed, 'data', 'postgres'), stranger), closed);
    assert.equal(
      untraversableAncestor(path.join(closed, 'data', 'postgres'), { uid: fs.statSync(closed).uid, gid: 0 }),
      undefined,
      'its owner may',
    );
    fs.chmodSync(closed, 0o711);
    fs.chmodSync(path.join(closed, 'data'), 0o711);
    assert.equal(untraversableAncestor(path.join(closed, 'data', 'postgres'), stranger), undefined);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});

test(
  'as root, start-up under a mktemp -d folder fails with the directory and the fix',
  { skip: process.getuid?.() !== 0 },
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-root-'));
    try {
      fs.chmodSync(tmp, 0o700);
      assert.throws(
        () => assertPostgresCanReach(path.join(tmp, 'data')),
        (err: Error) =>
          err.message.includes(`cannot enter ${tmp} (mode 0700)`) &&
          err.message.includes(`chmod o+x ${tmp}`) &&
          err.message.includes('DATA_DIR=/var/lib/recorder'),
      );
      fs.chmodSync(tmp, 0o711);
      assert.doesNotThrow(() => assertPostgresCanReach(path.join(tmp, 'data')));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);
