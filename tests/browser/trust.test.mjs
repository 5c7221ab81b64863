// The Trust panel through the real page (CPU fallback, EfficientNet-Lite0, chelsea.png):
// "Check this map" scores the map on screen and the baseline maps in the engine; the curves
// are drawn, and every number in the table equals `gradcam evaluate` on the same photo and
// settings (natively, flex). A new class clears the panel; the numbers are saved as JSON;
// a box dragged over the picture is scored and kept for another class; nothing leaves the
// machine.
//
// Tolerance: the page's wasm and the native binary run the same ops with different SIMD
// widths, so maps and probabilities differ in the last float bits; the deletion/insertion
// ranking of near-equal pixels can then differ too. Numbers agree to 0.01 absolute.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURES, WEIGHTS_DIR, assertNoForeignRequests, assertVaries, canvasPixels, compareImages, dropFile, launchBrowser,
  nativeTrust, openPage, plottedLines, runTrustCheck, serveDist, trustTable, waitForResult, waitReady,
} from './harness.mjs';

const MODEL = 'efficientnet-lite0';
const WEIGHTS = join(WEIGHTS_DIR, `${MODEL}.bpk`);
const PHOTO = join(FIXTURES, 'chelsea.png');
const OUT = mkdtempSync(join(tmpdir(), 'gradcam-trust-'));
const TOLERANCE = 0.01;

let server;
let browser;
let session;

before(async () => {
  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, {
    query: `?model=${MODEL}`,
    withoutWebGpu: true,
    contextOptions: { acceptDownloads: true },
  });
  await waitReady(session.page);
  await dropFile(session.page, readFileSync(PHOTO), 'chelsea.png', 'image/png');
  assert.equal(await waitForResult(session.page), 'ready');
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** `gradcam evaluate` on the photo: { map name: metrics }. */
const evaluate = (args) => nativeTrust(PHOTO, WEIGHTS, args);

describe('the Trust panel (EfficientNet-Lite0, CPU fallback)', { timeout: 900_000 }, () => {
  test('checking the map draws its curves and gives the CLI\'s numbers, baselines beside it', async () => {
    const { page } = session;
    assert.equal(await page.getAttribute('[data-testid=trust-run]', 'disabled'), null, 'the check can run once a map is shown');
    await page.selectOption('[data-testid=trust-steps]', '8');
    await page.check('[data-testid=trust-baselines]');
    const ms = await runTrustCheck(page);
    console.log(`trust check (deletion, insertion, confidence, 8 steps, 3 baselines) in the page: ${ms} ms`);
    const top = await page.$$eval('[data-testid=top5] li', (lis) => Number(lis[0].dataset.testid.slice(6)));
    assert.equal(await page.getAttribute('[data-testid=trust]', 'data-for'), `gradcam|layer4|${top}`);

    // Two curves of 9 points (8 steps), with their AUCs in the legend.
    assert.deepEqual(await plottedLines(page, 'trust-curves'), [['deletion', 9], ['insertion', 9]]);
    assert.equal(await page.isVisible('[data-testid=trust-curves]'), true, 'the plot is shown');
    const legend = await page.$$eval('[data-testid=trust-curves] text.legend', (ts) => ts.map((t) => t.textContent));
    assert.match(legend.join(' | '), /^deletion \(AUC 0\.\d{3}\) \| insertion \(AUC 0\.\d{3}\)$/);

    const shown = await trustTable(page);
    const native = evaluate(['--metrics', 'deletion,insertion,confidence', '--steps', '8', '--baselines']);
    const maps = ['gradcam', 'baseline-gaussian', 'baseline-random', 'baseline-sobel'];
    assert.deepEqual(Object.keys(native).sort(), [...maps].sort());
    // Rows in the engine's order of metrics (trust::Metric), as the catalogue sends them.
    assert.deepEqual(Object.keys(shown), ['confidence_change', 'deletion_auc', 'insertion_auc']);
    let worst = 0;
    for (const [metric, byMap] of Object.entries(shown)) {
      assert.deepEqual(Object.keys(byMap).sort(), [...maps].sort(), metric);
      for (const map of maps) {
        const [page, cli] = [byMap[map], native[map][metric]];
        assert.ok(Math.abs(page - cli) <= TOLERANCE, `${metric} of ${map}: page ${page}, CLI ${cli}`);
        worst = Math.max(worst, Math.abs(page - cli));
      }
    }
    console.log(`trust numbers, page vs gradcam evaluate: largest difference ${worst.toExponential(2)}; gradcam ${JSON.stringify(Object.fromEntries(Object.entries(shown).map(([m, v]) => [m, v.gradcam])))}`);
    // The best of each row is marked.
    const best = await page.$$eval('[data-testid=trust-table] tbody tr', (rows) => rows.map((tr) => tr.querySelectorAll('td.best').length));
    assert.ok(best.every((n) => n >= 1), JSON.stringify(best));
  });

  test('the numbers are saved as JSON', async () => {
    const { page } = session;
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=trust-save]')]);
    assert.match(download.suggestedFilename(), /^chelsea-gradcam-layer4-\d+-trust\.json$/);
    const path = join(OUT, download.suggestedFilename());
    await download.saveAs(path);
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(saved.method, 'gradcam');
    assert.equal(saved.report.metrics.deletion_curve.length, 9);
    assert.deepEqual(Object.keys(saved.baselines).sort(), ['baseline-gaussian', 'baseline-random', 'baseline-sobel']);

    // The CSV is the table `gradcam evaluate --csv` writes for the same settings.
    const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=trust-csv]')]);
    assert.match(csvDownload.suggestedFilename(), /-trust\.csv$/);
    const csvPath = join(OUT, csvDownload.suggestedFilename());
    await csvDownload.saveAs(csvPath);
    const cliCsv = join(OUT, 'cli.csv');
    evaluate(['--metrics', 'deletion,insertion,confidence', '--steps', '8', '--baselines', '--csv', cliCsv]);
    const rows = (path) => readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
    const [pageRows, cliRows] = [rows(csvPath), rows(cliCsv)];
    assert.deepEqual(pageRows[0], cliRows[0], 'the same columns');
    assert.equal(pageRows.length, cliRows.length);
    const byMethod = Object.fromEntries(cliRows.slice(1).map((r) => [r[1], r]));
    for (const row of pageRows.slice(1)) {
      const cli = byMethod[row[1]];
      assert.ok(cli, `the CLI has a ${row[1]} row`);
      assert.equal(row[0], 'chelsea.png');
      assert.deepEqual(row.slice(2, 4), cli.slice(2, 4), `${row[1]}: layer and target`);
      row.slice(4).forEach((v, i) => assert.ok(Math.abs(Number(v) - Number(cli[i + 4])) <= TOLERANCE, `${row[1]} ${pageRows[0][i + 4]}: ${v} vs ${cli[i + 4]}`));
    }
  });

  test('ROAD is drawn per percentile and the sanity checks as a strip of maps, with the CLI\'s numbers', async () => {
    const { page } = session;
    await page.uncheck('[data-testid=trust-baselines]');
    await page.check('[data-testid=trust-road]');
    await page.check('[data-testid=trust-sanity]');
    const ms = await runTrustCheck(page);
    console.log(`trust check with ROAD and the sanity checks (8 steps) in the page: ${ms} ms`);
    const native = evaluate(['--metrics', 'deletion,insertion,confidence,road,randomisation,cascading-randomisation,random-logit', '--steps', '8']).gradcam;

    // ROAD: a most- and a least-relevant-first line over the nine percentiles, the averages
    // in the legend, the combined score under the axis: the CLI's numbers.
    const road = await page.$eval('[data-testid=trust-road-plot]', (svg) => ({
      legend: [...svg.querySelectorAll('text.legend')].map((t) => t.textContent),
      label: [...svg.querySelectorAll('text.label')].map((t) => t.textContent).join(' | '),
    }));
    assert.equal(await page.isVisible('[data-testid=trust-road-plot]'), true, 'the ROAD plot is shown');
    assert.deepEqual(await plottedLines(page, 'trust-road-plot'), [['road_morf', 9], ['road_lerf', 9]]);
    const number = (text) => Number(text.match(/-?\d+\.\d{3}/)[0]);
    assert.ok(Math.abs(number(road.legend[0]) - native.road_morf_average) <= TOLERANCE, `${road.legend[0]} vs ${native.road_morf_average}`);
    assert.ok(Math.abs(number(road.legend[1]) - native.road_lerf_average) <= TOLERANCE, `${road.legend[1]} vs ${native.road_lerf_average}`);
    assert.ok(Math.abs(number(road.label) - native.road_combined) <= TOLERANCE, `${road.label} vs ${native.road_combined}`);

    // The strip: this map, the random class's, then the network randomised from the
    // classifier down, stage by stage (six steps); each a real picture, captioned with the
    // similarity the CLI reports.
    const figures = await page.$$eval('[data-testid=sanity-strip-pictures] figure', (fs) => fs.map((f) => ({
      label: f.dataset.label,
      spearman: f.dataset.spearman === undefined ? null : Number(f.dataset.spearman),
      ssim: f.dataset.ssim === undefined ? null : Number(f.dataset.ssim),
      caption: f.querySelector('figcaption').textContent,
    })));
    assert.equal(await page.isVisible('[data-testid=sanity-strip]'), true);
    assert.equal(figures.length, 8, JSON.stringify(figures.map((f) => f.label)));
    assert.equal(figures[0].label, 'this map');
    assert.match(figures[1].label, /^explaining “.+” instead$/);
    assert.equal(figures[2].label, 'classifier random');
    assert.equal(figures[7].label, 'random from the classifier to stem');
    const expected = [native.random_logit_spearman, ...native.cascading_spearman];
    const expectedSsim = [native.random_logit_ssim, ...native.cascading_ssim];
    figures.slice(1).forEach((f, i) => {
      const close = (a, b) => (b === null ? Number.isNaN(a) : Math.abs(a - b) <= TOLERANCE);
      assert.ok(close(f.spearman, expected[i]), `${f.label}: Spearman ${f.spearman}, CLI ${expected[i]}`);
      assert.ok(close(f.ssim, expectedSsim[i]), `${f.label}: SSIM ${f.ssim}, CLI ${expectedSsim[i]}`);
      assert.match(f.caption, /Spearman (—|-?\d\.\d{3}) · SSIM (—|-?\d\.\d{3})$/);
    });
    const pictures = [];
    for (let i = 1; i <= figures.length; i++) {
      const pixels = await canvasPixels(page, `[data-testid=sanity-strip-pictures] figure:nth-child(${i}) canvas`);
      assert.equal(Math.max(pixels.width, pixels.height), 160, `picture ${i}: ${pixels.width}×${pixels.height}`);
      assert.ok(Math.abs(pixels.width / pixels.height - 451 / 300) < 0.02);
      assertVaries(pixels, `strip picture ${i} (${figures[i - 1].label})`);
      pictures.push(pixels);
    }
    assert.ok(compareImages(pictures[0], pictures[1]).meanAbs > 1, 'another class, another map');
    assert.ok(compareImages(pictures[0], pictures[7]).meanAbs > 1, 'random weights, another map');
    await page.uncheck('[data-testid=trust-road]');
    await page.uncheck('[data-testid=trust-sanity]');
    await page.check('[data-testid=trust-baselines]');
  });

  test('the leaderboard ranks every single-pass method and the baselines as the CLI scores them; a row shows its method', async () => {
    const { page } = session;
    await page.selectOption('[data-testid=board-metric]', 'deletion_auc');
    const started = Date.now();
    await page.click('[data-testid=board-run]');
    await page.waitForFunction(() => document.querySelector('[data-testid=board]').dataset.state === 'ready', null, { timeout: 600_000, polling: 250 });
    console.log(`leaderboard (8 methods, 3 baselines, deletion, 8 steps) in the page: ${Date.now() - started} ms`);
    const rows = await page.$$eval('[data-testid=board] tbody tr', (trs) => trs.map((tr) => [tr.dataset.map, Number(tr.dataset.value)]));
    const methods = ['gradcam', 'hirescam', 'gradcam++', 'xgradcam', 'layercam', 'eigencam', 'eigengradcam', 'saliency'];
    const baselines = ['baseline-gaussian', 'baseline-random', 'baseline-sobel'];
    assert.deepEqual(rows.map(([map]) => map).sort(), [...methods, ...baselines].sort());
    const scores = rows.map(([, v]) => v);
    assert.deepEqual(scores, [...scores].sort((a, b) => a - b), 'lowest deletion AUC first');
    const native = evaluate(['--method', methods.join(','), '--metrics', 'deletion', '--steps', '8', '--baselines']);
    for (const [map, value] of rows) {
      const cli = native[map].deletion_auc;
      assert.ok(Math.abs(value - cli) <= TOLERANCE, `${map}: page ${value}, CLI ${cli}`);
    }
    // The map on screen was not changed by the ranking; a row shows its method, the board stays.
    assert.equal(await page.getAttribute('[data-testid=trust]', 'data-state'), 'ready');
    await page.click('[data-testid=board] tr[data-map=layercam] button');
    await page.waitForFunction(() => {
      const canvas = document.querySelector('[data-testid=overlay]');
      return canvas.dataset.state === 'ready' && JSON.parse(canvas.dataset.settings || '{}').method === 'layercam';
    }, null, { timeout: 120_000 });
    assert.equal(await page.inputValue('[data-testid=method]'), 'layercam');
    assert.equal(await page.isHidden('[data-testid=board]'), false, 'the board is for this photo, layer and class still');
    assert.equal(await page.getAttribute('[data-testid=trust]', 'data-state'), 'idle', 'the checked map was Grad-CAM\'s');
  });

  test('another class clears the panel', async () => {
    const { page } = session;
    const second = await page.$$eval('[data-testid=top5] li', (lis) => Number(lis[1].dataset.testid.slice(6)));
    await page.click(`[data-testid=class-${second}] button`);
    await page.waitForFunction((cls) => {
      const canvas = document.querySelector('[data-testid=overlay]');
      return canvas.dataset.state === 'ready' && canvas.dataset.class === String(cls);
    }, second, { timeout: 120_000 });
    assert.equal(await page.getAttribute('[data-testid=trust]', 'data-state'), 'idle');
    assert.equal(await page.isHidden('[data-testid=trust-table]'), true, 'no numbers of the previous class shown');
    assert.equal(await page.isHidden('[data-testid=trust-road-plot]'), true);
    assert.equal(await page.isHidden('[data-testid=trust-curves]'), true, 'nor its curves');
    assert.equal(await page.isHidden('[data-testid=sanity-strip]'), true, 'nor its sanity strip');
    assert.equal(await page.isHidden('[data-testid=board]'), true, 'nor its leaderboard');
    assert.equal(await page.getAttribute('[data-testid=trust-run]', 'disabled'), null);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });

  test('a box drawn around the cat is scored (pointing game, energy, relevance mass) and kept for another class', async () => {
    const { page } = session;
    /** Drags a box given in photo pixels of chelsea (451×300) over the overlay. */
    async function drag(b) {
      await page.click('[data-testid=truth-draw]');
      const rect = await page.$eval('[data-testid=overlay]', (c) => {
        c.scrollIntoView({ block: 'center' });
        const r = c.getBoundingClientRect();
        return { left: r.left, top: r.top, k: r.width / Number(c.dataset.photoWidth) };
      });
      assert.equal(await page.getAttribute('[data-testid=truth-draw]', 'aria-pressed'), 'true');
      await page.mouse.move(rect.left + b.x * rect.k, rect.top + b.y * rect.k);
      await page.mouse.down();
      await page.mouse.move(rect.left + (b.x + b.width / 2) * rect.k, rect.top + (b.y + b.height / 2) * rect.k, { steps: 4 });
      await page.mouse.move(rect.left + (b.x + b.width) * rect.k, rect.top + (b.y + b.height) * rect.k, { steps: 4 });
      await page.mouse.up();
      await page.waitForFunction(() => document.querySelector('[data-testid=truth]').dataset.state === 'ready'
        && !document.querySelector('[data-testid=truth]').hidden, null, { timeout: 30_000 });
    }
    const scores = () => page.evaluate(() => {
      const value = (id) => document.querySelector(`[data-testid=${id}]`).dataset.value;
      return {
        hit: value('truth-hit') === 'true',
        energy: Number(value('truth-energy')),
        mass: Number(value('truth-mass')),
        box: JSON.parse(document.querySelector('[data-testid=truth-box]').dataset.box),
        for: document.querySelector('[data-testid=truth]').dataset.for,
        status: document.querySelector('[data-testid=truth-status]').textContent,
      };
    });
    const share = (b) => (b.width * b.height) / (451 * 300);
    // The cat's head and body: the map's peak lies on it.
    const cat = { x: 100, y: 40, width: 221, height: 240 };
    await drag(cat);
    const first = await scores();
    for (const key of ['x', 'y', 'width', 'height']) {
      assert.ok(Math.abs(first.box[key] - cat[key]) <= 2, `the box in photo pixels: ${JSON.stringify(first.box)}`);
    }
    assert.equal(first.hit, true, first.status);
    assert.ok(first.energy > share(first.box), `energy ${first.energy} beats an even map's ${share(first.box)}`);
    assert.ok(first.mass > share(first.box), `relevance mass ${first.mass}`);
    assert.equal(await page.getAttribute('[data-testid=truth-draw]', 'aria-pressed'), 'false', 'one drag draws one box');
    assert.equal(await page.isVisible('[data-testid=truth-box]'), true);
    assert.equal(await page.getAttribute('[data-testid=zoom]', 'data-scale'), '1.000', 'drawing does not pan or zoom');
    // Another class: the same box, scored again for the new map.
    const other = await page.$$eval('[data-testid=top5] li', (lis) => Number(lis
      .find((li) => !li.querySelector('button[aria-current]')).dataset.testid.slice(6)));
    await page.click(`[data-testid=class-${other}] button`);
    await page.waitForFunction((cls) => document.querySelector('[data-testid=truth]').dataset.state === 'ready'
      && document.querySelector('[data-testid=truth]').dataset.for.endsWith(`|${cls}|`), other, { timeout: 120_000 });
    const again = await scores();
    assert.deepEqual(again.box, first.box, 'the box stays with the photo');
    assert.notEqual(again.for, first.for);
    assert.notEqual(again.energy, first.energy, 'another map, other numbers');
    assert.match(again.status, new RegExp(`for “`));
    // A box in the empty top-left corner: a miss, less than an even share of the map.
    const corner = { x: 0, y: 0, width: 40, height: 40 };
    await drag(corner);
    const miss = await scores();
    assert.equal(miss.hit, false, miss.status);
    assert.ok(miss.mass < share(miss.box), `relevance mass ${miss.mass} in the corner`);
    // Cleared: no box, no numbers.
    await page.click('[data-testid=truth-clear]');
    assert.equal(await page.isHidden('[data-testid=truth]'), true);
    assert.equal(await page.isHidden('[data-testid=truth-box]'), true);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });

  test('a slow check (ROAD) can be stopped: the map stays on screen, the panel says so', async () => {
    const { page } = session;
    await page.check('[data-testid=trust-road]');
    await page.click('[data-testid=trust-run]');
    await page.waitForSelector('[data-testid=stop]', { state: 'visible', timeout: 30_000 });
    await page.click('[data-testid=stop]');
    // The fresh engine explains the photo again; the panel says the check was stopped and
    // it can be run once more.
    await page.waitForFunction(() => !document.querySelector('[data-testid=trust-run]').disabled
      && document.querySelector('[data-testid=overlay]').dataset.state === 'ready', null, { timeout: 120_000 });
    assert.match(await page.textContent('[data-testid=trust-status]'), /^The check was stopped\. Check how faithful/);
    assert.equal(await page.getAttribute('[data-testid=trust]', 'data-state'), 'idle');
    assert.equal(await page.getAttribute('[data-testid=overlay]', 'data-file'), 'chelsea.png');
    await page.uncheck('[data-testid=trust-road]');
  });
});
