// Turns one `./dev bench` run into a BENCHMARKS.md section: every figure, the ratio to the
// peer measured in the same run, and each goal of issue 18 (speed) as met or not.
//
//   node tests/bench/report.mjs DATA_DIR "COMMAND"   (prints Markdown on stdout)
//
// DATA_DIR holds pytorch.json (tests/reference/bench_peer_pytorch.py), native.json
// (`gradcam bench --json`) and browser.json (tests/bench/browser-bench.mjs, optional).

import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const [data, command = './dev bench'] = process.argv.slice(2);
const read = (name) => (existsSync(join(data, name)) ? JSON.parse(readFileSync(join(data, name), 'utf8')) : null);
const torch = read('pytorch.json');
const native = read('native.json');
const browser = read('browser.json');
const nativeGpu = read('native-gpu.json');
const torchGpu = read('pytorch-gpu.json');

const ms = (v) => (v === undefined || v === null ? '—' : `${v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(1)} ms`);
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '—');
const mb = (bytes) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`);
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const lines = [];
const goals = [];
const goal = (what, value, limit, shown) => goals.push(`| ${what} | ${shown} | ≤ ${limit} | ${value <= limit ? 'met' : '**not met**'} |`);

lines.push(`## ${new Date().toISOString().slice(0, 10)}: \`${command}\``, '');
const gpuNamed = browser?.gpu ? `GPU: ${browser.backend.label}` : 'no GPU used';
lines.push(`Machine: ${cpus().length} CPU cores (${cpus()[0].model.trim()}), ${gpuNamed}. Each figure is the median of the timed`
  + ' runs after warm-up, measured after read-back of the result.', '');

if (native && torch) {
  const r = native.report;
  lines.push(`### Native CPU: ResNet-101, ours (burn \`flex\`, \`${native.profile}\` profile, ${native.threads} threads available) vs PyTorch ${torch.torch} (${torch.threads} threads) + pytorch-grad-cam`, '');
  lines.push(`${native.runs} timed runs after ${native.warmup} warm-up (ours); ${torch.runs} after ${torch.warmup ?? '?'} (PyTorch). Input: chelsea.png at 224×224.`, '');
  lines.push('| what | PyTorch | ours | ours / PyTorch |', '|---|---:|---:|---:|');
  lines.push(`| forward (logits read back) | ${ms(torch.forward_ms.median)} | ${ms(r.forward_ms.median)} | ${ratio(r.forward_ms.median, torch.forward_ms.median)} |`);
  lines.push(`| Grad-CAM layer4, whole call | ${ms(torch.gradcam_ms.median)} | ${ms(r.gradcam_ms.median)} | ${ratio(r.gradcam_ms.median, torch.gradcam_ms.median)} |`);
  for (const [stage, t] of r.stages_ms) {
    const peer = torch.stages_ms[stage];
    lines.push(`| stage ${stage} | ${ms(peer)} | ${ms(t.median)} | ${ratio(t.median, peer)} |`);
  }
  lines.push('');
  goal('native forward / PyTorch forward', r.forward_ms.median / torch.forward_ms.median, 0.8, ratio(r.forward_ms.median, torch.forward_ms.median));
  goal('native Grad-CAM / pytorch-grad-cam', r.gradcam_ms.median / torch.gradcam_ms.median, 0.35, ratio(r.gradcam_ms.median, torch.gradcam_ms.median));
  goal('Grad-CAM / our own forward (native)', r.gradcam_ms.median / r.forward_ms.median, 1.15, ratio(r.gradcam_ms.median, r.forward_ms.median));
}

if (nativeGpu && torchGpu) {
  const r = nativeGpu.report;
  lines.push(`### Native GPU: ResNet-101, ours (burn on wgpu, \`${nativeGpu.profile}\` profile) vs PyTorch ${torchGpu.torch} on ${torchGpu.device} + pytorch-grad-cam`, '');
  lines.push('| what | PyTorch | ours | ours / PyTorch |', '|---|---:|---:|---:|');
  lines.push(`| first forward (kernels compiled) | — | ${ms(r.first_forward_ms)} | — |`);
  lines.push(`| warm forward (logits read back) | ${ms(torchGpu.forward_ms.median)} | ${ms(r.forward_ms.median)} | ${ratio(r.forward_ms.median, torchGpu.forward_ms.median)} |`);
  lines.push(`| warm Grad-CAM layer4, whole call | ${ms(torchGpu.gradcam_ms.median)} | ${ms(r.gradcam_ms.median)} | ${ratio(r.gradcam_ms.median, torchGpu.gradcam_ms.median)} |`, '');
}

if (browser) {
  const ours = browser.ours_webgpu;
  const cpu = browser.ours_cpu;
  const ort = browser.ort_webgpu;
  const page = browser.page;
  lines.push(`### Browser: headless Chromium ${browser.chromium}, ${ours.backend}`, '');
  const placed = (browser.ort_placement?.placement || []).find((l) => /All nodes placed on/.test(l)) || 'placement not checked';
  lines.push(`${browser.runs} timed runs after ${browser.warmup} warm-up. ORT: onnxruntime-web ${ort.ort} (\`${ort.dist}\`), execution provider ${ort.ep}, CPU fallback disabled; its log: “${placed.replace(/^.*?(All nodes)/, '$1')}”.`, '');
  lines.push('| what | ONNX Runtime Web | ours | ours / ORT |', '|---|---:|---:|---:|');
  lines.push(`| first run (pipelines compiled) | ${ms(ort.first_run_ms)} | ${ms(ours.first_forward_ms)} | ${ratio(ours.first_forward_ms, ort.first_run_ms)} |`);
  lines.push(`| warm forward (logits read back) | ${ms(ort.warm_ms.median)} | ${ms(ours.forward_ms.median)} | ${ratio(ours.forward_ms.median, ort.warm_ms.median)} |`);
  lines.push(`| Grad-CAM layer4 (map + top-5 read back) | — | ${ms(ours.gradcam_ms.median)} | — |`);
  // The threaded build, then (runs since 2026-12-07) the one-thread build.
  for (const row of [cpu, browser.ours_cpu_one_thread].filter(Boolean)) {
    lines.push(`| CPU fallback forward (${row.backend}) | — | ${ms(row.forward_ms.median)} | — |`);
    lines.push(`| CPU fallback Grad-CAM (same) | — | ${ms(row.gradcam_ms.median)} | — |`);
  }
  lines.push('');
  if (ours.dispatches_per_forward !== undefined) {
    lines.push(`GPU compute dispatches, ours: ${ours.dispatches_per_forward} per forward, ${ours.dispatches_per_gradcam} per Grad-CAM at layer4 (counted in the worker).`, '');
  }
  lines.push('Per stage, ours (WebGPU / CPU fallback): '
    + ours.stages_ms.map(([s, t], i) => `${s} ${ms(t.median)} / ${ms(cpu.stages_ms[i][1].median)}`).join(', ') + '.', '');
  const warm = median(page.warm_heatmap_ms);
  const switchMs = median(page.class_switch_ms);
  lines.push('The page (ResNet-101, weights already in the Cache API):', '');
  lines.push('| what | time |', '|---|---:|');
  lines.push(`| page load to model ready | ${ms(page.ready_ms)} |`);
  lines.push(`| cold start: page load to first heatmap | ${ms(page.cold_start_to_heatmap_ms)} |`);
  lines.push(`| first drop to heatmap | ${ms(page.first_heatmap_ms)} |`);
  lines.push(`| warm drop to heatmap (median of ${page.warm_heatmap_ms.length}) | ${ms(warm)} |`);
  lines.push(`| class switch, click event to the frame showing the map, in the page (median of ${page.class_switch_ms.length}: ${page.class_switch_ms.join(', ')} ms) | ${ms(switchMs)} |`);
  if (page.class_switch_seen_ms) {
    lines.push(`| the same, seen by the harness: Playwright's click with its actionability checks, to its poll (${page.class_switch_seen_ms.join(', ')} ms) | ${ms(median(page.class_switch_seen_ms))} |`);
  }
  lines.push('');
  if (native) {
    const nativeForward = native.report.forward_ms.median;
    const threads = cpu.backend.match(/CPU, (\d+) threads?/)?.[1] || '1';
    goal(`page CPU forward (${threads} threads) / native forward (${native.threads} threads)`, cpu.forward_ms.median / nativeForward, 1.5, ratio(cpu.forward_ms.median, nativeForward));
  }
  goal('browser warm forward / ORT-web WebGPU', ours.forward_ms.median / ort.warm_ms.median, 1.0, ratio(ours.forward_ms.median, ort.warm_ms.median));
  goal('class switch at the last stage, click to frame (ms)', switchMs, 50, ms(switchMs));
  goal('cold start / warm heatmap', page.cold_start_to_heatmap_ms / warm, 8, ratio(page.cold_start_to_heatmap_ms, warm));

  const p = browser.payload;
  lines.push('Payload (bytes as served; gzip -9 and brotli 11 computed here):', '');
  lines.push('| file | raw | gzip | brotli |', '|---|---:|---:|---:|');
  for (const [file, s] of Object.entries(p.files)) lines.push(`| ${file} | ${mb(s.raw)} | ${mb(s.gzip)} | ${mb(s.brotli)} |`);
  lines.push(`| **wasm + JS + HTML + CSS** | ${mb(p.total.raw)} | ${mb(p.total.gzip)} | ${mb(p.total.brotli)} |`);
  if (p.threads) {
    for (const [file, s] of Object.entries(p.threads.files)) lines.push(`| ${file} (instead of the main build's, on the CPU) | ${mb(s.raw)} | ${mb(s.gzip)} | ${mb(s.brotli)} |`);
  }
  lines.push('');
  lines.push(`Weights: ${p.weights.map((w) => `${w.name} ${mb(w.bytes)}`).join(', ')}.`, '');
  goal('wasm + JS, brotli (MB)', p.total.brotli / 1e6, 3, mb(p.total.brotli));
  if (p.threads) goal('threaded build wasm + JS, brotli (MB)', p.threads.total.brotli / 1e6, 3, mb(p.threads.total.brotli));
  const resnet = p.weights.find((w) => w.name.startsWith('resnet101'));
  if (resnet) goal('ResNet-101 weights download, f16 (MB = 10⁶ bytes)', resnet.bytes / 1e6, 89, `${mb(resnet.bytes)} (${mib(resnet.bytes)})`);
}

const large = browser?.large_photos;
if (large) {
  const small = median(large.drop_ms.small);
  const big = median(large.drop_ms.large);
  const list = (values, digits = 0) => values.map((v) => v.toFixed(digits)).join(', ');
  lines.push(`Large photos: the page on its CPU fallback (${large.backend}) with EfficientNet-Lite0, as`
    + ' `tests/browser/large-photos.test.mjs` measures them (drops alternated; the rest on the 4032×3024 photo):', '');
  lines.push('| what | time |', '|---|---:|');
  lines.push(`| drop to heatmap, 640×480 JPEG (${list(large.drop_ms.small)} ms) | ${ms(small)} |`);
  lines.push(`| drop to heatmap, 4032×3024 JPEG (${list(large.drop_ms.large)} ms) | ${ms(big)} |`);
  goal('4032×3024 photo: drop to heatmap / a 640×480 one\'s', big / small, 1.2, ratio(big, small));
  for (const [what, frames] of [['class switch at layer4', large.class_switch], ['opacity change', large.display_change]]) {
    const click = median(frames.map((f) => f.click_to_frame_ms));
    const engine = median(frames.map((f) => f.engine_ms));
    lines.push(`| ${what}, click to frame in the page (${list(frames.map((f) => f.click_to_frame_ms))} ms) | ${ms(click)} |`);
    lines.push(`| ${what}, in the engine (${list(frames.map((f) => f.engine_ms), 1)} ms; the picture ${list(frames.map((f) => f.picture_ms), 1)} ms) | ${ms(engine)} |`);
    goal(`4032×3024 photo: ${what}, engine (ms)`, engine, 16, ms(engine));
    goal(`4032×3024 photo: ${what}, click to frame (ms)`, click, 50, ms(click));
  }
  lines.push('');
}

lines.push('Goals of issue 18 in this run:', '', '| goal | measured | limit | |', '|---|---:|---:|---|', ...goals, '');
console.log(lines.join('\n'));
