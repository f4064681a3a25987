// The sign-in list names devices from their User-Agent headers: real headers of current
// browsers, the lookalikes that also say "Chrome" and "Safari", and junk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTimeZone, parseUserAgent, timeZonePlace } from '../lib/userAgent.ts';

const CASES: [string, string][] = [
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Chrome on macOS',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    'Edge on Windows',
  ],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox on Linux'],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    'Safari on macOS',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    'Safari on iOS',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
    'Chrome on iOS',
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
    'Samsung Internet on Android',
  ],
  [
    'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    'Chrome on Android',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/114.0.0.0',
    'Opera on Windows',
  ],
  [
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Chrome on ChromeOS',
  ],
  [
    'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    'Safari on iPadOS',
  ],
  ['curl/8.5.0', 'curl'],
  ['Mozilla/5.0 (X11; Linux x86_64) SomethingNew/1.0', 'Unknown browser on Linux'],
  ['', 'Unknown browser'],
  ['\u0000<script>', 'Unknown browser'],
];

test('user agents are named "Browser on OS"', () => {
  for (const [ua, device] of CASES) assert.equal(parseUserAgent(ua).device, device, ua);
  assert.deepEqual(parseUserAgent(null), { browser: null, os: null, device: 'Unknown browser' });
  assert.deepEqual(parseUserAgent(CASES[0]?.[0]), { browser: 'Chrome', os: 'macOS', device: 'Chrome on macOS' });
});

test('time zones: IANA names pass, anything else does not; the place is the city', () => {
  for (const z of ['Europe/Berlin', 'America/New_York', 'UTC', 'America/Argentina/Buenos_Aires'])
    assert.equal(isTimeZone(z), true, z);
  for (const z of ['Mars/Olympus', 'Europe/Berlin; drop', '', '../etc', 'x'.repeat(80), 'Europe//Berlin'])
    assert.equal(isTimeZone(z), false, z);
  assert.equal(timeZonePlace('America/New_York'), 'New York');
  assert.equal(timeZonePlace('UTC'), null);
  assert.equal(timeZonePlace(null), null);
});
