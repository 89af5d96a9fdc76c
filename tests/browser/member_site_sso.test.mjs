// Single sign-on with the member site, in a real browser across two sites: the bridge on
// http://localhost:PORT and the demo's simulated iMIS site on http://127.0.0.1:PORT (Chromium
// treats the two host names as different sites), so iMIS's hand-off is a real cross-site
// top-level POST and the journey cookie must survive it (SameSite=None; Secure).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';
import { CHROMIUM, FLAGS, SHOTS, startDemo } from './demo.mjs';

let bridge;
let browser;
let base;

/** A port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  base = `http://localhost:${port}`;
  ({ child: bridge } = await startDemo(['--listen', `127.0.0.1:${port}`, '--public-url', base]));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});

after(async () => {
  await browser?.close();
  bridge?.kill('SIGTERM');
});

test('help centre → bridge → member-site sign-in → hand-off → signed in to Zendesk', async () => {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const returnTo = `${base}/_simulator/hc/requests`;
  await page.goto(`${base}/login?return_to=${encodeURIComponent(returnTo)}&brand_id=1`);
  await page.getByRole('link', { name: 'Sign in with your member account' }).click();

  // The member site: another site, its own sign-in page first.
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/_member_site\/signin/);
  await page.screenshot({ path: `${SHOTS}/member-site-sign-in.png`, fullPage: true });
  await page.getByLabel('User name').fill('ada');
  await page.getByLabel('Password').fill('lovelace-demo');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Its Single Sign-On content item posts the refresh token cross-site; the bridge delivers.
  await page.waitForURL(/\/_simulator\/access\/jwt/);
  await page.getByRole('heading', { name: 'Signed in to Zendesk' }).waitFor();
  const claims = await page.locator('#claims').innerText();
  assert.match(claims, /external_id\s+20277/);
  assert.match(claims, /ada\.lovelace@members\.example/);
  assert.equal(await page.locator('#return-to').innerText(), returnTo);
  await page.screenshot({ path: `${SHOTS}/member-site-signed-in.png`, fullPage: true });
  await context.close();
});

test('a hand-off the bridge did not start mints nothing', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // A page elsewhere posting a refresh token to the bridge, as an attacker would.
  await page.setContent(`<form id="f" method="post" action="${base}/imis/sso">
    <input name="refresh_token" value="stolen-or-made-up"></form>`);
  await Promise.all([page.waitForNavigation(), page.evaluate(() => document.getElementById('f').submit())]);
  const text = await page.locator('body').innerText();
  assert.match(text, /not started here/);
  assert.equal(await page.locator('input[name="jwt"]').count(), 0);
  await context.close();
});

test("a page elsewhere cannot post the attacker's own hand-off into a journey this browser started", async () => {
  // The attacker signs in to the member site as themselves and keeps the refresh token its
  // Single Sign-On content item posts, instead of letting it reach the bridge.
  const attackerContext = await browser.newContext();
  const attacker = await attackerContext.newPage();
  attacker.setDefaultTimeout(10_000);
  let stolen;
  const kept = new Promise((resolve) => {
    attacker.route('**/imis/sso', async (route) => {
      stolen = new URLSearchParams(route.request().postData() ?? '').get('refresh_token');
      await route.abort();
      resolve();
    });
  });
  await attacker.goto(`${base}/login`);
  await attacker.getByRole('link', { name: 'Sign in with your member account' }).click();
  await attacker.getByLabel('User name').fill('grace');
  await attacker.getByLabel('Password').fill('hopper-demo');
  await attacker.getByRole('button', { name: 'Sign in' }).click();
  await kept;
  assert.ok(stolen, "the attacker holds a real refresh token of their own");
  await attackerContext.close();

  // The member's browser starts a journey and is on the member site's sign-in page...
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${base}/login?return_to=${encodeURIComponent(`${base}/_simulator/hc/requests`)}`);
  await page.getByRole('link', { name: 'Sign in with your member account' }).click();
  await page.waitForURL(/\/_member_site\/signin/);
  // ...when a page on another site posts the attacker's token, with the journey cookie.
  await page.route('http://attacker.test/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<form id="f" method="post" action="${base}/imis/sso">
        <input name="refresh_token" value="${stolen}"></form>
        <script>document.getElementById('f').submit()</script>`,
    }),
  );
  await page.goto('http://attacker.test/');
  await page.waitForURL(`${base}/imis/sso`);
  const text = await page.locator('body').innerText();
  assert.match(text, /not started here/);
  assert.equal(await page.locator('input[name="jwt"]').count(), 0, "not signed in as the attacker");
  await context.close();
});
