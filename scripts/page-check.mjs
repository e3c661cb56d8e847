// Loads a page in headless Chromium (Playwright), as the release-page tests need it read:
//   node scripts/page-check.mjs URL SCREENSHOT_PREFIX
// Prints one JSON document: the page's title, landmarks, headings, every link (each fetched:
// HTTP status, bytes, sha256 computed here), the download rows (the size and sha256 the page
// shows), the axe-core violations, and whether a phone-width viewport scrolls sideways. Writes
// SCREENSHOT_PREFIX-desktop.png, -phone.png and a printed -print.pdf.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '.tools', 'package.json'));
const { chromium } = require('playwright-core');
const axePath = require.resolve('axe-core/axe.min.js');

const [url, shots] = process.argv.slice(2);
if (!url || !shots) {
  console.error('usage: page-check.mjs URL SCREENSHOT_PREFIX');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Only the page's own server: requests elsewhere (a theme's CDN) are refused at once, as a
  // machine without network would see them, instead of hanging until a timeout.
  const origin = new URL(url).origin;
  await context.route('**/*', (route) =>
    new URL(route.request().url()).origin === origin ? route.continue() : route.abort());
  const page = await context.newPage();
  const resp = await page.goto(url);
  // Redirect pages (docs aliases) move on by themselves: wait until the URL settles.
  let finalUrl = page.url();
  for (let i = 0; i < 20; i++) {
    await page.waitForLoadState('load').catch(() => {});
    await page.waitForTimeout(300);
    if (page.url() === finalUrl) break;
    finalUrl = page.url();
  }
  const dom = await page.evaluate(() => ({
    title: document.title,
    lang: document.documentElement.lang,
    scripts: document.scripts.length,
    landmarks: ['header', 'main', 'footer', 'nav'].filter((t) => document.querySelector(t)).sort(),
    h1: [...document.querySelectorAll('h1')].map((h) => h.textContent.trim()),
    links: [...document.querySelectorAll('a[href]')].map((a) => ({ href: a.href, text: a.textContent.trim() })),
    downloads: [...document.querySelectorAll('tr.download')].map((tr) => {
      const a = tr.querySelector('a[data-size]');
      return {
        href: a ? a.href : null,
        name: a ? a.textContent.trim() : null,
        shown_bytes: Number(tr.querySelector('.size')?.dataset.bytes),
        shown_size: tr.querySelector('.size')?.textContent.trim(),
        shown_sha256: tr.querySelector('code.sha256')?.textContent.trim(),
      };
    }),
    text: document.body.innerText,
  }));
  for (const link of dom.links) {
    if (new URL(link.href).origin !== origin) continue; // external (commit links): not fetched
    const r = await context.request.get(link.href);
    const body = await r.body();
    link.status = r.status();
    link.bytes = body.length;
    link.sha256 = createHash('sha256').update(body).digest('hex');
  }
  await page.screenshot({ path: `${shots}-desktop.png`, fullPage: true });
  await page.addScriptTag({ content: fs.readFileSync(axePath, 'utf8') });
  const axe = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  await page.emulateMedia({ media: 'print' });
  await page.pdf({ path: `${shots}-print.pdf` });
  const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, javaScriptEnabled: false });
  await phone.route('**/*', (route) =>
    new URL(route.request().url()).origin === origin ? route.continue() : route.abort());
  const p2 = await phone.newPage();
  await p2.goto(url);
  const phoneWidth = await p2.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  await p2.screenshot({ path: `${shots}-phone.png`, fullPage: true });
  console.log(JSON.stringify({ status: resp.status(), final_url: finalUrl, ...dom, axe, phone: phoneWidth }));
} finally {
  await browser.close();
}
