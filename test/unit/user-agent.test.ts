import { describe, expect, it } from 'vitest';
import { describeUserAgent } from '../../src/identity/user-agent.ts';

describe('describeUserAgent', () => {
  it.each([
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', { browser: 'Chrome 131', os: 'macOS', kind: 'desktop' }],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', { browser: 'Safari 17', os: 'iOS 17', kind: 'mobile' }],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', { browser: 'Microsoft Edge 131', os: 'Windows', kind: 'desktop' }],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', { browser: 'Chrome 131', os: 'Android 14', kind: 'mobile' }],
  ])('names the browser, OS and device of %s', (ua, expected) => {
    expect(describeUserAgent(ua)).toEqual(expected);
  });

  it('says nothing rather than guessing for a missing or meaningless user agent', () => {
    for (const ua of [null, '', 'curl/8.5.0', '\u0000\u0001']) expect(describeUserAgent(ua)).toEqual({ browser: null, os: null, kind: null });
  });
});
