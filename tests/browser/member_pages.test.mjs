// The member's pages in a real browser: Debian's Chromium driven by playwright-core against the
// real binary in demo mode (built-in members, built-in Zendesk simulator). Run by
// scripts/browser-test; screenshots go to $SCREENSHOT_DIR (docs/screenshots when updating them).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { CHROMIUM, FLAGS, SHOTS, startDemo } from './demo.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let bridge;
let base;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ child: bridge, base } = await startDemo());
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});

after(async () => {
  await browser?.close();
  bridge?.kill('SIGTERM');
});

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('dialog', (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  return page;
}

const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

const loginUrl = (query = '') =>
  `${base}/login?return_to=${encodeURIComponent(`${base}/_simulator/hc/requests`)}&brand_id=360000000001${query}`;

async function signIn(page, username, password) {
  await page.getByLabel(/User name|Nom d'utilisateur/).fill(username);
  await page.getByLabel(/Password|Mot de passe/).fill(password);
  await page.getByRole('button', { name: /Sign in|Se connecter/ }).click();
}

/** The claims table of the simulator's "signed in" page. */
async function claimsShown(page) {
  const rows = await page.locator('#claims tbody tr').all();
  const claims = {};
  for (const row of rows) {
    claims[(await row.locator('th').innerText()).trim()] = (await row.locator('td').innerText()).trim();
  }
  return claims;
}

/** WCAG 2.x A and AA violations that axe-core finds on the page. */
async function accessibilityViolations(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`);
}

describe('a member signs in', () => {
  test('from the help centre, through the form, to Zendesk with the right claims and return_to', async () => {
    const page = await newPage();
    await page.goto(`${base}/_simulator/hc`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(/\/login\?/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'username', 'focus starts in the form');
    await shot(page, 'login');
    await signIn(page, 'ada', 'lovelace-demo');
    await page.waitForURL(/\/_simulator\/access\/jwt/);
    await page.getByRole('heading', { name: 'Signed in to Zendesk' }).waitFor();
    const claims = await claimsShown(page);
    assert.equal(claims.email, 'ada.lovelace@members.example');
    assert.equal(claims.name, 'Ada Lovelace');
    assert.equal(claims.external_id, '20277');
    assert.equal(claims.phone, '+13103884000');
    assert.equal(claims.role, undefined, 'never a role');
    assert.equal(await page.locator('#return-to').innerText(), `${base}/_simulator/hc/requests`);
    await shot(page, 'zendesk-signed-in');

    // The second visit: the bridge session goes straight through, without the form.
    const seen = [];
    page.on('framenavigated', (frame) => seen.push(frame.url()));
    await page.goto(loginUrl('&locale_id=1'));
    await page.waitForURL(/\/_simulator\/access\/jwt/);
    assert.equal(await page.locator('#password').count(), 0);
    assert.ok(!seen.some((u) => u.includes('/login') && u !== loginUrl('&locale_id=1')), seen.join('\n'));
    assert.equal((await claimsShown(page)).external_id, '20277');
    await page.context().close();
  });

  test('a wrong password shows the error and keeps the user name', async () => {
    const page = await newPage();
    await page.goto(loginUrl());
    await signIn(page, 'grace', 'not-her-password');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /did not match our records/);
    assert.equal(await page.getByLabel('User name').inputValue(), 'grace');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is never sent back');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
    await shot(page, 'login-wrong-password');
    // And the member can go on from there.
    await page.getByLabel('Password').fill('hopper-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/_simulator\/access\/jwt/);
    assert.equal((await claimsShown(page)).name, 'Grace Hopper');
    await page.context().close();
  });

  test('without JavaScript the delivery page has a button that works', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await page.goto(loginUrl());
    await signIn(page, 'ada', 'lovelace-demo');
    const button = page.getByRole('button', { name: 'Continue to the help centre' });
    await button.waitFor();
    assert.match(await page.locator('h1').innerText(), /Signing you in/);
    await shot(page, 'delivery-without-javascript');
    await button.click();
    await page.waitForURL(/\/_simulator\/access\/jwt/);
    assert.equal((await claimsShown(page)).email, 'ada.lovelace@members.example');
    await page.context().close();
  });

  test("Zendesk's French locale_id shows the pages in French", async () => {
    const page = await newPage();
    await page.goto(loginUrl('&locale_id=16'));
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    await page.getByRole('heading', { name: 'Connexion' }).waitFor();
    await shot(page, 'login-fr');
    await signIn(page, 'ada', 'mauvais');
    assert.match(await page.getByRole('alert').innerText(), /ne correspondent pas/);
    await page.getByLabel("Mot de passe").fill('lovelace-demo');
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.waitForURL(/\/_simulator\/access\/jwt/);
    await page.context().close();
  });
});

describe('the other pages', () => {
  test('a Zendesk error message is shown as text, never run as a script', async () => {
    const page = await newPage();
    // Zendesk reports an error only to a browser the bridge has just sent it: sign in first.
    await page.goto(loginUrl());
    await signIn(page, 'ada', 'lovelace-demo');
    await page.waitForURL(/\/_simulator\/access\/jwt/);
    const message = '<script>window.injected = 1; alert(1)</script><img src=x onerror="window.injected=2">';
    await page.goto(`${base}/logout?kind=error&message=${encodeURIComponent(message)}`);
    const quoted = page.locator('blockquote');
    assert.equal(await quoted.innerText(), message);
    assert.equal(await page.evaluate(() => window.injected), undefined);
    assert.equal(await page.locator('main script, main img').count(), 0);
    await shot(page, 'zendesk-error');
    // The same link from a stranger's page, in a browser the bridge never sent to Zendesk.
    const stranger = await newPage();
    await stranger.goto(`${base}/logout?kind=error&message=${encodeURIComponent('Call 0800 FAKE')}`);
    const text = await stranger.locator('main').innerText();
    assert.ok(!text.includes('0800 FAKE'), text);
    assert.match(text, /You have not been signed in/);
    await stranger.context().close();
    await page.context().close();
  });

  test('refusals and errors explain themselves', async () => {
    const page = await newPage();
    const cases = [
      ['charles', 'babbage-demo', /membership is not active/, 'refused-lapsed-member'],
      ['alan', 'turing-demo', /no primary e-mail address/, 'refused-no-email'],
      ['mary', 'somerville-demo', /already used by another help-centre account/, 'denied-email-in-use'],
    ];
    for (const [username, password, words, name] of cases) {
      await page.goto(loginUrl());
      await signIn(page, username, password);
      await page.locator('h1').waitFor();
      assert.match(await page.locator('main').innerText(), words, username);
      await shot(page, name);
    }
    await page.goto(`${base}/logout`);
    assert.match(await page.locator('h1').innerText(), /You are signed out/);
    await shot(page, 'signed-out');
    await page.goto(`${base}/nothing-here`);
    assert.match(await page.locator('h1').innerText(), /Page not found/);
    await shot(page, 'not-found');
    await page.goto(base);
    await shot(page, 'start-page');
    await page.context().close();
  });

  test('too many wrong passwords pause sign-in and say for how long', async () => {
    const page = await newPage();
    await page.goto(loginUrl('&locale_id=8'));
    for (let attempt = 0; attempt < 6; attempt += 1) {
      await page.getByLabel('Benutzername').fill('someone-guessing');
      await page.getByLabel('Passwort').fill(`wrong-${attempt}`);
      await page.getByRole('button', { name: 'Anmelden' }).click();
      await page.locator('h1').waitFor();
      if ((await page.locator('h1').innerText()) === 'Zu viele Anmeldeversuche') break;
    }
    assert.equal(await page.locator('h1').innerText(), 'Zu viele Anmeldeversuche');
    assert.match(await page.getByRole('status').innerText(), /in \d+ Minuten? erneut/);
    await shot(page, 'throttled-de');
    await page.context().close();
  });
});

describe('accessibility', () => {
  test('no WCAG 2.1 A/AA violations (axe-core) on the pages a member can reach', async () => {
    const page = await newPage({ bypassCSP: true }); // only to inject axe-core
    const visits = [
      ['login', async () => page.goto(loginUrl())],
      ['login with an error', async () => {
        await page.goto(loginUrl());
        await signIn(page, 'grace', 'wrong');
        await page.getByRole('alert').waitFor();
      }],
      ['login in Spanish', async () => page.goto(loginUrl('&locale_id=2'))],
      ['signed out', async () => page.goto(`${base}/logout`)],
      ['Zendesk error', async () => page.goto(`${base}/logout?kind=error&message=Invalid%20iat`)],
      ['not found', async () => page.goto(`${base}/nope`)],
      ['refused', async () => {
        await page.goto(loginUrl());
        await signIn(page, 'charles', 'babbage-demo');
        await page.locator('h1').waitFor();
      }],
      ['start page', async () => page.goto(base)],
    ];
    const problems = [];
    for (const [name, visit] of visits) {
      await visit();
      problems.push(...(await accessibilityViolations(page)).map((v) => `${name}: ${v}`));
    }
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test('usable at 320 px wide and at 200 % zoom: nothing scrolls sideways', async () => {
    for (const viewport of [{ width: 320, height: 640 }, { width: 640, height: 400 }]) {
      const page = await newPage({ viewport, deviceScaleFactor: 2 });
      for (const path of [loginUrl(), `${base}/logout?kind=error&message=${'x'.repeat(400)}`, base]) {
        await page.goto(path);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${viewport.width}px ${path}: ${overflow}px sideways`);
      }
      await page.goto(loginUrl());
      await page.getByLabel('User name').fill('grace');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'password', 'keyboard order');
      if (viewport.width === 320) await shot(page, 'login-320px');
      await page.context().close();
    }
  });
});

describe('branding', () => {
  test("the organisation's name, colour and links appear, and no third-party request is made", async () => {
    const branded = await startDemo(undefined, {
      BRAND_NAME: 'Royal Society of Examples',
      BRAND_PRIMARY_COLOUR: '#6b1d5c',
      BRAND_HELP_URL: 'mailto:help@rse.example.org',
      BRAND_FORGOT_PASSWORD_URL: 'https://members.rse.example.org/reset',
    });
    try {
      const page = await newPage();
      const requests = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`${branded.base}/login`);
      assert.equal(await page.locator('header .org').innerText(), 'Royal Society of Examples');
      assert.equal(await page.getByRole('link', { name: 'Forgot your password?' }).getAttribute('href'),
        'https://members.rse.example.org/reset');
      assert.equal(await page.getByRole('link', { name: 'Help and contact' }).getAttribute('href'),
        'mailto:help@rse.example.org');
      const background = await page.getByRole('button', { name: 'Sign in' })
        .evaluate((b) => getComputedStyle(b).backgroundColor);
      assert.equal(background, 'rgb(107, 29, 92)');
      assert.deepEqual(requests.filter((u) => !u.startsWith(branded.base)), [], 'no external fonts or scripts');
      await shot(page, 'login-branded');
      await page.context().close();
    } finally {
      branded.child.kill('SIGTERM');
    }
  });
});
