"""Fixtures for `gradcam convert` (PyTorch state dict -> burnpack).

Writes, under tests/fixtures/convert/:
  tiny_resnet.zip.pth      a torchvision-layout ResNet (basic blocks, base width 4, one block
                           per stage, 5 classes), random weights and BatchNorm statistics,
                           saved with torch.save (zip format, PyTorch >= 1.6)
  tiny_resnet.legacy.pth   the same state dict in the pre-1.6 legacy format
  tiny_resnet.input.npy    a float32 [1, 3, 32, 32] input
  tiny_resnet.json         the logits PyTorch computes for that input (eval mode)
  tiny_bad_shape.pth  the same dict with fc.weight of the wrong shape
  tiny_missing.pth    the same dict without layer2.0.conv1.weight
Run: pip install torch numpy && python tests/reference/make_convert_fixtures.py
Tests never run Python; this script only regenerates the files.
"""
import json
import pathlib

import numpy as np
import torch
from torch import nn

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "convert"
WIDTH, CLASSES = 4, 5


class Basic(nn.Module):
    """torchvision's BasicBlock layout: conv1/bn1/conv2/bn2 and downsample.0/.1."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + identity)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        w = WIDTH
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(Basic(w, w, 1))
        self.layer2 = nn.Sequential(Basic(w, 2 * w, 2))
        self.layer3 = nn.Sequential(Basic(2 * w, 4 * w, 2))
        self.layer4 = nn.Sequential(Basic(4 * w, 8 * w, 2))
        self.fc = nn.Linear(8 * w, CLASSES)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def main():
    torch.manual_seed(0)
    OUT.mkdir(parents=True, exist_ok=True)
    model = TinyResNet()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):  # statistics that matter
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        logits = model(x)[0].tolist()
    state = model.state_dict()
    torch.save(state, OUT / "tiny_resnet.zip.pth")
    torch.save(state, OUT / "tiny_resnet.legacy.pth", _use_new_zipfile_serialization=False)
    bad = dict(state)
    bad["fc.weight"] = torch.randn(CLASSES + 1, 8 * WIDTH)
    torch.save(bad, OUT / "tiny_bad_shape.pth")
    missing = {k: v for k, v in state.items() if k != "layer2.0.conv1.weight"}
    torch.save(missing, OUT / "tiny_missing.pth")
    np.save(OUT / "tiny_resnet.input.npy", x.numpy().astype("<f4"))
    (OUT / "tiny_resnet.json").write_text(json.dumps(
        {"base_width": WIDTH, "classes": CLASSES, "depths": [1, 1, 1, 1], "block": "basic",
         "logits": logits}, indent=1) + "\n")
    print("logits", logits)


if __name__ == "__main__":
    main()
