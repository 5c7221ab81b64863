"""Reference fixtures for the Rust engine's CAM methods, computed with pytorch-grad-cam.

What it does
------------
- Defines two tiny ResNets with torchvision's state-dict key layout (conv1, bn1,
  layer1.0.conv1 ... layerN.M.downsample.0/.1, fc), seeded random weights: convs
  kaiming-normal (fan_out, relu) as torchvision initialises them, fc PyTorch's
  default, BatchNorm running_mean U(-0.3, 0.3), running_var U(0.5, 2),
  weight U(0.5, 1.5), bias U(-0.2, 0.2); eval mode.
    tiny_bottleneck  bottleneck blocks (torchvision V1.5: stride on the 3x3 conv2,
                     expansion 4), stem 8, inner widths 8/16/32/64 -> 32/64/128/256
                     channels, depths [1, 1, 2, 1], 10 classes
    tiny_basic       basic blocks, widths 8/16/32/64, depths [1, 1, 1, 1], 10 classes
- Inputs: tests/fixtures/chelsea.png and grace_hopper.jpg, whole photo converted to
  RGB, resized to 128x128 with PIL Image.BILINEAR, /255, ImageNet mean/std.
  layer4 is then 4x4, layer3 8x8, layer2 16x16.
- Runs pytorch-grad-cam (package `grad-cam` 1.5.7) with default constructor options:
  GradCAM, HiResCAM, GradCAMPlusPlus, XGradCAM, LayerCAM, EigenCAM, EigenGradCAM,
  ScoreCAM, AblationCAM, on layer4 / layer3 / one block, for the top-1 class, the
  3rd most likely class and the contrast target logit[top1] - logit[2nd].
- Records, per case, the per-layer map BEFORE pytorch-grad-cam's min-max scaling and
  resize (`raw`, i.e. ReLU(get_cam_image(...)), exactly the array compute_cam_per_layer
  hands to scale_cam_image), and for the eigen methods the signed projection (the
  output of get_cam_image before the ReLU). Both are captured by spying: the CAM
  object's get_cam_image is wrapped (pre-ReLU) and base_cam.scale_cam_image is
  wrapped (its input is the ReLU'd map); the script asserts raw == max(pre, 0).
- Records full 128x128 outputs (`final`) for five cases, and pixel-space saliency /
  SmoothGrad maps computed with torch autograd.
- Eigen projections use pytorch-grad-cam's own get_2d_projection_with_sign_correction
  (patched in for get_2d_projection), the sign rule the engine uses, so every eigen
  case and final is compared as it is, never "either sign".
- AblationCAM also for targets with a negative score (the least likely class, and the
  contrast 2nd - top1), with pytorch-grad-cam's signed map (`signed`, its weights
  divided by a negative y): the engine must give ReLU(-signed).
- tiny_basic_peaked: tiny_basic with fc scaled by 32 (exact: a power of two), Score-CAM
  cases only, where the softmax over channels is peaked (`softmax_weights` in each case).
- Re-implements every method independently from the formulas in `notes` (numpy /
  torch, float64 where it can) and asserts that they match pytorch-grad-cam, so
  the notes are checked, not only written.

Writes tests/fixtures/cam/:
  tiny_bottleneck.pth, tiny_basic.pth       torch.save(state_dict) (zip format)
  chelsea.input.npy, grace_hopper.input.npy float32 [1, 3, 128, 128] ('<f4', C order)
  <model>.<photo>.finals.npy                float16 [5, 128, 128] (order: finals_order)
  <model>.<photo>.pixel.npy                 float32 [2, 128, 128] (saliency, smoothgrad)
  <model>.json                              config, logits, cases, notes
  tiny_basic_peaked.json                    Score-CAM cases only (weights: tiny_basic.pth,
                                            fc.weight and fc.bias times config.fc_scale)

How to run
----------
    pip install torch torchvision grad-cam==1.5.7 numpy opencv-python-headless pillow
    python tests/reference/make_cam_fixtures.py [MODEL ...]   # default: every model

The Rust tests only read the files written here; they never run Python.
"""

import json
import os
import pathlib
import re
import sys
from importlib.metadata import version

os.environ.setdefault("TQDM_DISABLE", "1")  # ScoreCAM / AblationCAM progress bars

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
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
from pytorch_grad_cam import base_cam, eigen_cam, eigen_grad_cam  # noqa: E402
from pytorch_grad_cam.utils import svd_on_activations  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "cam"
SIZE = 128
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
PHOTOS = ["chelsea.png", "grace_hopper.jpg"]
SMOOTHGRAD_N = 50
SMOOTHGRAD_NOISE = 0.15
# float32 finals would put tests/fixtures/cam/ at ~3.3 MB (> the 3 MB budget); the maps
# are in [0, 1], where float16 is within 2.5e-4.
FINALS_DTYPE = "<f2"

MODELS = {
    "tiny_bottleneck": {
        "block": "bottleneck", "stem_width": 8, "widths": [8, 16, 32, 64], "expansion": 4,
        "depths": [1, 1, 2, 1], "classes": 10, "seed": 0,
        # layer3.1 is the brief's block; layer3.0 is extra (layer3.1 is the last block
        # of layer3, so its output IS layer3's output; layer3.0 is a genuinely inner one).
        "block_layers": ["layer3.1", "layer3.0"],
    },
    "tiny_basic": {
        "block": "basic", "stem_width": 8, "widths": [8, 16, 32, 64], "expansion": 1,
        "depths": [1, 1, 1, 1], "classes": 10, "seed": 1,
        # layer2 has a single block, so layer2.0's output equals layer2's output.
        "block_layers": ["layer2.0"],
    },
    # tiny_basic with fc.weight and fc.bias multiplied by FC_SCALE (a power of two, so the
    # scaled weights and logits are exact in float32): target scores of order 30 make
    # Score-CAM's softmax over channels peaked (about 1.5-8 effective channels of 32-64
    # instead of all of them), so its parity cases depend on each channel's masked score.
    # No .pth of its own: the tests scale tiny_basic.pth's fc the same way.
    "tiny_basic_peaked": {
        "block": "basic", "stem_width": 8, "widths": [8, 16, 32, 64], "expansion": 1,
        "depths": [1, 1, 1, 1], "classes": 10, "seed": 1, "block_layers": [],
        "weights_of": "tiny_basic", "fc_scale": 32.0, "methods": ["ScoreCAM"],
    },
}

METHODS = {
    "GradCAM": GradCAM,
    "HiResCAM": HiResCAM,
    "GradCAMPlusPlus": GradCAMPlusPlus,
    "XGradCAM": XGradCAM,
    "LayerCAM": LayerCAM,
    "EigenCAM": EigenCAM,
    "EigenGradCAM": EigenGradCAM,
    "ScoreCAM": ScoreCAM,
    "AblationCAM": AblationCAM,
}
EIGEN = {"EigenCAM", "EigenGradCAM"}
BLOCK_METHODS = ["GradCAM", "GradCAMPlusPlus", "LayerCAM"]
FINALS_ORDER = [
    "GradCAM layer4 top1",
    "GradCAM target_layers=[layer3, layer4] top1 (fused)",
    "GradCAM layer4 top1 aug_smooth=True",
    "GradCAMPlusPlus layer4 top1 eigen_smooth=True",
    "EigenCAM layer4 (targets ignored; top1 passed)",
]

NOTES = {
    "source": f"grad-cam {version('grad-cam')} (pip, package pytorch_grad_cam), ttach "
              f"{version('ttach')}; file:line refer to site-packages/pytorch_grad_cam/ and "
              "site-packages/ttach/",
    "notation": "A = target-layer output activations [C,h,w] for the single image (batch 1), "
                "float32; g = d target(logits) / dA (same shape); sums over hw are over the h*w "
                "spatial positions; k indexes channels.",
    "gradients": "base_cam.py:111-115: loss = sum over batch of target(output_row) where "
                 "output_row is the 1-D logit vector [classes]; loss.backward(). g is captured "
                 "by a tensor hook registered on the target module's forward output "
                 "(activations_and_gradients.py:30-44); A is that same output "
                 "(activations_and_gradients.py:21-26). With several target layers the "
                 "activations list is in forward-execution order and gradients are prepended "
                 "as they arrive (so also forward order): target_layers must be listed in "
                 "forward order for them to pair up (base_cam.py:161-170 pairs by index).",
    "targets": "ClassifierOutputTarget(c)(row) = row[c] (utils/model_targets.py:6-13), the raw "
               "logit, no softmax. Contrast target here: row[A] - row[B] (a plain callable).",
    "raw": "base_cam.py:170-171: cam = get_cam_image(...) [1,h,w]; cam = np.maximum(cam, 0). "
           "`raw` in the cases is exactly this ReLU'd array (captured as the first argument of "
           "scale_cam_image, base_cam.py:172).",
    "weighted_sum": "Channel-weight methods (GradCAM, GradCAMPlusPlus, XGradCAM, ScoreCAM, "
                    "AblationCAM) use BaseCAM.get_cam_image (base_cam.py:76-92): "
                    "cam = sum_k w_k * A_k (weights[:, :, None, None] * activations, "
                    ".sum(axis=1)); with eigen_smooth=True instead "
                    "cam = get_2d_projection(w_k * A_k) (base_cam.py:88-89).",
    "GradCAM": "grad_cam.py:23-24: w_k = mean_hw(g_k); cam = ReLU(sum_k w_k A_k).",
    "HiResCAM": "hirescam.py:23,30: cam = ReLU(sum_k g_k (.) A_k) (elementwise product, "
                "summed over channels; no spatial averaging).",
    "GradCAMPlusPlus": "grad_cam_plusplus.py:19-34: S_k = sum_hw A_k (sum of activations of "
                       "channel k, NOT of the gradient); alpha = g^2 / (2 g^2 + S_k g^3 + 1e-6) "
                       "elementwise (eps = 0.000001, line 26); alpha = 0 where g == 0 "
                       "(line 31); w_k = sum_hw ReLU(g) * alpha (lines 33-34); "
                       "cam = ReLU(sum_k w_k A_k). g is the plain gradient of the target "
                       "logit (no exp / softmax terms).",
    "XGradCAM": "xgrad_cam.py:24-31: w_k = sum_hw(g_k * A_k) / (sum_hw A_k + 1e-7); "
                "cam = ReLU(sum_k w_k A_k).",
    "LayerCAM": "layer_cam.py:28,33: cam = ReLU(sum_k ReLU(g_k) (.) A_k) (elementwise).",
    "EigenCAM": "eigen_cam.py:13,22: uses_gradients=False, targets are ignored entirely; "
                "projection = get_2d_projection(A); cam = ReLU(projection). The eigen_smooth "
                "flag is ignored.",
    "EigenGradCAM": "eigen_grad_cam.py:21: projection = get_2d_projection(g (.) A) "
                    "(elementwise product, then PCA); cam = ReLU(projection). eigen_smooth "
                    "ignored.",
    "get_2d_projection": "utils/svd_on_activations.py:5-21: per image, NaN -> 0; "
                         "M = X.reshape(C, h*w).T, shape [h*w, C] (rows = positions, row "
                         "index = y*w + x); M = M - M.mean(axis=0) (subtract each CHANNEL's "
                         "mean over the h*w positions); U,S,VT = np.linalg.svd(M, "
                         "full_matrices=True) (float32 LAPACK); projection = M @ VT[0, :] "
                         "(= S[0] * U[:, 0], the signed first principal-component score of "
                         "each position), reshaped to [h, w], cast to float32. The sign of "
                         "VT[0] is whatever LAPACK returns, so ReLU(projection) may keep "
                         "either lobe. The engine uses the rule of "
                         "get_2d_projection_with_sign_correction (same file, lines 40-80: "
                         "negate when |min| > |max|), so these fixtures are made with that "
                         "function patched in for get_2d_projection in base_cam, eigen_cam "
                         "and eigen_grad_cam: `projection`, `raw` and the EigenCAM and "
                         "eigen_smooth finals are all sign-corrected and compared as they "
                         "are.",
    "ScoreCAM": "score_cam.py:23-57, uses_gradients=False (line 15). Under no_grad: "
                "U = torch.nn.UpsamplingBilinear2d(size=input HxW)(A) -- this is bilinear "
                "with align_corners=True (line 24); per channel m_k = (U_k - min U_k) / "
                "(max U_k - min U_k + 1e-8) (lines 31-37); masked input x_k = x * m_k where x "
                "is the already-normalised input tensor (so masked-out pixels become 0, i.e. "
                "the ImageNet mean colour) (line 39); s_k = target(model(x_k)) = the RAW "
                "target value (logit, or logit difference for the contrast target) -- no "
                "softmax over classes and no subtraction of a baseline score (lines 48-53); "
                "w = softmax over the C CHANNELS of s (torch.nn.Softmax(dim=-1) on [1,C], "
                "line 56); cam = ReLU(sum_k w_k A_k). Batching (BATCH_SIZE 16 default, "
                "line 45) does not change the result (eval-mode BatchNorm).",
    "AblationCAM": "ablation_cam.py:75-150 with ablation_layer.py:70-85, defaults "
                   "batch_size=32, ratio_channels_to_ablate=1.0 (all channels ablated, "
                   "ablation_layer.py:35-37). y = target(model(x)) (lines 85-89, raw logit "
                   "/ logit difference). The target module is replaced by an AblationLayer "
                   "that ignores its input and returns the cached target-layer output A with "
                   "channel k overwritten: by 0 if min(A) == 0 (true for a ReLU'd block "
                   "output; min over the whole batched tensor), otherwise by min(A) - 1e7 "
                   "(ABLATION_VALUE, ablation_layer.py:78-83). y_k = target(rest of network "
                   "on that); the min(A) == 0 test is re-evaluated for each row after earlier "
                   "rows were overwritten. w_k = (y - y_k) / y (line 145; divides by y itself, so a "
                   "NEGATIVE y flips every weight's sign, and y near 0 gives inf/NaN); "
                   "cam = ReLU(sum_k w_k A_k). The engine divides by max(|y|, eps) instead: "
                   "the same for y > eps, the negated weights for y < 0, so for the "
                   "`negative` and `reversed_contrast` cases its map is ReLU(-signed). "
                   "Scores go through np.float32 / .item() (lines 63, 88, 142).",
    "scale_cam_image": "utils/image.py:161-176: per map img = img - min(img); "
                       "img = img / (1e-7 + max(img)) (max AFTER subtracting the min); then, "
                       "if target_size is given, cv2.resize(float32 img, (W, H)) with the "
                       "default INTER_LINEAR (half-pixel centres, edge clamp, no "
                       "antialias); float32.",
    "final": "base_cam.py:148-181: per target layer: raw -> scale_cam_image(raw, (W, H)) "
             "(min-max THEN resize to the input size); layers concatenated, np.maximum(., 0), "
             "mean over layers, then scale_cam_image again without resize (min-max). For a "
             "single layer the last step re-min-maxes an already [0,1] map (tiny changes "
             "only, from the bilinear resize and 1e-7).",
    "aug_smooth": "base_cam.py:40-46 and 183-205; ttach base.py:88-114, transforms.py:7-31 and "
                  "220-237, functional.py:10-12 (x.flip(3)) and 40-42 (x * factor). "
                  "tta.Compose([HorizontalFlip(), Multiply(factors=[0.9, 1, 1.1])]) iterates "
                  "itertools.product([False, True], [0.9, 1, 1.1]) = 6 transforms in the "
                  "order (noflip,0.9) (noflip,1) (noflip,1.1) (flip,0.9) (flip,1) (flip,1.1). "
                  "Each: x' = hflip?(x) * factor, applied to the NORMALISED input tensor "
                  "(factor 1 leaves it unchanged); final_i = the full forward() output "
                  "(per-layer min-max + resize, layer mean, min-max) for the SAME targets "
                  "(targets are not re-derived per augmentation when given); de-augment: "
                  "flip final_i back horizontally if flipped (Multiply is image-only, no "
                  "mask de-augmentation); result = np.mean of the 6 de-augmented finals "
                  "(float32), with NO re-normalisation after the mean. aug_smooth_parts holds "
                  "each transform's raw map (ReLU'd, h x w) in the AUGMENTED frame, i.e. "
                  "still mirrored for hflip=true, for debugging.",
    "eigen_smooth": "base_cam.py:88-89 (BaseCAM.get_cam_image, i.e. GradCAM, GradCAMPlusPlus, "
                    "XGradCAM, ScoreCAM, AblationCAM): cam = get_2d_projection(w[:, :, None, "
                    "None] * A) instead of sum_k w_k A_k, i.e. the first principal-component "
                    "score (centred per channel over positions, see get_2d_projection) of the "
                    "weighted activations; then ReLU as usual. HiResCAM/LayerCAM apply it to "
                    "their elementwise products (hirescam.py:25-28, layer_cam.py:30-31); "
                    "EigenCAM/EigenGradCAM ignore the flag.",
    "observations": "At layer4 (followed only by global average pooling and fc) g_k is "
                    "spatially constant, = fc.weight[c, k] / (h*w) (difference of two rows "
                    "for the contrast target), so GradCAM, HiResCAM and XGradCAM give the "
                    "same layer4 map (up to float rounding); layer3 and block cases tell "
                    "them apart. EigenCAM's maps are identical for all targets. Every "
                    "AblationCAM case here ablates with 0 (block outputs are ReLU'd; the "
                    "script asserts it). ScoreCAM's softmax over channels of logits of "
                    "order 1 gives nearly uniform weights on these random networks. "
                    "The roles top1, second and contrast have positive y; negative and "
                    "reversed_contrast (AblationCAM only) have y < 0.",
    "saliency": "Not in pytorch-grad-cam; torch autograd here: |d logit_top1 / d x| on the "
                "normalised input x [1,3,128,128], max over the 3 channels -> [128,128] "
                "(Simonyan et al. 2014). No normalisation.",
    "smoothgrad": "mean over n samples of the saliency map above evaluated at x + eps_i, "
                  "eps_i ~ N(0, sigma^2) iid per element, sigma = noise_level * (max(x) - "
                  "min(x)) with x the normalised input and noise_level 0.15 (Smilkov et al. "
                  "2017); i.e. the mean of per-sample max_c|grad|, not |mean grad|. "
                  "Stochastic (torch.Generator seed recorded): compare by correlation only.",
}


# --------------------------------------------------------------------------- models
class Basic(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """torchvision V1.5 Bottleneck: 1x1 -> 3x3 (stride here) -> 1x1 (x4)."""
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        return torch.relu(self.bn3(self.conv3(out)) + identity)


class TinyResNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        block = Bottleneck if cfg["block"] == "bottleneck" else Basic
        stem = cfg["stem_width"]
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = stem
        for i, (width, depth) in enumerate(zip(cfg["widths"], cfg["depths"])):
            blocks = []
            for j in range(depth):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(cin, width, stride))
                cin = width * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, cfg["classes"])

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_model(cfg):
    torch.manual_seed(cfg["seed"])
    model = TinyResNet(cfg)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def module_at(model, path):
    m = model
    for part in path.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


# --------------------------------------------------------------------------- targets
class ContrastTarget:
    """Why A rather than B: logit[A] - logit[B] (works on a [classes] row or a batch)."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __call__(self, out):
        return out[..., self.a] - out[..., self.b]


def make_target(spec):
    if spec["kind"] == "class":
        return ClassifierOutputTarget(spec["class"])
    return ContrastTarget(spec["class"], spec["other"])


# --------------------------------------------------------------------------- spying
class Spy:
    pre = []  # get_cam_image outputs (before ReLU), one per target layer
    relu = []  # what compute_cam_per_layer hands to scale_cam_image (after ReLU)


_scale_cam_image = base_cam.scale_cam_image


def _scale_spy(cam, target_size=None):
    if target_size is not None:  # the per-layer call in compute_cam_per_layer
        Spy.relu.append(np.array(cam, copy=True))
    return _scale_cam_image(cam, target_size)


base_cam.scale_cam_image = _scale_spy


def run_cam(method, model, layers, x, target, **call_kwargs):
    """Returns (final [H,W], pre-ReLU maps, ReLU'd maps) for one pytorch-grad-cam call."""
    cam = METHODS[method](model=model, target_layers=[module_at(model, p) for p in layers])
    inner = cam.get_cam_image

    def spy(*args, **kwargs):
        out = inner(*args, **kwargs)
        Spy.pre.append(np.array(out, copy=True))
        return out

    cam.get_cam_image = spy
    Spy.pre, Spy.relu = [], []
    try:
        final = cam(input_tensor=x, targets=[make_target(target)], **call_kwargs)
    finally:
        cam.activations_and_grads.release()
    pre, relu = list(Spy.pre), list(Spy.relu)
    assert len(pre) == len(relu)
    for p, r in zip(pre, relu):
        assert np.array_equal(np.maximum(p, 0), r)
    return final[0], pre, relu


# --------------------------------------------------------------------------- sign correction
# get_2d_projection keeps whatever sign LAPACK returns. The engine applies the sign
# correction pytorch-grad-cam ships as get_2d_projection_with_sign_correction (flip when
# |min| > |max|), so the fixtures are made with that function patched in wherever
# pytorch-grad-cam projects (BaseCAM.get_cam_image for eigen_smooth, EigenCAM,
# EigenGradCAM). SIGN records, for the last projection, whether the correction flipped
# LAPACK's sign and how clear the decision was.
SIGN = {}
_plain_projection = svd_on_activations.get_2d_projection


def _sign_corrected_projection(batch):
    out = svd_on_activations.get_2d_projection_with_sign_correction(batch)
    plain = _plain_projection(batch)
    for o, q in zip(out, plain):
        hi, lo = float(o.max()), float(-o.min())
        SIGN["flipped"] = bool(np.array_equal(o, -q) and not np.array_equal(o, q))
        SIGN["margin"] = (hi - lo) / max(hi, lo, 1e-30)
    return out


for _module in (base_cam, eigen_cam, eigen_grad_cam):
    _module.get_2d_projection = _sign_corrected_projection


# --------------------------------------------------------------------------- independent check
def acts_grads(model, layer, x, target):
    store = {}
    h = module_at(model, layer).register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    try:
        out = model(x)
    finally:
        h.remove()
    a = store["a"]
    (g,) = torch.autograd.grad(make_target(target)(out[0]), a)
    return a.detach()[0].double().numpy(), g[0].double().numpy()


LAST_SV = {}
LAST_W = {}  # ScoreCAM's softmax channel weights of the last ours_pre call


def projection64(m):
    c = m.shape[0]
    flat = m.reshape(c, -1).T
    flat = flat - flat.mean(axis=0)
    _, s, vt = np.linalg.svd(flat, full_matrices=False)
    LAST_SV["ratio"] = s[1] / s[0]  # gap of the first principal component
    projection = flat @ vt[0]
    if abs(projection.min()) > abs(projection.max()):  # the sign correction, see NOTES
        projection = -projection
    return projection.reshape(m.shape[1:])


def ours_pre(method, model, layer, x, target, eigen_smooth=False):
    """Pre-ReLU map from the formulas in NOTES (float64 where possible)."""
    a, g = acts_grads(model, layer, x, target)
    fn = make_target(target)
    if method == "GradCAM":
        w = g.mean(axis=(1, 2))
    elif method == "HiResCAM":
        return (g * a).sum(0)
    elif method == "GradCAMPlusPlus":
        s = a.sum(axis=(1, 2))[:, None, None]
        alpha = g ** 2 / (2 * g ** 2 + s * g ** 3 + 1e-6)
        alpha = np.where(g != 0, alpha, 0)
        w = (np.maximum(g, 0) * alpha).sum(axis=(1, 2))
    elif method == "XGradCAM":
        w = (g * a).sum(axis=(1, 2)) / (a.sum(axis=(1, 2)) + 1e-7)
    elif method == "LayerCAM":
        return (np.maximum(g, 0) * a).sum(0)
    elif method == "EigenCAM":
        return projection64(a)
    elif method == "EigenGradCAM":
        return projection64(g * a)
    elif method == "ScoreCAM":
        with torch.no_grad():
            at = torch.from_numpy(a).float()[None]
            up = F.interpolate(at, size=x.shape[-2:], mode="bilinear", align_corners=True)[0]
            lo = up.flatten(1).min(1)[0][:, None, None]
            hi = up.flatten(1).max(1)[0][:, None, None]
            masks = (up - lo) / (hi - lo + 1e-8)
            scores = fn(model(x * masks[:, None]))
        w = torch.softmax(scores.double(), 0).numpy()
        LAST_W["w"] = w
    elif method == "AblationCAM":
        with torch.no_grad():
            y = float(fn(model(x)[0]))
            at = torch.from_numpy(a).float()
            fill = 0.0 if float(at.min()) == 0 else float(at.min()) - 1e7
            assert fill == 0.0, "ReLU'd block output expected"
            ys = []
            for k in range(a.shape[0]):
                ablated = at.clone()
                ablated[k] = fill
                h = module_at(model, layer).register_forward_hook(
                    lambda m, i, o, t=ablated: t[None])
                try:
                    ys.append(float(fn(model(x)[0])))
                finally:
                    h.remove()
        w = (y - np.array(ys)) / y
    else:
        raise ValueError(method)
    wa = w[:, None, None] * a
    return projection64(wa) if eigen_smooth else wa.sum(0)


def close(ours, theirs, tol):
    scale = max(np.abs(theirs).max(), 1e-12)
    return np.abs(ours - theirs).max() <= tol * scale


def check_pre(method, ours, theirs, tol):
    # Both sides apply the same sign correction to the eigen projections (see NOTES).
    return close(ours, theirs, tol)


def scale(img, size=None):
    img = img - img.min()
    img = img / (1e-7 + img.max())
    if size is not None:
        img = cv2.resize(np.float32(img), size)
    return np.float32(img)


def ours_final(raws):
    per = [scale(r, (SIZE, SIZE)) for r in raws]
    return scale(np.mean(np.maximum(np.stack(per), 0), axis=0))


# --------------------------------------------------------------------------- pixel space
def saliency_batch(model, xs, cls):
    xs = xs.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xs)[:, cls].sum(), xs)
    return g.abs().amax(dim=1)  # [N, H, W]


def r7(a):
    return [float(f"{v:.7g}") for v in np.asarray(a, dtype=np.float64).ravel()]


def load_input(photo):
    with Image.open(FIXTURES / photo) as im:
        im = im.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    arr = (arr - np.float32(MEAN)) / np.float32(STD)
    return np.ascontiguousarray(arr.transpose(2, 0, 1)[None], dtype="<f4")


# --------------------------------------------------------------------------- main
def choose_targets(model, x, logits):
    """top1, 3rd most likely, contrast top1 vs 2nd; skip classes whose layer4 Grad-CAM is 0."""
    ranking = [int(i) for i in np.argsort(-np.asarray(logits), kind="stable")]
    log = []

    def nonzero(spec):
        _, _, relu = run_cam("GradCAM", model, ["layer4"], x, spec)
        return bool(relu[0].max() > 0)

    top1 = {"kind": "class", "class": ranking[0]}
    if not nonzero(top1):
        log.append(f"layer4 Grad-CAM of top-1 class {ranking[0]} is all zero (kept: it is top-1)")
    second = None
    for rank in range(2, len(ranking)):
        spec = {"kind": "class", "class": ranking[rank]}
        if nonzero(spec):
            second = spec
            break
        log.append(f"class {ranking[rank]} (rank {rank + 1}) has an all-zero layer4 Grad-CAM; "
                   "trying the next")
    contrast = None
    for rank in range(1, len(ranking)):
        spec = {"kind": "contrast", "class": ranking[0], "other": ranking[rank]}
        if nonzero(spec):
            contrast = spec
            break
        log.append(f"contrast {ranking[0]} - {ranking[rank]} has an all-zero layer4 Grad-CAM; "
                   "trying the next B")
    return ranking, {"top1": top1, "second": second, "contrast": contrast}, log


def case_record(method, layer, role, target, pre, relu, eigen_smooth=False, sv_ratio=None,
                score=None):
    raw = relu[0][0]
    rec = {"method": method, "layer": layer, "role": role, "target": target,
           "eigen_smooth": eigen_smooth, "height": raw.shape[0], "width": raw.shape[1],
           "raw": r7(raw)}
    if method in EIGEN or eigen_smooth:
        assert SIGN["margin"] > 1e-2, f"sign correction undecided: {SIGN}"
        rec["projection"] = r7(pre[0][0])
        rec["sv_ratio"] = float(f"{sv_ratio:.4g}")
        rec["lapack_sign"] = -1 if SIGN["flipped"] else 1
        rec["sign_margin"] = float(f"{SIGN['margin']:.4g}")
    if method == "AblationCAM" and score is not None and score <= 0:
        # pytorch-grad-cam's signed map; the engine's (y - y_k) / max(|y|, eps) is its negative.
        rec["score"] = float(f"{score:.7g}")
        rec["signed"] = r7(pre[0][0])
    if raw.max() <= 0:
        rec["all_zero"] = True
    return rec


def main():
    torch.set_grad_enabled(True)
    OUT.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for photo in PHOTOS:
        arr = load_input(photo)
        stem = photo.rsplit(".", 1)[0]
        np.save(OUT / f"{stem}.input.npy", arr)
        inputs[photo] = (f"{stem}.input.npy", torch.from_numpy(arr))

    report = []
    wanted = sys.argv[1:] or list(MODELS)  # e.g. `... make_cam_fixtures.py tiny_basic_peaked`
    for name, cfg in MODELS.items():
        if name not in wanted:
            continue
        model = build_model(cfg)
        base_logits = {}
        if "fc_scale" in cfg:
            with torch.no_grad():
                for photo in PHOTOS:
                    base_logits[photo] = model(inputs[photo][1])[0].numpy().copy()
                model.fc.weight.mul_(cfg["fc_scale"])
                model.fc.bias.mul_(cfg["fc_scale"])
        else:
            torch.save(model.state_dict(), OUT / f"{name}.pth")
        methods = cfg.get("methods", list(METHODS))
        for p in model.parameters():
            p.requires_grad_(True)
        photos = []
        for pi, photo in enumerate(PHOTOS):
            input_file, x = inputs[photo]
            stem = photo.rsplit(".", 1)[0]
            with torch.no_grad():
                logits = model(x)[0].double().numpy()
            assert np.abs(logits).max() > 0.5, f"{name}/{photo}: logits tiny {logits}"
            if photo in base_logits:  # exact: the scale is a power of two
                assert np.array_equal(model(x)[0].detach().numpy(),
                                      np.float32(cfg["fc_scale"]) * base_logits[photo])
            ranking, targets, log = choose_targets(model, x, logits)
            report += [f"{name}/{photo}: {m}" for m in log]
            for role, spec in targets.items():  # NOTES["observations"] relies on this
                value = float(make_target(spec)(torch.from_numpy(logits)))
                assert value > 0, f"{name}/{photo}: {role} target value {value} <= 0"
            # Negative targets (AblationCAM's division by y): the least likely class and the
            # contrast the other way round.
            targets["negative"] = {"kind": "class", "class": ranking[-1]}
            targets["reversed_contrast"] = {"kind": "contrast", "class": ranking[1],
                                            "other": ranking[0]}
            for role in ("negative", "reversed_contrast"):
                value = float(make_target(targets[role])(torch.from_numpy(logits)))
                assert value < 0, f"{name}/{photo}: {role} target value {value} >= 0"
            print(f"{name} {photo} logits {np.round(logits, 3).tolist()} ranking {ranking}")

            plan = []
            for method in methods:
                for layer in ["layer4", "layer3"]:
                    plan.append((method, layer, "top1"))
            for method in methods:
                for role in ["second", "contrast"]:
                    plan.append((method, "layer4", role))
            for block in cfg["block_layers"]:
                for method in BLOCK_METHODS:
                    plan.append((method, block, "top1"))
            if "AblationCAM" in methods:
                for role in ("negative", "reversed_contrast"):
                    for layer in ["layer4", "layer3"]:
                        plan.append(("AblationCAM", layer, role))

            cases = []
            for method, layer, role in plan:
                target = targets[role]
                _, pre, relu = run_cam(method, model, [layer], x, target)
                ours = ours_pre(method, model, layer, x, target)
                tol = 2e-3 if method in ("AblationCAM", "ScoreCAM") else 2e-4
                if method in EIGEN:
                    tol = 1e-3
                assert check_pre(method, ours, pre[0][0], tol), (name, photo, method, layer, role)
                score = float(make_target(target)(torch.from_numpy(logits)))
                rec = case_record(method, layer, role, target, pre, relu,
                                  sv_ratio=LAST_SV.get("ratio"), score=score)
                if method == "ScoreCAM":
                    w = LAST_W["w"]
                    rec["softmax_weights"] = {"max": float(f"{w.max():.4g}"),
                                              "effective_channels":
                                                  float(f"{1 / (w ** 2).sum():.4g}"),
                                              "channels": len(w)}
                if "signed" in rec:
                    # The test must tell the two signs apart: the engine's map (the
                    # negative lobe) far from pytorch-grad-cam's after min-max scaling.
                    # Either may be all zero: theirs where the inverted weights leave
                    # nothing, ours where nothing supports the class (theirs then shows
                    # the evidence against it as if it were for it).
                    pos, neg = np.maximum(pre[0][0], 0), np.maximum(-pre[0][0], 0)
                    gap = np.abs(scale(pos) - scale(neg)).max()
                    assert gap > 0.2, (name, photo, layer, role, gap)
                    rec["pytorch_grad_cam_map_all_zero"] = bool(pos.max() <= 0)
                    rec["engine_map_all_zero"] = bool(neg.max() <= 0)
                    report.append(f"{name}/{photo}: AblationCAM {layer} {role} y={score:.3f}: "
                                  f"theirs all zero {pos.max() <= 0}, ours all zero "
                                  f"{neg.max() <= 0}")
                if rec.get("all_zero"):
                    report.append(f"{name}/{photo}: {method} {layer} {role} raw map all zero")
                cases.append(rec)
            if "fc_scale" in cfg:
                photos.append({"photo": photo, "input": input_file, "logits": r7(logits),
                               "ranking": ranking, "targets": targets,
                               "target_choice_log": log, "cases": cases})
                continue

            # finals
            top1 = targets["top1"]
            finals = []
            f0, _, relu0 = run_cam("GradCAM", model, ["layer4"], x, top1)
            assert np.allclose(f0, ours_final([relu0[0][0]]), atol=1e-5)
            finals.append(f0)
            f1, _, relu1 = run_cam("GradCAM", model, ["layer3", "layer4"], x, top1)
            assert relu1[0].shape[-1] == SIZE // 16 and relu1[1].shape[-1] == SIZE // 32
            assert np.allclose(f1, ours_final([r[0] for r in relu1]), atol=1e-5)
            finals.append(f1)
            f2, _, relu2 = run_cam("GradCAM", model, ["layer4"], x, top1, aug_smooth=True)
            assert len(relu2) == 6
            parts, mine = [], []
            for i, (flip, factor) in enumerate([(f, m) for f in (False, True) for m in (0.9, 1, 1.1)]):
                xa = (x.flip(3) if flip else x) * factor
                fa, _, ra = run_cam("GradCAM", model, ["layer4"], xa, top1)
                assert np.array_equal(ra[0], relu2[i])
                mine.append(fa[:, ::-1] if flip else fa)
                parts.append({"hflip": flip, "factor": factor, "raw": r7(relu2[i][0])})
            assert np.allclose(f2, np.mean(np.float32(mine), axis=0), atol=1e-6)
            finals.append(f2)
            f3, pre3, relu3 = run_cam("GradCAMPlusPlus", model, ["layer4"], x, top1,
                                      eigen_smooth=True)
            ours3 = ours_pre("GradCAMPlusPlus", model, "layer4", x, top1, eigen_smooth=True)
            assert check_pre("eigen", ours3, pre3[0][0], 1e-3)
            assert np.allclose(f3, ours_final([relu3[0][0]]), atol=1e-5)
            rec3 = case_record("GradCAMPlusPlus", "layer4", "top1", top1, pre3, relu3,
                               eigen_smooth=True, sv_ratio=LAST_SV["ratio"])
            if rec3["lapack_sign"] < 0:
                report.append(f"{name}/{photo}: GradCAMPlusPlus eigen_smooth: the sign "
                              "correction flipped LAPACK's sign")
            cases.append(rec3)
            finals.append(f3)
            f4, _, relu4 = run_cam("EigenCAM", model, ["layer4"], x, top1)
            eig = next(c for c in cases if c["method"] == "EigenCAM" and c["layer"] == "layer4"
                       and c["role"] == "top1")
            assert r7(relu4[0][0]) == eig["raw"], "EigenCAM not deterministic?"
            finals.append(f4)
            finals = np.ascontiguousarray(np.stack(finals).astype(FINALS_DTYPE))
            assert finals.shape == (5, SIZE, SIZE)
            finals_file = f"{name}.{stem}.finals.npy"
            np.save(OUT / finals_file, finals)

            # pixel space
            top = top1["class"]
            sal = saliency_batch(model, x, top)[0]
            sigma = float(SMOOTHGRAD_NOISE * (x.max() - x.min()))
            seed = 1000 * cfg["seed"] + pi
            gen = torch.Generator().manual_seed(seed)
            noise = torch.randn((SMOOTHGRAD_N,) + tuple(x.shape[1:]), generator=gen) * sigma
            smooth = saliency_batch(model, x + noise, top).mean(0)
            pixel = np.ascontiguousarray(torch.stack([sal, smooth]).numpy().astype("<f4"))
            pixel_file = f"{name}.{stem}.pixel.npy"
            np.save(OUT / pixel_file, pixel)
            corr = np.corrcoef(pixel[0].ravel(), pixel[1].ravel())[0, 1]
            print(f"  saliency/smoothgrad correlation {corr:.3f}, sigma {sigma:.4f}")

            photos.append({
                "photo": photo, "input": input_file, "logits": r7(logits), "ranking": ranking,
                "targets": targets, "target_choice_log": log, "cases": cases,
                "finals": finals_file, "pixel": pixel_file,
                "smoothgrad": {"n": SMOOTHGRAD_N, "noise_level": SMOOTHGRAD_NOISE,
                               "sigma": float(f"{sigma:.7g}"), "seed": seed,
                               "generator": "torch.Generator().manual_seed(seed); "
                                            "torch.randn((n,3,128,128)) * sigma"},
                "aug_smooth_parts": parts,
            })

        doc = {
            "model": name,
            "weights": f"{cfg.get('weights_of', name)}.pth",
            "config": {k: v for k, v in cfg.items()
                       if k not in ("block_layers", "weights_of", "methods")},
            "block_layers": cfg["block_layers"],
            "init": "conv kaiming_normal_(fan_out, relu); fc PyTorch default; BatchNorm "
                    "running_mean U(-0.3,0.3), running_var U(0.5,2), weight U(0.5,1.5), "
                    "bias U(-0.2,0.2); eps 1e-5; eval mode",
            "input_size": SIZE,
            "preprocessing": {"resize": f"whole photo -> RGB -> {SIZE}x{SIZE} PIL "
                                        "Image.BILINEAR, no crop", "scale": "/255",
                              "mean": MEAN, "std": STD},
            "roles": {"top1": "the most likely class",
                      "second": "the 3rd most likely class (first class from rank 3 down "
                                "whose layer4 Grad-CAM is not all zero)",
                      "contrast": "logit[top1] - logit[2nd most likely]",
                      "negative": "the least likely class (negative logit; AblationCAM only)",
                      "reversed_contrast": "logit[2nd most likely] - logit[top1] (negative; "
                                           "AblationCAM only)"},
            "finals_order": FINALS_ORDER,
            "finals_layout": "float16 ('<f2', C order) [5,128,128] per model-photo, each the "
                             "output of cam(input_tensor=x, targets=[target])[0] rounded to "
                             "float16 (abs error <= 2.5e-4 on [0,1]). Finals 3 and 4 "
                             "are made with the sign correction patched in (see "
                             "`get_2d_projection` in the notes), like every `projection`.",
            "pixel_layout": "float32 ('<f4', C order) [2,128,128] per model-photo",
            "pixel_order": ["saliency", "smoothgrad"],
            "raw_layout": "row-major [height, width]; `projection` and `signed` likewise "
                          "(pre-ReLU). `projection`: get_2d_projection_with_sign_correction's "
                          "output; `lapack_sign` -1 where that flipped LAPACK's sign, "
                          "`sign_margin` (max - |min|) / max(max, |min|) of the result. "
                          "`signed` (AblationCAM cases with score <= 0): get_cam_image's "
                          "output, i.e. sum_k (y - y_k) / y * A_k with y = `score`",
            "fc_scale": cfg.get("fc_scale", 1.0),
            "sv_ratio": "eigen cases: S[1]/S[0] of the centred [h*w, C] matrix (float64 "
                        "re-computation); close to 1 would mean an ill-conditioned "
                        "principal direction",
            "photos": photos,
            "notes": NOTES,
        }
        text = json.dumps(doc, indent=1)
        # one line per list of numbers
        text = re.sub(r"\[\n\s*([-+0-9.eE,\s]+?)\s*\]",  # (strings hold no raw newline)
                      lambda m: "[" + ",".join(v.strip() for v in m.group(1).split(",")) + "]",
                      text)
        assert json.loads(text) == doc
        (OUT / f"{name}.json").write_text(text + "\n")
    print("\n".join(report) if report else "no all-zero maps")


if __name__ == "__main__":
    main()
