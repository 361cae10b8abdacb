/**
 * `npx tsx scripts/shoot-account.ts [path ...]`: signs a user up in Chromium and
 * saves a desktop and a phone screenshot of each personal-center page given
 * (default: every page of the menu) to /tmp/gatehouse-shots/, English and Chinese.
 * A quick look while working on views; scripts/screenshots.ts makes the docs' set.
 */
import { mkdirSync } from 'node:fs';
import { ACCOUNT_NAV } from '../src/http/account.ts';
import { launchChromium, startStack } from '../test/helpers/stack.ts';

const OUT = '/tmp/gatehouse-shots';
mkdirSync(OUT, { recursive: true });
const paths = process.argv.slice(2).length ? process.argv.slice(2) : ACCOUNT_NAV.map((n) => n.href);
const stack = await startStack({ nodeEnv: 'development' });
const browser = await launchChromium();
try {
  for (const [device, viewport] of [['desktop', { width: 1280, height: 860 }], ['phone', { width: 390, height: 844 }]] as const) {
    const context = await browser.newContext({ viewport, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${stack.gatehouseUrl}/signup`);
    await page.getByLabel('Email').fill(`shot-${device}@example.com`);
    await page.getByLabel('First name').fill('Ada');
    await page.getByLabel('Last name').fill('Lovelace');
    await page.getByLabel('Password').fill('violet-harbor-lantern-42');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${stack.gatehouseUrl}/account`);
    for (const lang of ['en', 'zh-CN']) {
      for (const p of paths) {
        await page.goto(`${stack.gatehouseUrl}${p}${p.includes('?') ? '&' : '?'}lang=${lang}`);
        const file = `${OUT}/${p.replace(/^\//, '').replace(/[/?=&]/g, '-')}-${lang}-${device}.png`;
        await page.screenshot({ path: file, fullPage: true });
        console.log(file);
      }
    }
    await context.close();
  }
} finally {
  await browser.close();
  await stack.stop();
}
