// The dashboard's words for times, sizes and browsers (web-src/ui/format.ts): what the pages
// print where the API gives raw values. Pure functions, no browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ago, bytes, describeAgent, plural, zoneName } from '../web-src/ui/format.ts';

test('times in words: just now, minutes, hours and days, past and future', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  assert.equal(ago('2026-11-25T11:59:50Z', now), 'just now');
  assert.equal(ago('2026-11-25T11:55:00Z', now), '5 min ago');
  assert.equal(ago('2026-11-25T10:00:00Z', now), '2 hours ago');
  assert.equal(ago('2026-11-24T11:00:00Z', now), '1 day ago');
  assert.equal(ago('2026-12-02T12:00:00Z', now), 'in 7 days');
  assert.equal(ago('2026-11-26T11:59:00Z', now), 'in 1 day', 'not "in 24 hours"');
  assert.equal(ago('2026-11-26T09:00:00Z', now), 'in 21 hours');
});

test('sizes and counts', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(999), '999 B');
  assert.equal(bytes(23_456), '23 KB');
  assert.equal(bytes(1_500_000), '1.5 MB');
  assert.equal(bytes(2_000_000_000_000), '2.0 TB');
  assert.equal(plural(1, 'session'), '1 session');
  assert.equal(plural(3, 'session'), '3 sessions');
});

test('a user agent and a time zone in words', () => {
  const mac =
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
  assert.equal(describeAgent(mac), 'Chrome on macOS');
  assert.equal(
    describeAgent(
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1',
    ),
    'Safari on iOS',
  );
  assert.equal(
    describeAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'),
    'Firefox on Windows',
  );
  assert.equal(describeAgent(null), 'Unknown browser');
  assert.equal(describeAgent('node'), 'Unknown browser');
  assert.equal(zoneName('Europe/Berlin'), 'Berlin time zone');
  assert.equal(zoneName('America/New_York'), 'New York time zone');
  assert.equal(zoneName(null), null);
});
