/**
 * The setup page in a real headless Chromium (Debian's package, driven by
 * playwright-core): type an address, submit, read the table, switch the
 * language, follow the profile link, decode the QR code, and keep
 * screenshots at phone and desktop widths under test/output/.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { chromium, type Browser } from 'playwright-core';
import t, { type Test } from 'tap';
import { PROJECT_ROOT } from '../../src/paths.js';
import { startServer } from '../helpers/server.js';

// jsqr is CommonJS with a default export: take the function whichever way it arrives.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const CHROMIUM = process.env.CHROMIUM_BINARY ?? '/usr/bin/chromium';
const OUTPUT = join(PROJECT_ROOT, 'test', 'output');

async function main(t: Test): Promise<void> {
  const { url } = await startServer(t);
  mkdirSync(OUTPUT, { recursive: true });
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());

  t.test('type an address, submit, see the settings; switch language; follow the profile', async (t) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    await page.goto(`${url}/`);
    await page.getByLabel('E-mail address').fill('alice@example.com');
    await Promise.all([page.waitForURL(/\/setup\?/), page.getByRole('button', { name: 'Show settings' }).click()]);
    t.equal(await page.locator('h1').textContent(), 'Settings for alice@example.com');
    const firstRow = await page.locator('#settings tbody tr').first().locator('td').allTextContents();
    t.same(firstRow.map((c) => c.trim().replace(/\s+/g, ' ')), ['Incoming (preferred)', 'IMAP', 'imap.example.com', '993', 'SSL/TLS (implicit TLS)', 'normal password', 'alice@example.com']);
    const rows = await page.locator('#settings tbody tr').count();
    t.equal(rows, 4, 'IMAP, POP3 and two SMTP servers');
    t.equal(await page.locator('#client-tb h4.dav').innerText(), 'Calendars and contacts');
    t.match(await page.locator('#client-tb').innerText(), /New Calendar › On the Network\s+Location\s+https:\/\/dav\.example\.com\/calendars\/\s+Username\s+alice@example\.com/);
    t.ok(await page.locator('#client-apple h4.dav').isVisible(), 'the Apple section has it too');
    await page.screenshot({ path: join(OUTPUT, 'setup-desktop-en.png'), fullPage: true });

    await Promise.all([page.waitForURL(/lang=de/), page.getByRole('link', { name: 'Deutsch' }).click()]);
    t.equal(await page.locator('html').getAttribute('lang'), 'de');
    t.equal(await page.locator('h1').textContent(), 'Einstellungen für alice@example.com');
    t.match(await page.locator('#client-tb').textContent(), 'Passwort, normal');
    // Calendars and contacts, in German, as a person sees them.
    t.equal(await page.locator('#client-android h4.dav').innerText(), 'Kalender und Kontakte');
    t.match(await page.locator('#client-android').innerText(), /Mit URL und Benutzername anmelden[\s\S]*Basis-URL\s+https:\/\/dav\.example\.com\/calendars\//);
    t.match(await page.locator('#client-outlook').innerText(), 'weder CalDAV noch CardDAV');

    const href = await page.locator('#profile-link').getAttribute('href');
    t.ok(href, 'a profile link');
    const profile = await page.request.get(href!);
    t.equal(profile.status(), 200);
    t.equal(profile.headers()['content-type'], 'application/x-apple-aspen-config');

    // The QR code, as the phone camera would see it on screen.
    const png = PNG.sync.read(await page.locator('#profile-qr svg').screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
    t.equal(decoded?.data, href, 'the QR code decodes to the profile URL');
    await page.close();
  });

  t.test('phone width: no horizontal scrolling, labels on every field, screenshots', async (t) => {
    for (const language of ['en', 'de']) {
      const page = await browser.newPage({ viewport: { width: 360, height: 780 }, deviceScaleFactor: 2, locale: language });
      await page.goto(`${url}/setup?emailaddress=kunde%40b%C3%BCcher.example&lang=${language}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      t.ok(width <= 360, `${language}: page width ${width} px fits 360 px`);
      await page.screenshot({ path: join(OUTPUT, `setup-phone-${language}.png`), fullPage: true });
      await page.goto(`${url}/?lang=${language}`);
      const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden])')].filter((i) => !(i as HTMLInputElement).labels?.length).length);
      t.equal(unlabeled, 0, `${language}: every input has a label`);
      await page.screenshot({ path: join(OUTPUT, `index-phone-${language}.png`) });
      await page.close();
    }
  });

  t.test('a warning is visible: the hoster example\'s Thunderbird section says where the customer number goes', async (t) => {
    for (const [language, text] of [
      ['en', 'replace the Username “Enter your user name” with your customer number'],
      ['de', 'den Benutzernamen „Benutzernamen eintragen“ ersetzen durch Ihre Kundennummer'],
    ] as const) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: language });
      await page.goto(`${url}/setup?emailaddress=kunde%40b%C3%BCcher.example&lang=${language}`);
      const hint = page.locator('#client-tb p.auto');
      await hint.scrollIntoViewIfNeeded();
      t.ok(await hint.isVisible(), `${language}: the hint is visible`);
      t.match(await hint.innerText(), text, `${language}: where to type what`);
      t.notMatch(await page.locator('#client-tb').innerText(), /^Sets itself up:|^Richtet sich selbst ein:/m, `${language}: no plain "sets itself up"`);
      const warning = page.locator('#client-apple p.warning');
      t.ok(await warning.isVisible(), `${language}: Apple's warning is visible`);
      const box = await warning.boundingBox();
      t.ok(box !== null && box.height > 0 && box.width > 0, `${language}: the warning has a size on screen`);
      t.not(await warning.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgba(0, 0, 0, 0)', `${language}: the warning is highlighted`);
      await page.locator('#client-tb').screenshot({ path: join(OUTPUT, `setup-warning-${language}.png`) });
      await page.close();
    }
  });

  t.test('a malformed address shows the form again with the error next to the field', async (t) => {
    const page = await browser.newPage({ locale: 'de-DE' });
    await page.goto(`${url}/`);
    await page.getByLabel('E-Mail-Adresse').fill('kein-at-zeichen');
    await Promise.all([page.waitForURL(/\/setup\?/), page.getByRole('button', { name: 'Einstellungen anzeigen' }).click()]);
    t.equal(await page.locator('#emailaddress-error').textContent(), 'ungültige E-Mail-Adresse: in der E-Mail-Adresse fehlt das @');
    t.equal(await page.getByLabel('E-Mail-Adresse').inputValue(), 'kein-at-zeichen');
    await page.screenshot({ path: join(OUTPUT, 'index-error-de.png') });
    await page.close();
  });

  t.test('the page loads nothing from elsewhere and breaks no CSP rule', async (t) => {
    const page = await browser.newPage();
    const requests: string[] = [];
    const violations: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`${url}/setup?emailaddress=alice%40example.com`);
    t.same(requests.filter((r) => !r.startsWith(url)), [], 'only this origin');
    t.same(violations, []);
    const styled = await page.evaluate(() => getComputedStyle(document.querySelector('button, .button')!).backgroundColor);
    t.equal(styled, 'rgb(11, 92, 173)', 'the style sheet applied');
    await page.close();
  });
  writeFileSync(join(OUTPUT, 'README.txt'), 'Screenshots from test/clients/setup-page-browser.ts (not committed).\n');
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI) t.fail(`Chromium is not installed at ${CHROMIUM}`);
  else t.plan(0, `Chromium is not installed at ${CHROMIUM} (apt-get install chromium)`);
} else {
  t.test('the setup page in headless Chromium', main);
}
