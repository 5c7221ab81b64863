// `./dev weights`: fails fast and clearly offline, and refuses a file whose sha256 does not
// match the prefix in its torchvision name. (Downloading for real needs the internet, which
// the test machines do not have.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
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

test('a downloaded file whose sha256 does not match its name is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gradcam-pth-'));
  const file = join(dir, 'resnet18-f37072fd.pth');
  writeFileSync(file, 'not the real weights');
  const run = dev(['weights', 'resnet18', file], {});
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /is corrupt: its sha256 starts with [0-9a-f]{8}, the name says f37072fd/);
});

test('an unknown architecture is named', () => {
  const run = dev(['weights', 'resnet7'], { GRADCAM_DOWNLOADS: mkdtempSync(join(tmpdir(), 'gradcam-dl-')) });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /unknown architecture 'resnet7'/);
});
