"""Reference fixtures for the trust metrics (src/trust/), computed with pytorch-grad-cam.

What it does
------------
- Reuses make_cam_fixtures.py's tiny_basic ResNet (basic blocks, widths 8/16/32/64,
  10 classes) with the weights that script saved (tests/fixtures/cam/tiny_basic.pth)
  and its preprocessed chelsea input (tests/fixtures/cam/chelsea.input.npy, 128x128).
- Two maps, made by pytorch-grad-cam's GradCAM at layer4 (4x4, so the 128x128 map is
  pytorch-grad-cam's normalised, resized output): the top-1 class and the 3rd most
  likely class. Both the Rust tests and the metrics below take these stored maps, so
  the metrics are compared on the very same map.
- Scores every map with pytorch-grad-cam 1.5.7's metrics, targets
  ClassifierOutputSoftmaxTarget(class) (the softmax probability of the class):
    CamMultImageConfidenceChange, DropInConfidence, IncreaseInConfidence;
    ROADMostRelevantFirst(p) and ROADLeastRelevantFirst(p) for p in 10..90,
    ROADMostRelevantFirstAverage, ROADLeastRelevantFirstAverage, ROADCombined,
  with the imputer's noise switched off (NoisyLinearImputer's default noise 0.01 patched
  to 0: the linear system is then deterministic, so parity can be exact); and
  ROADCombined with the default noise 0.01 over NOISY_SEEDS torch seeds (mean, std), for
  the statistical check of the noisy imputation.
- Stores the imputed input of ROADMostRelevantFirst(70) without noise for map 0.
- Deletion and insertion curves (Petsiuk et al. 2018, RISE) written here from the paper's
  definition (pytorch-grad-cam has none): pixels ordered by decreasing map value (stable
  sort: ties by row-major index), count_i = floor(i * H * W / S) pixels changed at step
  i = 0..S; deletion replaces them in the input by the baseline, insertion starts from the
  baseline and puts them back; the baseline is zero (the normalised input's 0) or the
  input blurred (Gaussian, 11 taps, sigma 5, separable, zero padding: RISE's substrate);
  the curve is the class's softmax probability; AUC = trapezoid on [0, 1].
- Spearman rank correlation of the two maps (scipy.stats.spearmanr, average ranks).

Writes tests/fixtures/trust/:
  tiny_basic.chelsea.maps.npy     float32 [2, 128, 128]
  tiny_basic.chelsea.road70.npy   float32 [3, 128, 128] (imputed input, map 0, MoRF 70)
  tiny_basic.chelsea.json         classes, metric values, curves

How to run
----------
    python tests/reference/make_trust_fixtures.py   (after make_cam_fixtures.py)

The Rust tests only read the files written here; they never run Python.
"""

import json
import pathlib
import sys
from importlib.metadata import version

import numpy as np
import scipy.stats
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_cam_fixtures as mcf  # noqa: E402

from pytorch_grad_cam import GradCAM  # noqa: E402
from pytorch_grad_cam.metrics import road  # noqa: E402
from pytorch_grad_cam.metrics.cam_mult_image import (  # noqa: E402
    CamMultImageConfidenceChange,
    DropInConfidence,
    IncreaseInConfidence,
)
from pytorch_grad_cam.metrics.perturbation_confidence import (  # noqa: E402
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.utils.model_targets import (  # noqa: E402
    ClassifierOutputSoftmaxTarget,
    ClassifierOutputTarget,
)

OUT = mcf.FIXTURES / "trust"
PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]
STEPS = 32
NOISY_SEEDS = 16


def set_noise(noise):
    road.NoisyLinearImputer.__init__.__defaults__ = (noise, road.neighbors_weights)


def blur(x):
    t = torch.arange(11, dtype=torch.float64) - 5
    k = torch.exp(-t * t / (2 * 5.0 ** 2))
    k = (k / k.sum()).float()
    k2 = (k[:, None] * k[None, :]).expand(3, 1, 11, 11).contiguous()
    return F.conv2d(x, k2, padding=5, groups=3)


def probs(model, xs, cls):
    with torch.no_grad():
        return torch.softmax(model(xs), dim=-1)[:, cls].double().numpy()


def curve(model, x, cam, cls, kind, baseline):
    _, c, h, w = x.shape
    n = h * w
    order = np.argsort(-cam.reshape(-1), kind="stable")
    base = torch.zeros_like(x) if baseline == "zero" else blur(x)
    start, finish = (x, base) if kind == "deletion" else (base, x)
    batch = []
    for i in range(STEPS + 1):
        count = i * n // STEPS
        changed = np.zeros(n, dtype=bool)
        changed[order[:count]] = True
        m = torch.from_numpy(changed.reshape(1, 1, h, w)).float()
        batch.append(start * (1 - m) + finish * m)
    p = probs(model, torch.cat(batch), cls)
    auc = (p.sum() - p[0] / 2 - p[-1] / 2) / STEPS
    return [float(v) for v in p], float(auc)


def metric(m, x, cams, targets, model):
    return float(np.asarray(m(x, cams, targets, model)).reshape(-1)[0])


def main():
    cfg = mcf.MODELS["tiny_basic"]
    model = mcf.build_model(cfg)
    state = torch.load(mcf.OUT / "tiny_basic.pth", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    x = torch.from_numpy(np.load(mcf.OUT / "chelsea.input.npy"))
    with torch.no_grad():
        logits = model(x)[0]
    ranking = [int(i) for i in torch.argsort(logits, descending=True)]
    classes = [ranking[0], ranking[2]]
    maps = []
    for cls in classes:
        cam = GradCAM(model=model, target_layers=[model.layer4])
        maps.append(cam(input_tensor=x, targets=[ClassifierOutputTarget(cls)])[0])
    maps = np.stack(maps).astype("<f4")

    cases = []
    for i, cls in enumerate(classes):
        cams = maps[i:i + 1]
        targets = [ClassifierOutputSoftmaxTarget(cls)]
        record = {"class": cls, "map": i}
        record["confidence_change"] = metric(CamMultImageConfidenceChange(), x, cams,
                                             targets, model)
        record["drop_in_confidence"] = metric(DropInConfidence(), x, cams, targets, model)
        record["increase_in_confidence"] = metric(IncreaseInConfidence(), x, cams, targets,
                                                  model)
        set_noise(0.0)
        record["road_morf"] = [metric(road.ROADMostRelevantFirst(p), x, cams, targets, model)
                               for p in PERCENTILES]
        record["road_lerf"] = [metric(road.ROADLeastRelevantFirst(p), x, cams, targets,
                                      model) for p in PERCENTILES]
        record["road_morf_average"] = metric(road.ROADMostRelevantFirstAverage(), x, cams,
                                             targets, model)
        record["road_lerf_average"] = metric(road.ROADLeastRelevantFirstAverage(), x, cams,
                                             targets, model)
        record["road_combined"] = metric(road.ROADCombined(), x, cams, targets, model)
        if i == 0:
            imputed = RemoveMostRelevantFirst(70, road.NoisyLinearImputer())(
                x[0], torch.from_numpy(maps[0]))
            np.save(OUT / "tiny_basic.chelsea.road70.npy",
                    imputed.numpy().astype("<f4"))
        set_noise(0.01)
        noisy = []
        for seed in range(NOISY_SEEDS):
            torch.manual_seed(seed)
            noisy.append(metric(road.ROADCombined(), x, cams, targets, model))
        record["road_combined_noisy"] = {"mean": float(np.mean(noisy)),
                                         "std": float(np.std(noisy, ddof=1)),
                                         "seeds": NOISY_SEEDS, "noise": 0.01}
        for kind in ["deletion", "insertion"]:
            for baseline in ["zero", "blur"]:
                p, auc = curve(model, x, cams[0], cls, kind, baseline)
                record[f"{kind}_{baseline}"] = {"curve": p, "auc": auc}
        cases.append(record)
        print(cls, {k: v for k, v in record.items() if not isinstance(v, (dict, list))})

    rho = scipy.stats.spearmanr(maps[0].reshape(-1), maps[1].reshape(-1)).statistic
    OUT.mkdir(exist_ok=True)
    np.save(OUT / "tiny_basic.chelsea.maps.npy", maps)
    doc = {
        "source": f"grad-cam {version('grad-cam')}, torch {torch.__version__}, "
                  f"scipy {scipy.__version__}; tests/reference/make_trust_fixtures.py",
        "model": "tiny_basic (tests/fixtures/cam/tiny_basic.pth)",
        "input": "tests/fixtures/cam/chelsea.input.npy",
        "targets": "ClassifierOutputSoftmaxTarget(class)",
        "percentiles": PERCENTILES,
        "steps": STEPS,
        "logits": [float(v) for v in logits],
        "cases": cases,
        "spearman_map0_map1": float(rho),
    }
    (OUT / "tiny_basic.chelsea.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
