// Auditing a folder in the page, as the user does it: a ResNet-50 with 7 classes of
// their own (a torchvision-named state dict from `gradcam init-weights --pytorch`) and its
// class names are added in the "Your model" dialog, then a folder with one subfolder per
// class (ImageFolder), a subfolder that names no class, a broken photo and a text file is
// dragged onto the page (the browser's own drag events, so the drop holds directory entries).
// Every photo's row, the accuracy and the confusion matrix are checked against
// `gradcam explain --csv` on the same folder with the same weights, the grid's filters and
// orders against those rows, a click opens a photo in the explorer, and the ZIP holds the
// CLI's CSV rows and overlays equal to the CLI's. A class folder picked with "score each map"
// gets `gradcam evaluate`'s deletion and insertion AUCs. Nothing leaves the page.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  FIXTURES, addOwnModel, assertNoForeignRequests, assertVaries, compareImages, dropFolder, launchBrowser, nativeTrust,
  openPage, readZip, serveDist, waitReady,
} from './harness.mjs';

const OUT = mkdtempSync(join(tmpdir(), 'gradcam-audit-'));
const NAMES = ['blight', 'mildew', 'rust', 'scab', 'spot', 'wilt', 'healthy'];
const DATASET = join(OUT, 'leaves');
// Photos per class folder; `unsorted` names no class.
const LAYOUT = {
  blight: ['chelsea.png', 'coffee.png'],
  mildew: ['china.jpg'],
  rust: ['astronaut.png', 'grace_hopper.jpg'],
  healthy: ['exif-orientation-6.jpg', 'coffee.png'],
  unsorted: ['chelsea.png'],
};
const CHECKPOINT = join(OUT, 'resnet50-leaves.pth');
const LABELS = join(OUT, 'leaves.txt');
const WEIGHTS = join(OUT, 'cli.bpk');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let server;
let browser;
let session;
let reference; // the CLI's rows by path inside the folder (leaves/<class>/<photo>)

function gradcam(args, { mayFail = false } = {}) {
  const bin = process.env.GRADCAM_BIN;
  if (!bin) throw new Error('GRADCAM_BIN is not set: run the browser tests through ./dev test');
  const run = spawnSync(bin, args, { encoding: 'utf8' });
  if (run.status !== 0 && !mayFail) throw new Error(`gradcam ${args[0]} failed: ${run.stderr}`);
  return run;
}

/** A CSV of ours (quoted fields as csv_line writes them) as objects by header. */
function parseCsv(text) {
  const lines = text.trim().split('\n');
  const split = (line) => {
    const out = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted && c === '"' && line[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = !quoted;
      else if (c === ',' && !quoted) { out.push(field); field = ''; } else field += c;
    }
    out.push(field);
    return out;
  };
  const header = split(lines[0]);
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [header[i], v])));
}

/** leaves/<class>/<photo> for a path of the CLI (absolute) or of the page. */
const inFolder = (file) => file.slice(file.indexOf('leaves/'));

before(async () => {
  for (const [folder, photos] of Object.entries(LAYOUT)) {
    mkdirSync(join(DATASET, folder), { recursive: true });
    for (const photo of photos) copyFileSync(join(FIXTURES, photo), join(DATASET, folder, photo));
  }
  mkdirSync(join(DATASET, 'scab'));
  writeFileSync(join(DATASET, 'scab', 'broken.jpg'), readFileSync(join(FIXTURES, 'china.jpg')).subarray(0, 2000));
  writeFileSync(join(DATASET, 'README.txt'), 'photos of leaves\n');
  writeFileSync(LABELS, `${NAMES.join('\n')}\n`);
  gradcam(['init-weights', '--arch', 'resnet50', '--classes', '7', '--pytorch', '--out', CHECKPOINT]);
  gradcam(['convert', CHECKPOINT, WEIGHTS, '--labels', LABELS]);
  // The reference: every photo of the folder, hot regions found at 50 % in a 512 px box as
  // the page finds them, and full-resolution overlays with the page's default view.
  const csv = join(OUT, 'cli.csv');
  gradcam(['explain', DATASET, '--weights', WEIGHTS, '--device', 'cpu', '--csv', csv, '--threshold', '0.5', '--display-box', '512'], { mayFail: true });
  gradcam(['explain', DATASET, '--weights', WEIGHTS, '--device', 'cpu', '--out', join(OUT, 'cli-overlays')], { mayFail: true });
  reference = new Map(parseCsv(readFileSync(csv, 'utf8')).map((r) => [inFolder(r.file), r]));
  assert.equal(reference.size, 8, 'the CLI explained the 8 photos (the broken one fails)');

  server = await serveDist();
  browser = await launchBrowser();
  session = await openPage(browser, server.origin, {
    query: '?model=efficientnet-lite0', withoutWebGpu: true, contextOptions: { acceptDownloads: true },
    initScripts: [{ path: AXE }], // axe-core, to check the audit's controls, matrix and grid
  });
  const { page } = session;
  await waitReady(page);
  await addOwnModel(page, CHECKPOINT, LABELS);
});

after(async () => {
  await browser?.close();
  server?.close();
});

const cells = (page) => page.$$eval('[data-testid=audit-grid] button', (bs) => bs.map((b) => ({
  file: b.title, state: b.parentElement.dataset.state, caption: b.querySelector('.caption').textContent,
})));

async function saved(page, testid) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 300_000 }), page.click(`[data-testid=${testid}]`)]);
  const path = join(OUT, download.suggestedFilename());
  await download.saveAs(path);
  return { name: download.suggestedFilename(), bytes: readFileSync(path) };
}

describe('auditing a folder in the page', { timeout: 900_000 }, () => {
  test('a dropped ImageFolder is audited as gradcam explain --csv audits it', async () => {
    const { page } = session;
    const started = Date.now();
    await dropFolder(page, DATASET);
    await page.waitForFunction(() => document.querySelector('[data-testid=audit]').dataset.state === 'done', null, { timeout: 600_000 });
    const seconds = (Date.now() - started) / 1000;
    const status = await page.textContent('[data-testid=audit-status]');
    assert.match(status, /^Audited 9 of 9 photos with Grad-CAM at layer4, resnet50-leaves \(ResNet-50, 7 classes\) · [\d.]+ photos\/min\.$/, status);
    console.log(`ResNet-50 (7 classes), 9 photos on the CPU fallback: ${seconds.toFixed(1)} s from the drop to the last photo, ${(9 * 60 / seconds).toFixed(1)} photos/min; page says: ${status}`);

    // Every photo in the grid, in path order; the broken one failed, the text file left out.
    const grid = await cells(page);
    assert.deepEqual(grid.map((c) => inFolder(c.file)), [...reference.keys(), 'leaves/scab/broken.jpg'].sort());
    const broken = grid.find((c) => c.file.endsWith('broken.jpg'));
    assert.equal(broken.state, 'failed');
    assert.match(broken.caption, /not a usable photo/);

    // Each row is the CLI's: classes, probabilities, method, layer and hot region.
    const zip = readZip((await saved(page, 'audit-zip')).bytes);
    const rows = parseCsv(zip['results.csv'].toString('utf8'));
    assert.equal(rows.length, reference.size);
    for (const row of rows) {
      const cli = reference.get(inFolder(row.file));
      assert.ok(cli, `${row.file} is one of the CLI's`);
      for (const key of ['expected', 'predicted', 'method', 'layer']) assert.equal(row[key], cli[key], `${row.file}: ${key}`);
      assert.ok(Math.abs(Number(row.confidence) - Number(cli.confidence)) <= 1e-3, `${row.file}: ${row.confidence} vs ${cli.confidence}`);
      const top5 = (r) => r.top5.split('; ').map((p) => p.split('='));
      assert.deepEqual(top5(row).map(([l]) => l), top5(cli).map(([l]) => l), `${row.file}: top-5`);
      const box = (r) => r.hot_box.split(' ').map(Number);
      assert.equal(box(row).length, 4, `${row.file} has a hot region`);
      box(row).forEach((v, i) => assert.ok(Math.abs(v - box(cli)[i]) <= 2, `${row.file}: hot box ${row.hot_box} vs ${cli.hot_box}`));
    }

    // Accuracy and the confusion matrix from the CLI's rows.
    const known = [...reference.values()].filter((r) => r.expected);
    const correct = known.filter((r) => r.expected === r.predicted).length;
    const accuracy = await page.textContent('[data-testid=audit-accuracy]');
    assert.ok(accuracy.startsWith(`Accuracy ${(100 * correct / known.length).toFixed(1)}%: ${correct} of ${known.length} photos whose folder names a class.`), accuracy);
    assert.match(accuracy, /Folders that name no class: unsorted\./);
    assert.match(accuracy, /1 could not be explained/);
    for (const expected of new Set(known.map((r) => r.expected))) {
      for (const predicted of new Set(known.map((r) => r.predicted))) {
        const n = known.filter((r) => r.expected === expected && r.predicted === predicted).length;
        const testid = `audit-matrix-${NAMES.indexOf(expected)}-${NAMES.indexOf(predicted)}`;
        assert.equal(await page.textContent(`[data-testid=${testid}]`), String(n), `${expected} → ${predicted}`);
      }
    }
    const violations = await page.evaluate(async () => (await window.axe.run(document.querySelector('[data-testid=audit]'))).violations
      .map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
    assert.deepEqual(violations, [], 'axe-core finds nothing wrong in the audit with its results');
    const summary = JSON.parse(zip['summary.json'].toString('utf8'));
    assert.equal(summary.correct, correct);

    // Overlays at full resolution, the CLI's.
    const overlays = Object.keys(zip).filter((n) => n.startsWith('overlays/'));
    assert.equal(overlays.length, reference.size);
    for (const name of overlays) {
      const page = PNG.sync.read(zip[name]);
      const cliName = name.replace('overlays/leaves/', '');
      const cli = PNG.sync.read(readFileSync(join(OUT, 'cli-overlays', cliName)));
      assertVaries(page, name);
      const diff = compareImages(page, cli);
      assert.ok(diff.meanAbs <= 1 && diff.fractionOver8 <= 0.01, `${name}: ${JSON.stringify(diff)}`);
    }
  });

  test('the grid filters and orders the photos, and a click opens one in the explorer', async () => {
    const { page } = session;
    const known = [...reference.values()].filter((r) => r.expected);
    const wrong = known.filter((r) => r.expected !== r.predicted).map((r) => inFolder(r.file)).sort();
    await page.selectOption('[data-testid=audit-show]', 'wrong');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=audit-grid] li').length === n, wrong.length);
    assert.deepEqual((await cells(page)).map((c) => inFolder(c.file)), wrong);
    assert.ok((await cells(page)).every((c) => c.state === 'wrong'));
    await page.selectOption('[data-testid=audit-show]', 'all');
    await page.selectOption('[data-testid=audit-sort]', 'confidence');
    const byConfidence = [...reference.values()].sort((a, b) => Number(a.confidence) - Number(b.confidence));
    await page.waitForFunction(() => document.querySelector('[data-testid=audit-grid] li').dataset.state === 'failed');
    const sorted = (await cells(page)).slice(1).map((c) => Number(reference.get(inFolder(c.file)).confidence));
    assert.deepEqual(sorted, byConfidence.map((r) => Number(r.confidence)), 'least confident first (the failed photo before all)');
    await page.selectOption('[data-testid=audit-class]', String(NAMES.indexOf('rust')));
    await page.selectOption('[data-testid=audit-sort]', 'found');
    const rust = [...reference.values()].filter((r) => r.expected === 'rust' || r.predicted === 'rust').map((r) => inFolder(r.file)).sort();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=audit-grid] li').length === n, rust.length);
    assert.deepEqual((await cells(page)).map((c) => inFolder(c.file)), rust);

    // Opened in the explorer: the photo explained there, with the row's top class.
    const first = (await cells(page))[0];
    await page.click('[data-testid=audit-grid] button');
    const name = first.file.slice(first.file.lastIndexOf('/') + 1);
    await page.waitForFunction((n) => {
      const c = document.querySelector('[data-testid=overlay]');
      return c.dataset.state === 'ready' && c.dataset.file === n;
    }, name, { timeout: 300_000 });
    const top = await page.textContent('[data-testid=top5] li .label');
    assert.equal(top, reference.get(inFolder(first.file)).predicted);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });

  test('scored maps carry gradcam evaluate\'s deletion and insertion AUC, worst first on demand', async () => {
    const { page } = session;
    await page.check('[data-testid=audit-score]');
    await page.setInputFiles('[data-testid=audit-folder]', join(DATASET, 'rust'));
    await page.waitForFunction(() => document.querySelector('[data-testid=audit]').dataset.state === 'done'
      && document.querySelector('[data-testid=audit-status]').textContent.startsWith('Audited 2 of 2'), null, { timeout: 600_000 });
    const csv = parseCsv((await saved(page, 'audit-csv')).bytes.toString('utf8'));
    assert.equal(csv.length, 2);
    const cli = {};
    for (const row of csv) {
      const photo = join(DATASET, 'rust', row.file.slice(row.file.lastIndexOf('/') + 1));
      const native = nativeTrust(photo, WEIGHTS, ['--method', 'gradcam', '--metrics', 'deletion,insertion', '--steps', '8']).gradcam;
      cli[row.file] = native;
      for (const key of ['deletion_auc', 'insertion_auc']) {
        assert.ok(Math.abs(Number(row[key]) - native[key]) <= 0.01, `${row.file}: ${key} ${row[key]} vs ${native[key]}`);
      }
    }
    const mean = (key) => csv.reduce((sum, r) => sum + Number(r[key]), 0) / csv.length;
    const accuracy = await page.textContent('[data-testid=audit-accuracy]');
    assert.ok(accuracy.includes(`Mean Deletion AUC ${mean('deletion_auc').toFixed(3)} over 2 maps (lower is better).`), accuracy);
    await page.selectOption('[data-testid=audit-sort]', 'worst:deletion');
    const worst = Object.entries(cli).sort(([, a], [, b]) => b.deletion_auc - a.deletion_auc).map(([file]) => file);
    await page.waitForFunction((first) => document.querySelector('[data-testid=audit-grid] button').title === first, worst[0]);
    assert.deepEqual((await cells(page)).map((c) => c.file), worst);
    assert.match((await cells(page))[0].caption, /deletion \d\.\d\d · insertion \d\.\d\d$/);
    assertNoForeignRequests({ ...session, origin: server.origin });
  });
});
