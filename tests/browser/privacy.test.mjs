// The check behind every "nothing left the machine" assertion (harness.assertNoForeignRequests)
// must be able to fail: here the real page gets a service worker that also fetches from
// another origin, which page-level request events never see. Served without the
// Content-Security-Policy header (a static host that sends none: the page's <meta> policy
// does not cover its service worker), the fetch goes out, and both the browser context's
// request log and the test server (the context's proxy) catch it. With the header that
// `trunk serve` sends, the same fetch is blocked and nothing leaves.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { assertNoForeignRequests, contextRequests, launchBrowser, openPage, serveDist } from './harness.mjs';

const LEAK = 'https://tracker.example/collect';

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

/** A server whose sw.js also fetches LEAK when it installs; `csp: false` drops the header. */
async function leakyServer({ csp }) {
  const server = await serveDist();
  server.override('/sw.js', (req, res, file) => {
    if (!csp) res.removeHeader('Content-Security-Policy');
    const leak = `self.addEventListener('install', (e) => e.waitUntil(fetch('${LEAK}').catch(() => {})));\n`;
    const body = Buffer.from(leak + readFileSync(file, 'utf8'));
    res.writeHead(200, { 'content-type': 'text/javascript', 'content-length': body.length }).end(body);
  });
  return server;
}

/** Opens the page and waits until its service worker is installed and active. */
async function visit(server) {
  const session = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0', withoutWebGpu: true });
  await session.page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  return session;
}

test('a service worker\'s fetch to another origin fails the check: in the context\'s log and at the server', async () => {
  const server = await leakyServer({ csp: false });
  const session = await visit(server);
  try {
    // Playwright's events arrive a little after the fact.
    for (let i = 0; i < 50 && !contextRequests(session.context).includes(LEAK); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(contextRequests(session.context).includes(LEAK), 'the context saw the fetch');
    assert.ok(!session.requests.includes(LEAK), 'page-level events alone miss it');
    assert.deepEqual(server.strayRequests().map((r) => `${r.method} ${r.url}`), ['CONNECT tracker.example:443'],
      'the server, as the context\'s proxy, saw it');
    assert.throws(() => assertNoForeignRequests(session), /service worker/);
  } finally {
    await session.context.close();
    server.close();
  }
});

test('with the server\'s Content-Security-Policy header the same fetch is blocked and nothing leaves', async () => {
  const server = await leakyServer({ csp: true });
  const session = await visit(server);
  try {
    assertNoForeignRequests(session);
  } finally {
    await session.context.close();
    server.close();
  }
});
