import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import cookieParser from 'cookie-parser';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { acceptedLanguages, createI18n } from '../../src/http/i18n.ts';

const LOCALES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../locales');

describe('acceptedLanguages', () => {
  it('orders the tags by q, keeping the header order among equals, and drops q=0 and *', () => {
    expect(acceptedLanguages('fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5')).toEqual(['fr-CH', 'fr', 'en', 'de']);
    expect(acceptedLanguages('en;q=0.5, zh-CN')).toEqual(['zh-CN', 'en']);
    expect(acceptedLanguages('zh-CN;q=0, en')).toEqual(['en']);
    expect(acceptedLanguages('de, en')).toEqual(['de', 'en']);
  });

  it('survives malformed headers without throwing', () => {
    for (const h of ['', ',,,', ';q=1', 'en;q=abc', 'en;q=2', 'x'.repeat(5000)]) expect(() => acceptedLanguages(h)).not.toThrow();
    expect(acceptedLanguages('en;q=abc')).toEqual(['en']);
  });
});

describe('the language of a request', () => {
  const app = express();
  app.use(cookieParser());
  app.set('query parser', 'simple');
  app.use(createI18n(LOCALES, false).middleware);
  app.get('/', (req, res) => res.json({ locale: req.locale, greeting: res.locals.t('login.heading') }));
  const get = (q = '', headers: Record<string, string> = {}) => request(app).get(`/${q}`).set(headers);

  it('takes ?lang= first, then the cookie, then Accept-Language, else English', async () => {
    expect((await get('?lang=zh-CN', { Cookie: 'gh_lang=en', 'Accept-Language': 'en' })).body.locale).toBe('zh-CN');
    expect((await get('', { Cookie: 'gh_lang=zh-CN', 'Accept-Language': 'en' })).body.locale).toBe('zh-CN');
    expect((await get('', { 'Accept-Language': 'de;q=0.9, zh-TW;q=0.8, en;q=0.1' })).body.locale).toBe('zh-CN');
    expect((await get()).body).toEqual({ locale: 'en', greeting: 'Sign in' });
  });

  it('passes over what it does not speak to the next source, and remembers a chosen language in a cookie', async () => {
    const res = await get('?lang=fr', { Cookie: 'gh_lang=zh-CN' });
    expect(res.body.locale).toBe('zh-CN');
    expect(res.headers['set-cookie']).toBeUndefined();
    const chosen = await get('?lang=zh-CN');
    expect(chosen.body.greeting).toBe('登录');
    expect(String(chosen.headers['set-cookie'])).toMatch(/^gh_lang=zh-CN;.*HttpOnly/);
    expect(chosen.headers['content-language']).toBe('zh-CN');
  });

  it('answers the same for the same Accept-Language many times over (the memo is bounded)', async () => {
    for (let i = 0; i < 600; i++) expect((await get('', { 'Accept-Language': `x-${i}, zh;q=0.5` })).body.locale).toBe('zh-CN');
    expect((await get('', { 'Accept-Language': 'x-1, zh;q=0.5' })).body.locale).toBe('zh-CN');
  });
});
