// `./dev weights`: fails fast and clearly offline, refuses a torchvision file whose full
// sha256 is not torchvision's, and reports the sha256 of any file it has no hash for.
// (Downloading for real needs the internet, which the test machines do not have.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

function dev(args, env) {
  const started = Date.now();
  const run = spawnSync(join(ROOT, 'dev'), args, {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 600_000,
  });
  return { ...run, seconds: (Date.now() - started) / 1000 };
}

test('offline, `./dev weights resnet101` fails at once and says how to install by hand', () => {
  const downloads = mkdtempSync(join(tmpdir(), 'gradcam-dl-'));
  const run = dev(['weights', 'resnet101'], {
    TORCHVISION_WEIGHTS_URL: 'http://127.0.0.1:9/models', GRADCAM_DOWNLOADS: downloads,
  });
  console.log(`failed in ${run.seconds.toFixed(1)} s`);
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /could not download http:\/\/127\.0\.0\.1:9\/models\/resnet101-63fe2227\.pth/);
  assert.ok(run.stderr.includes(join(downloads, 'resnet101-63fe2227.pth')), run.stderr);
  assert.ok(!existsSync(join(downloads, 'resnet101-63fe2227.pth.part')), 'no partial file is left');
  assert.ok(run.seconds < 60, `took ${run.seconds} s`);
});

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

test('a torchvision file whose full sha256 is not torchvision\'s is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradcam-pth-'));
  const file = join(dir, 'resnet18-f37072fd.pth');
  writeFileSync(file, 'not the real weights');
  const run = dev(['weights', 'resnet18', file], {});
  assert.equal(run.status, 1, run.stderr);
  assert.ok(run.stderr.includes(`its sha256 is ${sha256('not the real weights')}, torchvision's `
    + 'resnet18-f37072fd.pth has f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec'), run.stderr);
});

test('a file with only a hash prefix in its name is checked against it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradcam-pth-'));
  const file = join(dir, 'resnet152-f82ba261.pth');
  writeFileSync(file, 'not the real weights either');
  const run = dev(['weights', 'resnet152', file], {});
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /is corrupt: its sha256 is [0-9a-f]{64}, the name says it starts with f82ba261/);
});

test('the sha256 of a file this script has no hash for is reported, not passed silently', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradcam-pth-'));
  const file = join(dir, 'my-finetuned-resnet18.pth');
  writeFileSync(file, 'someone else\'s weights');
  const run = dev(['weights', 'resnet18', file], {});
  assert.ok(run.stderr.includes(`my-finetuned-resnet18.pth: sha256 ${sha256('someone else\'s weights')}`), run.stderr);
  assert.equal(run.status, 1, 'not a state dict: the conversion fails after the report');
});

test('an unknown architecture is named', () => {
  const run = dev(['weights', 'resnet7'], { GRADCAM_DOWNLOADS: mkdtempSync(join(tmpdir(), 'gradcam-dl-')) });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /unknown architecture 'resnet7'/);
});
