"""Peer benchmark, PyTorch side: ResNet-101 forward, Grad-CAM and per-stage times on the CPU.

NOT a CI test; run by hand (issue 7: ours vs PyTorch natively, ours vs ONNX Runtime Web).
Nothing under tests/ runs it. Needs torch, torchvision, grad-cam (pytorch-grad-cam), pillow,
numpy; `--export-onnx` also needs the `onnx` package.

    python tests/reference/bench_peer_pytorch.py [--pth FILE] [--threads N] [--device cuda] \
        [--runs 10] [--warmup 3] \
        [--export-onnx /var/cache/gradcam-web/bench/resnet101.onnx] \
        [--save-pth /var/cache/gradcam-web/bench/resnet101.pth]

Model: torchvision's `resnet101(weights=None)` after `torch.manual_seed(0)` (plain
torchvision initialisation, so activations grow large through the blocks; that does not
matter for timing), or the state dict in `--pth`; always `.eval()`. `--save-pth` and
`--export-onnx` write that very model, so our engine and ONNX Runtime Web can run the same
weights (ONNX: opset 17, legacy TorchScript exporter, input "input" float32 [1, 3, 224, 224]
static, output "logits" [1, 1000]).

Input: tests/fixtures/chelsea.png, whole photo -> RGB -> 224x224 (PIL BILINEAR, no crop),
/255, ImageNet mean/std, [1, 3, 224, 224] float32.

Measured with time.perf_counter, `--warmup` untimed calls then `--runs` timed ones:
  forward_ms  model(x) under torch.inference_mode() (logits only);
  gradcam_ms  one full pytorch-grad-cam call, `GradCAM(model, target_layers=[layer4[-1]])`
              with `ClassifierOutputTarget(top1)`: forward, backward, CAM, upscale to 224x224
              (the library's normal usage; the hooks are registered once, outside the timing);
  stages_ms   medians of each stage alone on its real input, under inference_mode: stem
              (conv1, bn1, relu, maxpool), layer1..layer4, head (avgpool, flatten, fc).
`--device cuda` (or `mps`) runs the same on that device (`./dev bench --gpu`); every timed
call then ends with the device synchronised, as ours ends with a read-back.
stdout gets one JSON object; progress and a human-readable summary go to stderr.

Run it on an idle machine: with as many torch threads as cores, one other busy process makes
the OpenMP threads wait on each other and single stages take 10-20x longer (seen on 2 cores:
layer3 89 ms when idle, 1-3.5 s next to one nice'd test process). `loadavg` in the JSON is
os.getloadavg() at the start; compare `--threads 1` when in doubt.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

ROOT = pathlib.Path(__file__).resolve().parents[2]
PHOTO = ROOT / "tests" / "fixtures" / "chelsea.png"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
SIZE = 224


def log(*parts):
    """Human-readable progress on stderr (stdout carries only the JSON)."""
    print(*parts, file=sys.stderr, flush=True)


def build_model(pth=None, seed=0):
    """torchvision ResNet-101: seeded random initialisation, or the state dict in `pth`."""
    torch.manual_seed(seed)
    model = torchvision.models.resnet101(weights=None)
    if pth:
        model.load_state_dict(torch.load(pth, map_location="cpu", weights_only=True))
    return model.eval()


def load_input():
    """chelsea.png as the normalised [1, 3, 224, 224] float32 tensor both sides use."""
    with Image.open(PHOTO) as im:
        im = im.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    arr = (arr - np.float32(MEAN)) / np.float32(STD)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)[None]))


def synchronize(device):
    """Waits until `device` has finished its queued work (nothing to wait for on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn, runs, warmup, device=torch.device("cpu")):
    """Calls fn `warmup` times untimed, then `runs` times, each until `device` has finished;
    {median, min, all} in ms."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    return {"median": statistics.median(times), "min": min(times), "all": times}


def stages(model):
    """The forward split in the six stages that are timed separately, in order."""
    return [
        ("stem", torch.nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)),
        ("layer1", model.layer1),
        ("layer2", model.layer2),
        ("layer3", model.layer3),
        ("layer4", model.layer4),
        ("head", torch.nn.Sequential(model.avgpool, torch.nn.Flatten(1), model.fc)),
    ]


def export_onnx(model, x, out):
    """Writes the model as ONNX: opset 17, static [1, 3, 224, 224] "input" -> "logits"."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (x,), str(out), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True)
    import onnx  # only needed here

    onnx.checker.check_model(str(out))
    log(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


def save_pth(model, out):
    """Saves the state dict with torch.save (zip format), loadable with --pth."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), str(out))
    log(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pth", help="state dict to load instead of the seeded random weights")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before them")
    parser.add_argument("--export-onnx", metavar="OUT.onnx", help="also export the model as ONNX")
    parser.add_argument("--save-pth", metavar="OUT.pth", help="also save the model's state dict")
    parser.add_argument("--device", default="cpu", help="torch device to time on (cpu, cuda, mps)")
    args = parser.parse_args()

    loadavg = os.getloadavg()
    torch.set_num_threads(args.threads)
    model = build_model(args.pth)
    x = load_input()
    if args.save_pth:
        save_pth(model, args.save_pth)
    if args.export_onnx:
        export_onnx(model, x, args.export_onnx)
    device = torch.device(args.device)
    model, x = model.to(device), x.to(device)

    log(f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads, "
        f"{args.warmup} warm-up + {args.runs} timed runs each")

    with torch.inference_mode():
        logits = model(x)
        top1 = int(logits.argmax(1))
        forward = timed(lambda: model(x), args.runs, args.warmup, device)
    log(f"forward   median {forward['median']:8.1f} ms   min {forward['min']:8.1f} ms   (top-1 {top1})")

    stage_ms = {}
    with torch.inference_mode():
        h = x
        for name, stage in stages(model):
            inp = h
            stage_ms[name] = timed(lambda: stage(inp), args.runs, args.warmup, device)["median"]
            h = stage(inp)
        # A GPU may pick other convolution algorithms per call: the same to rounding there.
        same = torch.equal(h, logits) if device.type == "cpu" else torch.allclose(h, logits, rtol=1e-3)
        assert same, "the stages do not compose to the model's forward"
    log("stages    " + "  ".join(f"{k} {v:.1f}" for k, v in stage_ms.items())
        + f"  (sum {sum(stage_ms.values()):.1f} ms)")

    targets = [ClassifierOutputTarget(top1)]
    with GradCAM(model=model, target_layers=[model.layer4[-1]]) as cam:
        gradcam = timed(lambda: cam(input_tensor=x, targets=targets), args.runs, args.warmup, device)
    log(f"gradcam   median {gradcam['median']:8.1f} ms   min {gradcam['min']:8.1f} ms")

    print(json.dumps({
        "torch": torch.__version__,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "runs": args.runs,
        "warmup": args.warmup,
        "weights": args.pth or "torchvision resnet101(weights=None), seed 0",
        "top1": top1,
        "loadavg": [round(v, 2) for v in loadavg],
        "forward_ms": forward,
        "gradcam_ms": gradcam,
        "stages_ms": stage_ms,
    }))


if __name__ == "__main__":
    main()
