"""ResNet-101 parity and CPU benchmark: the native `gradcam` CLI vs PyTorch + pytorch-grad-cam.

NOT a CI test. A verification and benchmark script, run by hand when the engine changes;
it needs a built CLI binary and a Python environment with torch / torchvision / grad-cam.
Nothing under tests/ runs it. It prints Markdown tables and (unless --no-write) writes
them to BENCHMARKS.md at the repo root, replacing only its own two sections:
    ## Native CPU: ResNet-101 Grad-CAM vs PyTorch + pytorch-grad-cam
    ## Parity on a torchvision ResNet-101 (random weights)

How to run
----------
    pip install torch torchvision grad-cam==1.5.7 numpy opencv-python-headless pillow
    cargo build --bin gradcam          # or ./dev; the default path below is ./dev's debug build
    python tests/reference/check_resnet101_parity.py \
        [--gradcam /var/cache/gradcam-web/target/host/debug/gradcam] \
        [--pth resnet101-63fe2227.pth]  # torchvision's ImageNet weights, where available

Run it on an otherwise idle machine: the timings are wall-clock medians. The benchmark runs
first (after the convert), `--wait-idle S` waits up to S seconds for other processes to use
< 5% of the CPU before it starts, and the CPU time other processes used during the timing
(from /proc/stat) is reported next to the figures. The whole run takes ~10 minutes on 2
cores, most of it ScoreCAM.

The model
---------
torchvision's own `resnet101(weights=None)` (so the state dict has exactly torchvision's
layout and key names), seed 0. The real ImageNet weights (resnet101-63fe2227.pth) cannot be
downloaded on the machine this was written on; pass `--pth` to use them elsewhere, which
skips everything in this paragraph. With torchvision's initialisation plus the BatchNorm
randomisation of make_cam_fixtures.py alone, a 33-block ResNet's activations explode
(layer4 ~1e5, logits ~1e5, softmax exactly one-hot), so instead:
  1. BatchNorm running statistics are calibrated on 8 seeded N(0, 1) noise images
     (train mode, cumulative average), so each BN roughly normalises its input;
  2. then randomised so they matter: running_mean += U(-0.3, 0.3) * sqrt(running_var),
     running_var *= U(0.5, 2), weight U(0.5, 1.5), bias U(-0.2, 0.2) (as in
     make_cam_fixtures.py, relative to the calibrated statistics);
  3. the residual stream still grows through the 23 blocks of layer3 (ReLU'd sums), so
     fc.weight and fc.bias are scaled so the logits on the noise images have std 4
     (a trained model's spread; otherwise the softmax is one-hot);
  eval mode. The state dict is saved with torch.save into a temporary folder and converted
  with `gradcam convert --arch resnet101` (timed), as a user would convert the real file.

Input: tests/fixtures/chelsea.png, whole photo -> RGB -> 224x224 (PIL BILINEAR, no crop),
/255, ImageNet mean/std, float32 [1, 3, 224, 224]. ScoreCAM uses a 96x96 input instead
(layer4 then 3x3): it runs one full forward per layer4 channel, 2048 of them, on both sides.

Parity
------
For every method at layer4, and for gradcam / gradcam++ / layercam also at layer3,
layer3.22 (the last block of layer3, so its output is layer3's) and layer3.10 (an inner
block), with the target fixed to PyTorch's top-1 class (`--target`, so both sides explain
the same class): pytorch-grad-cam's per-layer map before its scaling (ReLU(get_cam_image),
captured by wrapping get_cam_image as make_cam_fixtures.py does) vs the CLI's `--cam-out`
map (ReLU'd, not normalised). Both are min-max normalised like scale_cam_image
((m - min) / (1e-7 + max)) and compared by max |delta|. Eigen methods: SVD's sign is
arbitrary (pytorch-grad-cam keeps LAPACK's, ours makes |max| >= |min|), so ours is compared
with ReLU(+projection) and ReLU(-projection) and the better is kept. Also: our top-1 vs
PyTorch's, and the largest relative error of our top-5 softmax probabilities vs torch's.
AblationCAM: pytorch-grad-cam feeds 32 copies of the image through the whole network per
batch of ablated layer4 channels (2048 forwards through layers 1-3 whose result it then
discards, minutes on 2 cores); here that trunk (conv1..layer3) is memoised for repeated
copies of the same image, which changes no number (eval mode) -- `--ablation-full` turns
that off. So pytorch-grad-cam's AblationCAM time here is not its real cost.
For the gradient and Eigen methods the map is also computed from the method's formula with
the whole network in float64 (torch, not pytorch-grad-cam), and both float32 maps are
compared with it: deep backward passes in float32 differ between implementations (a ReLU
whose input is ~0 switches), so a case over the 1e-3 tolerance counts as "float32 rounding"
when ours is no further from float64 than max(1e-3, 1.5 x pytorch-grad-cam's distance), and
as a MISMATCH otherwise. Exit status 1 on any MISMATCH (or a different top-1), else 0.
Linux only (/proc/stat, /proc/cpuinfo).

Benchmark (CPU, torch.set_num_threads(2) by default)
---------
PyTorch forward (torch.no_grad, median of --runs after 2 warm-ups); pytorch-grad-cam
GradCAM(layer4) full call (forward + backward + scaling/resize, median of --runs after 2
warm-ups) and EigenCAM(layer4) call (forward + SVD, no backward); ours: `cam_ms` from the
CLI JSON for gradcam at layer4 (median of --cli-runs processes; excludes process start and
weights loading, which are reported separately as whole-process wall time) and for
eigencam at layer4. The CLI has no forward-only command, so our forward-only figure is an
upper bound: the smaller of those two medians (Grad-CAM at layer4 runs the trunk without
autodiff and back-propagates only through avgpool + fc; EigenCAM is one forward plus a PCA
of the 49 x 2048 layer4 matrix on the host).
"""

import argparse
import datetime
import functools
import json
import os
import pathlib
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version

os.environ.setdefault("TQDM_DISABLE", "1")  # ScoreCAM / AblationCAM progress bars

import numpy as np  # noqa: E402
import torch  # noqa: E402
import tqdm  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402

from pytorch_grad_cam import (  # noqa: E402
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

# TQDM_DISABLE is only honoured by tqdm >= 4.66; silence the progress bars either way.
tqdm.tqdm.__init__ = functools.partialmethod(tqdm.tqdm.__init__, disable=True)

ROOT = pathlib.Path(__file__).resolve().parents[2]
PHOTO = ROOT / "tests" / "fixtures" / "chelsea.png"
DEFAULT_BIN = "/var/cache/gradcam-web/target/host/debug/gradcam"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SIZE = 224
TOL = 1e-3  # max |delta| after min-max normalisation that counts as a match

# (our CLI name, pytorch-grad-cam class)
METHODS = {
    "gradcam": GradCAM,
    "hirescam": HiResCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "layercam": LayerCAM,
    "eigencam": EigenCAM,
    "eigengradcam": EigenGradCAM,
    "scorecam": ScoreCAM,
    "ablationcam": AblationCAM,
}
EIGEN = {"eigencam", "eigengradcam"}
INNER_METHODS = ["gradcam", "gradcam++", "layercam"]
INNER_LAYERS = ["layer3", "layer3.22", "layer3.10"]

SECTION_BENCH = "## Native CPU: ResNet-101 Grad-CAM vs PyTorch + pytorch-grad-cam"
SECTION_PARITY_RANDOM = "## Parity on a torchvision ResNet-101 (random weights)"
SECTION_PARITY_REAL = "## Parity on a torchvision ResNet-101 (ImageNet weights)"


# --------------------------------------------------------------------------- model
def build_model(seed=0):
    """torchvision resnet101, calibrated then randomised BatchNorm, rescaled fc (docstring)."""
    torch.manual_seed(seed)
    model = torchvision.models.resnet101(weights=None)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration pass
    noise = torch.randn(8, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed + 1))
    model.train()
    with torch.no_grad():
        model(noise)
    with torch.no_grad():
        for bn in bns:
            sd = bn.running_var.sqrt()
            bn.running_mean.add_(torch.empty_like(sd).uniform_(-0.3, 0.3) * sd)
            bn.running_var.mul_(torch.empty_like(sd).uniform_(0.5, 2.0))
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
            bn.momentum = 0.1
        model.eval()
        spread = float(model(noise).std())
        model.fc.weight.mul_(4.0 / spread)
        model.fc.bias.mul_(4.0 / spread)
    return model


def load_model(pth):
    model = torchvision.models.resnet101(weights=None)
    state = torch.load(pth, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


class TrunkMemo(nn.Module):
    """conv1..layer3, memoised under no_grad for a batch of copies of one image."""

    def __init__(self, model):
        super().__init__()
        self.trunk = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool,
                                   model.layer1, model.layer2, model.layer3)
        self.key = None
        self.value = None

    def forward(self, x):
        one = x[:1]
        if torch.is_grad_enabled() or not torch.equal(x, one.expand_as(x)):
            return self.trunk(x)
        if self.key is None or not torch.equal(one, self.key):
            self.key, self.value = one.clone(), self.trunk(one)
        return self.value.expand(x.shape[0], *self.value.shape[1:])


class MemoResNet(nn.Module):
    """Same function as the ResNet; layer4 is the very same module object (target layer)."""

    def __init__(self, model):
        super().__init__()
        self.trunk = TrunkMemo(model)
        self.layer4, self.avgpool, self.fc = model.layer4, model.avgpool, model.fc

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.layer4(self.trunk(x))), 1))


def load_input(size):
    with Image.open(PHOTO) as im:
        im = im.convert("RGB").resize((size, size), Image.BILINEAR)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    arr = (arr - np.float32(MEAN)) / np.float32(STD)
    return np.ascontiguousarray(arr.transpose(2, 0, 1)[None], dtype="<f4")


# --------------------------------------------------------------------------- pytorch side
def torch_cam(model, method, layer, x, cls, ablation_full=False):
    """(pre-ReLU map [h, w], seconds for the whole pytorch-grad-cam call)."""
    cam_model = model
    if method == "ablationcam" and not ablation_full:
        assert layer == "layer4", "the trunk memo only covers layer4"
        cam_model = MemoResNet(model)
    target_layer = model.get_submodule(layer)
    cam = METHODS[method](model=cam_model, target_layers=[target_layer])
    pre = []
    inner = cam.get_cam_image

    def spy(*args, **kwargs):
        out = inner(*args, **kwargs)
        pre.append(np.array(out, copy=True))
        return out

    cam.get_cam_image = spy
    try:
        start = time.perf_counter()
        cam(input_tensor=x, targets=[ClassifierOutputTarget(cls)])
        seconds = time.perf_counter() - start
    finally:
        cam.activations_and_grads.release()
    assert len(pre) == 1
    return pre[0][0].astype(np.float32), seconds


def median_time(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0, times


# --------------------------------------------------------------------------- float64 truth
GRADIENT_FREE = {"scorecam", "ablationcam"}


def projection64(m):
    """get_2d_projection in float64 (signed, before the ReLU)."""
    flat = m.reshape(m.shape[0], -1).T
    flat = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    return (flat @ vt[0]).reshape(m.shape[1:])


def reference64(model64, method, layer, x, cls):
    """The pre-ReLU map from the formulas of make_cam_fixtures.py NOTES, all in float64:
    the yardstick for how far float32 rounding alone moves either side."""
    store = {}
    hook = model64.get_submodule(layer).register_forward_hook(
        lambda m, i, o: store.__setitem__("a", o))
    try:
        out = model64(x.double())
    finally:
        hook.remove()
    (g,) = torch.autograd.grad(out[0, cls], store["a"])
    a, g = store["a"].detach()[0].numpy(), g[0].numpy()
    if method == "gradcam":
        w = g.mean(axis=(1, 2))
    elif method == "hirescam":
        return (g * a).sum(0)
    elif method == "gradcam++":
        s = a.sum(axis=(1, 2))[:, None, None]
        alpha = g ** 2 / (2 * g ** 2 + s * g ** 3 + 1e-6)
        alpha = np.where(g != 0, alpha, 0)
        w = (np.maximum(g, 0) * alpha).sum(axis=(1, 2))
    elif method == "xgradcam":
        w = (g * a).sum(axis=(1, 2)) / (a.sum(axis=(1, 2)) + 1e-7)
    elif method == "layercam":
        return (np.maximum(g, 0) * a).sum(0)
    elif method == "eigencam":
        return projection64(a)
    elif method == "eigengradcam":
        return projection64(g * a)
    else:
        raise ValueError(method)
    return (w[:, None, None] * a).sum(0)


# --------------------------------------------------------------------------- our side
def run_cli(binary, args):
    start = time.perf_counter()
    proc = subprocess.run([binary, *args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"gradcam {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{proc.stdout}\n{proc.stderr}")
    return proc, wall


def ours_cam(binary, weights, x_path, method, layer, cls, cam_path):
    proc, wall = run_cli(binary, [
        "explain", "--input-tensor", str(x_path), "--weights", str(weights),
        "--device", "cpu", "--method", method, "--layer", layer, "--target", str(cls),
        "--cam-out", str(cam_path), "--json"])
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    report = json.loads(line)
    cam = np.load(cam_path)
    assert list(cam.shape) == report["cam_shape"], (cam.shape, report["cam_shape"])
    return cam.astype(np.float32), report, wall


# --------------------------------------------------------------------------- comparison
def scale(m):
    m = np.asarray(m, dtype=np.float64)
    m = m - m.min()
    return m / (1e-7 + m.max())


def compare(method, ours, pre):
    """(max |delta| after min-max, which torch sign matched: '+', '-' or '').

    `ours` is a ReLU'd map (or a signed one: it is ReLU'd here), `pre` a signed one."""
    if ours.shape != pre.shape:
        return float("inf"), f"shape {ours.shape} vs {pre.shape}"
    a = scale(np.maximum(ours, 0))
    plus = float(np.abs(a - scale(np.maximum(pre, 0))).max())
    if method not in EIGEN:
        return plus, ""
    minus = float(np.abs(a - scale(np.maximum(-pre, 0))).max())
    return (plus, "+") if plus <= minus else (minus, "-")


def verdict(row):
    """match; float32 rounding (both float32 maps equally far from the float64 one); MISMATCH."""
    if row["our_top1"] != row["torch_top1"]:
        return "MISMATCH (top-1)"
    if row["delta"] <= TOL:
        return "match"
    if row["ours64"] is not None and row["ours64"] <= max(TOL, 1.5 * row["torch64"]):
        return "float32 rounding"
    return "MISMATCH"


def prob_check(report, probs):
    """(our top-1, top-5 order equal?, max relative error of our top-5 probabilities)."""
    ours = [(p["class"], p["prob"]) for p in report["top5"]]
    theirs = [int(i) for i in np.argsort(-probs, kind="stable")[:5]]
    rel = max(abs(p - probs[c]) / max(probs[c], 1e-30) for c, p in ours)
    return ours[0][0], [c for c, _ in ours] == theirs, float(rel)


# --------------------------------------------------------------------------- report
def fmt_ms(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def machine():
    model = "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return nproc, model


def cpu_snapshot():
    """CPU-seconds used by every process but this one (and its waited-for children) so far."""
    fields = pathlib.Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    # user nice system idle iowait irq softirq steal ...
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7)) / os.sysconf("SC_CLK_TCK")
    t = os.times()
    return busy - (t.user + t.system + t.children_user + t.children_system)


def wait_idle(limit_s):
    """Waits (up to limit_s) until other processes use < 5% of the CPU over 20 s."""
    deadline = time.time() + limit_s
    while True:
        before = cpu_snapshot()
        time.sleep(20)
        busy = (cpu_snapshot() - before) / (20 * (os.cpu_count() or 1))
        if busy < 0.05:
            return busy
        if time.time() > deadline:
            print(f"machine still busy ({busy:.0%}); going ahead anyway")
            return busy
        print(f"machine busy ({busy:.0%} of the CPU used by other processes); waiting")


def write_sections(path, sections):
    """Replaces (or appends) each `## heading` section in `path`, leaving the rest alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    for heading, body in sections:
        block = f"{heading}\n\n{body.strip()}\n"
        pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |^# |\Z)", re.M | re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: block + "\n", text, count=1)
        else:
            text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text.rstrip("\n") + "\n")


# --------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gradcam", default=DEFAULT_BIN, help="the CLI binary")
    parser.add_argument("--pth", help="a real torchvision resnet101 state dict")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--runs", type=int, default=10, help="timed PyTorch runs")
    parser.add_argument("--cli-runs", type=int, default=5, help="timed CLI processes")
    parser.add_argument("--score-size", type=int, default=96, help="ScoreCAM input size")
    parser.add_argument("--ablation-full", action="store_true",
                        help="no trunk memo for pytorch-grad-cam's AblationCAM (slow)")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--wait-idle", type=int, default=0, metavar="S",
                        help="before the benchmark, wait up to S seconds for an idle machine")
    parser.add_argument("--keep", help="keep the .pth/.bpk/.npy files in this folder")
    args = parser.parse_args()
    t_total = time.perf_counter()
    torch.set_num_threads(args.threads)
    binary = args.gradcam
    if not os.access(binary, os.X_OK):
        sys.exit(f"no CLI binary at {binary} (build it, or pass --gradcam)")

    work = pathlib.Path(args.keep) if args.keep else pathlib.Path(
        tempfile.mkdtemp(prefix="resnet101-parity-"))
    work.mkdir(parents=True, exist_ok=True)

    # 1. model and .pth
    if args.pth:
        pth = pathlib.Path(args.pth)
        model = load_model(pth)
        weights_desc = f"`{pth.name}` (torchvision ImageNet weights)"
    else:
        model = build_model()
        pth = work / "resnet101-random.pth"
        torch.save(model.state_dict(), pth)
        weights_desc = ("torchvision `resnet101(weights=None)`, seed 0, BatchNorm calibrated "
                        "on noise then randomised, fc rescaled (see the script's docstring)")
    for p in model.parameters():
        p.requires_grad_(True)
    print(f"weights: {pth} ({pth.stat().st_size / 1e6:.1f} MB)")

    # 2. convert
    bpk = work / "resnet101.bpk"
    _, convert_s = run_cli(binary, ["convert", "--arch", "resnet101", str(pth), str(bpk)])
    print(f"gradcam convert: {convert_s:.2f} s -> {bpk.stat().st_size / 1e6:.1f} MB")

    # 3. inputs
    inputs = {}
    for size in sorted({SIZE, args.score_size}):
        arr = load_input(size)
        path = work / f"chelsea.{size}.npy"
        np.save(path, arr)
        x = torch.from_numpy(arr)
        with torch.no_grad():
            logits = model(x)[0].double()
        probs = torch.softmax(logits, 0).numpy()
        inputs[size] = {"path": path, "x": x, "probs": probs, "top1": int(probs.argmax())}
        top5 = np.argsort(-probs, kind="stable")[:5]
        print(f"input {size}x{size}: torch top-5 {[(int(c), round(float(probs[c]), 4)) for c in top5]}"
              f", logit std {float(logits.std()):.2f}")

    # 4. benchmark (before the long parity pass, right after checking the machine is idle)
    if args.wait_idle:
        wait_idle(args.wait_idle)
    cpu_before = cpu_snapshot()
    bench_start = time.perf_counter()
    x = inputs[SIZE]["x"]
    cls = inputs[SIZE]["top1"]

    def forward():
        with torch.no_grad():
            model(x)

    fwd_ms, _ = median_time(forward, args.runs)
    gc = GradCAM(model=model, target_layers=[model.layer4])
    gc_ms, _ = median_time(lambda: gc(input_tensor=x, targets=[ClassifierOutputTarget(cls)]),
                           args.runs)
    gc.activations_and_grads.release()
    ec = EigenCAM(model=model, target_layers=[model.layer4])
    ec_ms, _ = median_time(lambda: ec(input_tensor=x, targets=[ClassifierOutputTarget(cls)]),
                           args.runs)
    ec.activations_and_grads.release()

    our_bench = {}
    for method in ["gradcam", "eigencam"]:
        cams, walls = [], []
        for _ in range(args.cli_runs):
            _, report, wall = ours_cam(binary, bpk, inputs[SIZE]["path"], method, "layer4",
                                       cls, work / "bench.npy")
            cams.append(report["timings_ms"]["cam_ms"])
            walls.append(wall)
        our_bench[method] = {"cam_ms": statistics.median(cams), "wall_s": statistics.median(walls),
                        "all": cams}
    print(f"torch forward {fwd_ms:.1f} ms; pytorch-grad-cam GradCAM {gc_ms:.1f} ms, EigenCAM "
          f"{ec_ms:.1f} ms; ours gradcam cam_ms {our_bench['gradcam']['all']}, eigencam cam_ms "
          f"{our_bench['eigencam']['all']}")
    bench_s = time.perf_counter() - bench_start
    other_cpu_s = cpu_snapshot() - cpu_before
    busy = other_cpu_s / (bench_s * (os.cpu_count() or 1))
    print(f"benchmark: {bench_s:.0f} s wall; other processes used {other_cpu_s:.1f} CPU-s "
          f"({busy:.0%} of the machine)")
    if busy > 0.05:
        print("WARNING: something else was using the CPU during the benchmark; its "
              "figures are not trustworthy")

    # 5. parity
    parity_cpu_before = cpu_snapshot()
    parity_start = time.perf_counter()
    model64 = (load_model(pth) if args.pth else build_model()).double()
    plan = [(m, "layer4") for m in METHODS]
    plan += [(m, layer) for layer in INNER_LAYERS for m in INNER_METHODS]
    rows = []
    for method, layer in plan:
        size = args.score_size if method == "scorecam" else SIZE
        inp = inputs[size]
        cls = inp["top1"]
        pre, torch_s = torch_cam(model, method, layer, inp["x"], cls, args.ablation_full)
        cam_path = work / f"cam.{method}.{layer}.npy"
        ours, report, wall = ours_cam(binary, bpk, inp["path"], method, layer, cls, cam_path)
        delta, sign = compare(method, ours, pre)
        torch64 = ours64 = None
        if method not in GRADIENT_FREE:
            ref = reference64(model64, method, layer, inp["x"], cls)
            torch64, _ = compare(method, pre, ref)
            ours64, _ = compare(method, ours, ref)
        our_top1, same_order, rel = prob_check(report, inp["probs"])
        row = {"method": method, "layer": layer, "size": size, "target": cls,
               "shape": "x".join(map(str, pre.shape)), "delta": delta, "sign": sign,
               "our_top1": our_top1, "torch_top1": cls, "same_top5": same_order,
               "prob_rel": rel, "torch_ms": torch_s * 1000.0,
               "our_ms": report["timings_ms"]["cam_ms"], "our_wall_s": wall,
               "all_zero": bool(np.maximum(pre, 0).max() <= 0),
               "ours_all_zero": bool(ours.max() <= 0), "torch64": torch64, "ours64": ours64}
        row["verdict"] = verdict(row)
        rows.append(row)
        flag = "" if row["verdict"] == "match" else f"   <-- {row['verdict']}"
        f64 = "" if torch64 is None else f" [vs f64: torch {torch64:.1e}, ours {ours64:.1e}]"
        print(f"{method:>12} {layer:>9} {size}px {row['shape']:>5}: max|d| {delta:.2e}"
              f"{' (sign ' + sign + ')' if sign else ''}  top1 {our_top1}/{cls}"
              f" prob rel {rel:.1e}  torch {row['torch_ms']:,.0f} ms  ours "
              f"{row['our_ms']:,.0f} ms{f64}{flag}", flush=True)

    parity_other_s = cpu_snapshot() - parity_cpu_before
    parity_busy = parity_other_s / ((time.perf_counter() - parity_start) * (os.cpu_count() or 1))
    total_s = time.perf_counter() - t_total

    # 6. tables
    nproc, cpu = machine()
    today = datetime.date.today().isoformat()
    cmd = "python " + " ".join(shlex.quote(a) for a in
                               [str(pathlib.Path(sys.argv[0]).resolve().relative_to(ROOT))
                                if pathlib.Path(sys.argv[0]).resolve().is_relative_to(ROOT)
                                else sys.argv[0], *sys.argv[1:]])
    bin_path = pathlib.Path(binary)
    profile = ("debug (`dev` profile: dependencies opt-level 3, this crate opt-level 1)"
               if "/debug/" in str(bin_path) else "release")
    g, e = our_bench["gradcam"], our_bench["eigencam"]
    fwd_ours, fwd_src = min((g["cam_ms"], "Grad-CAM layer4"), (e["cam_ms"], "EigenCAM layer4"))
    warn = ("" if busy <= 0.05 else
            "\n**Warning: other processes competed for the CPU; these timings are not clean.**")
    bench = f"""Date: {today}. Machine: {nproc} CPU cores (`nproc`), {cpu}, no GPU.
During the {bench_s:.0f} s of timing, other processes used {other_cpu_s:.1f} CPU-seconds
({busy:.0%} of the machine; from /proc/stat minus this script and its children).{warn}
Command (from the repo root):

    {cmd}

Software: torch {torch.__version__} (`torch.set_num_threads({args.threads})`), torchvision
{torchvision.__version__}, grad-cam {version('grad-cam')}, Python {platform.python_version()};
ours: `{binary}`, {profile}, `--device cpu` (burn `flex` backend).
Weights: {weights_desc}; `gradcam convert --arch resnet101` took {convert_s:.1f} s (whole
process) for {pth.stat().st_size / 1e6:.0f} MB -> {bpk.stat().st_size / 1e6:.0f} MB.
Input: chelsea.png resized to {SIZE}x{SIZE}, target = PyTorch's top-1 class ({cls}).

| What (224x224, batch 1) | PyTorch / pytorch-grad-cam | ours (CLI) | ours / PyTorch |
|---|---:|---:|---:|
| Forward only | {fmt_ms(fwd_ms)} ms (no_grad) | <= {fmt_ms(fwd_ours)} ms ({fwd_src} `cam_ms`, upper bound) | <= {fwd_ours / fwd_ms:.2f} |
| EigenCAM layer4 (forward + SVD) | {fmt_ms(ec_ms)} ms | {fmt_ms(e['cam_ms'])} ms | {e['cam_ms'] / ec_ms:.2f} |
| Grad-CAM layer4, full call | {fmt_ms(gc_ms)} ms | {fmt_ms(g['cam_ms'])} ms (`cam_ms`) | {g['cam_ms'] / gc_ms:.2f} |
| Grad-CAM layer4, whole CLI process | - | {g['wall_s']:.2f} s (incl. reading + loading weights) | - |

PyTorch figures: medians of {args.runs} timed runs after 2 warm-ups; the pytorch-grad-cam
call includes its forward, backward (through the whole network, parameter gradients
included) and per-layer scaling/resize. Ours: median `cam_ms` of {args.cli_runs} CLI
processes (forward, backward and map, read-back included; weights loading and process start
excluded). The CLI has no forward-only command; our forward-only figure is the smaller of
the Grad-CAM and EigenCAM layer4 medians (Grad-CAM at layer4 runs the trunk without autodiff
-- the layer4 activations are a leaf -- and back-propagates only through avgpool + fc;
EigenCAM is one forward plus a power-iteration PCA of the 49x2048 layer4 matrix on the
host). PyTorch's Grad-CAM back-propagates through the whole network.

Per method (single runs, from the parity pass; ScoreCAM on {args.score_size}x{args.score_size}:
2048 masked forwards on both sides; pytorch-grad-cam's AblationCAM with the memoised trunk
described in the script, so its time is not its real cost; other processes used
{parity_busy:.0%} of the machine during this pass):

| Method | Layer | Input | pytorch-grad-cam ms | ours `cam_ms` | ours / PyTorch |
|---|---|---:|---:|---:|---:|
"""
    for r in rows:
        note = " (memo)" if r["method"] == "ablationcam" and not args.ablation_full else ""
        bench += (f"| {r['method']} | {r['layer']} | {r['size']} | {fmt_ms(r['torch_ms'])}{note} "
                  f"| {fmt_ms(r['our_ms'])} | {r['our_ms'] / r['torch_ms']:.2f} |\n")
    bench += f"\nTotal script runtime: {total_s / 60:.1f} min.\n"

    worst = max(r["delta"] for r in rows)
    parity = f"""Same run as above ({today}; command above). {weights_desc}.
Per case: pytorch-grad-cam {version('grad-cam')}'s per-layer map before its scaling
(ReLU(get_cam_image)) vs our `--cam-out` map, both min-max normalised
((m - min) / (1e-7 + max)), max |delta| over the map. Eigen methods: the better of the two
SVD signs. Target: PyTorch's top-1 class ({inputs[SIZE]['top1']} at 224x224,
{inputs[args.score_size]['top1']} at {args.score_size}x{args.score_size} for ScoreCAM), passed
as `--target`. layer3.22 is layer3's last block (same output as layer3); layer3.10 is an
inner block. Tolerance {TOL:g}; worst case {worst:.1e}.

Worst max |delta| per method and layer:

| Method | {' | '.join(['layer4'] + INNER_LAYERS)} |
|---|{'---:|' * (1 + len(INNER_LAYERS))}
"""
    for method in METHODS:
        cells = []
        for layer in ["layer4"] + INNER_LAYERS:
            hits = [r["delta"] for r in rows if r["method"] == method and r["layer"] == layer]
            cells.append(f"{max(hits):.1e}" if hits else "-")
        parity += f"| {method} | {' | '.join(cells)} |\n"
    parity += """
Details. "vs f64": the same map computed from the method's formula with the whole network
in float64 (torch, independent of pytorch-grad-cam; not for ScoreCAM / AblationCAM), compared
the same way with pytorch-grad-cam's float32 map and with ours: where both float32 maps are
about equally far from it, the difference between them is float32 rounding (deep backward
passes: a ReLU whose input is ~0 can switch between implementations), not a bug. Sign:
whether ours matched pytorch-grad-cam's own SVD sign ("same") or its negation ("flipped").
Top-1 / top-5: from the CLI's `top5` vs torch's softmax; prob. rel. err.: the largest relative
error of our top-5 probabilities.

| Method | Layer | Input | Map | max abs delta | torch f32 vs f64 | ours vs f64 | Sign | Top-1 ours / torch | Top-5 order | Prob rel. err. | Verdict |
|---|---|---:|---:|---:|---:|---:|:-:|---:|:-:|---:|---|
"""
    signs = {"+": "same", "-": "flipped", "": "-"}
    for r in rows:
        zero = " (all zero)" if r["all_zero"] else ""
        f64 = ("- | -" if r["torch64"] is None
               else f"{r['torch64']:.1e} | {r['ours64']:.1e}")
        parity += (f"| {r['method']} | {r['layer']} | {r['size']} | {r['shape']} | "
                   f"{r['delta']:.1e}{zero} | {f64} | {signs.get(r['sign'], r['sign'])} | "
                   f"{r['our_top1']} / {r['torch_top1']} | "
                   f"{'same' if r['same_top5'] else 'DIFFERENT'} | {r['prob_rel']:.1e} | "
                   f"{r['verdict']} |\n")

    print("\n" + SECTION_BENCH + "\n\n" + bench)
    heading = SECTION_PARITY_REAL if args.pth else SECTION_PARITY_RANDOM
    print(heading + "\n\n" + parity)
    bad = [r for r in rows if r["verdict"].startswith("MISMATCH")]
    for r in rows:
        if r["verdict"] != "match":
            print(f"{r['verdict']}: {r['method']} {r['layer']}: max|d| {r['delta']:.2e} (vs f64:"
                  f" torch {r['torch64']}, ours {r['ours64']}), top-1 {r['our_top1']} vs "
                  f"{r['torch_top1']}")
    if not args.no_write:
        write_sections(ROOT / "BENCHMARKS.md", [(SECTION_BENCH, bench), (heading, parity)])
        print(f"wrote {ROOT / 'BENCHMARKS.md'}")
    if args.keep:
        print(f"files kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"total runtime {total_s:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
