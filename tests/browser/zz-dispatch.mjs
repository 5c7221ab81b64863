import { readFileSync } from 'node:fs';
import { FIXTURES, launchBrowser, openPage, serveDist } from './harness.mjs';
const server = await serveDist();
const browser = await launchBrowser();
const { page } = await openPage(browser, server.origin, { query: '?model=efficientnet-lite0' });
for (const model of (process.argv[2] || 'efficientnet-lite0').split(',')) {
  const r = await page.evaluate(async ({ model, photo }) => {
    const { startEngine } = await import('/engine.js');
    const engine = await startEngine({ allowGpu: true, allowSoftwareGpu: true });
    await engine.call('loadWeights', [new Uint8Array(await (await fetch(`/weights/${model}.bpk`)).arrayBuffer())]);
    await engine.call('setPhoto', [Uint8Array.from(atob(photo), (c) => c.charCodeAt(0))]);
    const out = [];
    for (let i = 0; i < 4; i++) out.push(await engine.call('forward'));
    const before = engine.memory().dispatches;
    const t = performance.now();
    await engine.call('explain', [{ method: 'gradcam', layer: 'layer4' }]);
    const gc = { ms: performance.now() - t, dispatches: engine.memory().dispatches - before };
    engine.dispose();
    return { backend: engine.label, forwards: out, gradcam: gc };
  }, { model, photo: readFileSync(`${FIXTURES}/chelsea.png`).toString('base64') });
  console.log(model, JSON.stringify(r));
}
await browser.close(); server.close();
