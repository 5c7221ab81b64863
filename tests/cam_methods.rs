//! Every CAM method against pytorch-grad-cam 1.5.7 on tiny torchvision-layout ResNets
//! (bottleneck and basic blocks, random weights and batch-norm statistics) and two real
//! photos. Fixtures: `tests/reference/make_cam_fixtures.py`; the models are imported from
//! the `.pth` files the script saved, so `gradcam convert`'s reader is part of the test.
//!
//! Tolerances: logits relative error ≤ 1e-4; every map after min-max normalisation
//! (pytorch-grad-cam's `scale_cam_image`) max |Δ| ≤ 1e-3. Eigen methods: the SVD sign is
//! arbitrary; the fixtures are made with pytorch-grad-cam's own sign correction
//! (`get_2d_projection_with_sign_correction`, the engine's rule), so every eigen map and
//! final is compared as it is. Ablation-CAM with a negative score: the engine divides by
//! |score| where pytorch-grad-cam divides by the score, so ours must equal theirs negated
//! (ReLU of minus their signed map). Score-CAM is also checked on `tiny_basic_peaked`
//! (tiny_basic's classifier × 32), where its softmax weights are peaked enough that a
//! wrong masked score shows. SmoothGrad is random: it must correlate with pytorch's run
//! better than plain saliency does.

mod common;

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use gradcam_web::cam::{
    AUGMENTATIONS, CamRequest, Deviation, Method, Target, ablation_weights, compute_cam,
    scale_like_pytorch_grad_cam,
};
use gradcam_web::imageio::read_npy_f32;
use gradcam_web::model::import::import_pytorch;
use gradcam_web::model::{Architecture, Layer, Network, ResNetConfig, Stage, StagedClassifier};
use gradcam_web::render::resize_bilinear;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cam")
}

struct Fixture {
    json: Value,
    model: Network,
}

fn fixture(name: &str) -> Fixture {
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap())
            .unwrap();
    let c = &json["config"];
    let depths: Vec<usize> = c["depths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let classes = c["classes"].as_u64().unwrap() as usize;
    let base = match c["block"].as_str().unwrap() {
        "bottleneck" => ResNetConfig::resnet50(classes),
        _ => ResNetConfig::resnet18(classes),
    };
    let config = base
        .with_base_width(c["stem_width"].as_u64().unwrap() as usize)
        .with_depths(depths.try_into().unwrap());
    let pth = dir().join(json["weights"].as_str().unwrap());
    let mut model = import_pytorch(&pth, &Architecture::ResNet(config), &Device::flex()).unwrap();
    let fc_scale = json["fc_scale"].as_f64().unwrap() as f32;
    if fc_scale != 1.0 {
        scale_classifier(&mut model, fc_scale);
    }
    Fixture { json, model }
}

/// Multiplies the classifier's weight and bias by `scale`, as the fixture script did (a power
/// of two, so the logits scale exactly).
fn scale_classifier(model: &mut Network, scale: f32) {
    let Network::ResNet(resnet) = model else {
        panic!("the fixtures are ResNets")
    };
    let fc = &mut resnet.fc;
    fc.weight = fc.weight.clone().map(|w| w.mul_scalar(scale));
    fc.bias = fc.bias.clone().map(|b| b.map(|t| t.mul_scalar(scale)));
}

fn input(photo: &Value, device: &Device) -> Tensor<4> {
    let array = read_npy_f32(&std::fs::read(dir().join(photo["input"].as_str().unwrap())).unwrap())
        .unwrap();
    let shape: [usize; 4] = array.shape.clone().try_into().unwrap();
    Tensor::from_data(TensorData::new(array.data, shape), device)
}

fn method(name: &str) -> Method {
    match name {
        "GradCAM" => Method::GradCam,
        "HiResCAM" => Method::HiResCam,
        "GradCAMPlusPlus" => Method::GradCamPlusPlus,
        "XGradCAM" => Method::XGradCam,
        "LayerCAM" => Method::LayerCam,
        "EigenCAM" => Method::EigenCam,
        "EigenGradCAM" => Method::EigenGradCam,
        "ScoreCAM" => Method::ScoreCam,
        "AblationCAM" => Method::AblationCam,
        other => panic!("unknown method {other}"),
    }
}

fn target(t: &Value) -> Target {
    let class = t["class"].as_u64().unwrap() as usize;
    match t["kind"].as_str().unwrap() {
        "contrast" => Target::Contrast {
            class,
            other: t["other"].as_u64().unwrap() as usize,
        },
        _ => Target::Class(class),
    }
}

fn normalised(map: &[f32]) -> Vec<f32> {
    let mut m = map.to_vec();
    scale_like_pytorch_grad_cam(&mut m);
    m
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

fn run(model: &Network, x: &Tensor<4>, request: &CamRequest) -> gradcam_web::cam::CamOutput {
    pollster::block_on(compute_cam(model, x.clone(), request)).unwrap()
}

/// pytorch-grad-cam's final map for one layer: scale, resize to the input, scale again.
fn final_of_single_layer(raw: &[f32], (h, w): (usize, usize), size: usize) -> Vec<f32> {
    let resized = resize_bilinear(&normalised(raw), (h, w), (size, size));
    normalised(&resized.iter().map(|v| v.max(0.0)).collect::<Vec<_>>())
}

/// What our map must equal, before min-max scaling: pytorch-grad-cam's `raw` map, or for
/// Ablation-CAM with a score ≤ 0 (where we divide by |score|, they by the score) the ReLU
/// of their signed map negated. Checks that the result reports the deviation exactly then.
fn expected_raw(case: &Value, deviation: Option<Deviation>, label: &str) -> Vec<f32> {
    let Some(signed) = case.get("signed") else {
        assert_eq!(deviation, None, "{label}: no deviation expected");
        return common::json_floats(&case["raw"]);
    };
    let score = case["score"].as_f64().unwrap() as f32;
    match deviation {
        Some(Deviation::AblationScoreNotPositive { score: ours }) => {
            assert!(
                (ours - score).abs() <= 1e-3 * score.abs().max(1.0),
                "{label}: {ours}"
            )
        }
        None => panic!("{label}: score {score} ≤ 0 must be reported"),
    }
    common::json_floats(signed)
        .iter()
        .map(|v| (-v).max(0.0))
        .collect()
}

/// Compares every case of the fixture `name`, then its finals and pixel-space maps where the
/// fixture has them.
fn check_cases(name: &str) {
    let device = Device::flex();
    let Fixture { json, model } = fixture(name);
    let size = json["input_size"].as_u64().unwrap() as usize;
    for photo in json["photos"].as_array().unwrap() {
        let photo_name = photo["photo"].as_str().unwrap();
        let x = input(photo, &device);
        let logits = common::values(model.forward(x.clone()));
        let err = common::relative_error(&logits, &common::json_floats(&photo["logits"]));
        assert!(err <= 1e-4, "{name} {photo_name}: logits {err}");

        for case in photo["cases"].as_array().unwrap() {
            let m = method(case["method"].as_str().unwrap());
            let layer: Layer = case["layer"].as_str().unwrap().parse().unwrap();
            let mut request = CamRequest::new(m, layer, target(&case["target"]));
            request.eigen_smooth = case["eigen_smooth"].as_bool().unwrap();
            let cam = run(&model, &x, &request);
            let label = format!(
                "{name} {photo_name} {} {layer} {}",
                case["method"], case["target"]
            );
            assert_eq!(
                (cam.height, cam.width),
                (
                    case["height"].as_u64().unwrap() as usize,
                    case["width"].as_u64().unwrap() as usize
                ),
                "{label}"
            );
            let expected = expected_raw(case, cam.deviation, &label);
            let diff = max_abs_diff(&normalised(&cam.map), &normalised(&expected));
            println!("{label}: max |Δ| {diff:.2e}");
            assert!(diff <= 1e-3, "{label}: max |Δ| {diff}");
        }
        if photo.get("finals").is_some() {
            check_finals(&json, photo, &model, &x, size);
            check_pixel_space(&json, photo, &model, &x);
        }
    }
}

fn check_finals(json: &Value, photo: &Value, model: &Network, x: &Tensor<4>, size: usize) {
    let finals =
        read_npy_f32(&std::fs::read(dir().join(photo["finals"].as_str().unwrap())).unwrap())
            .unwrap();
    let top1 = Target::Class(photo["ranking"][0].as_u64().unwrap() as usize);
    let plane = size * size;
    let expected = |i: usize| &finals.data[i * plane..(i + 1) * plane];
    let l4 = Layer::from(Stage::Layer4);
    let check = |i: usize, ours: &[f32], what: &str| {
        let diff = max_abs_diff(ours, expected(i));
        println!("{} final {what}: max |Δ| {diff:.2e}", json["model"]);
        assert!(
            diff <= 1e-3,
            "{} {} final {what}: {diff}",
            json["model"],
            photo["photo"]
        );
    };
    // 0: Grad-CAM layer4.
    let cam = run(model, x, &CamRequest::new(Method::GradCam, l4, top1));
    check(
        0,
        &final_of_single_layer(&cam.map, (cam.height, cam.width), size),
        "gradcam",
    );
    // 1: layer3 and layer4 fused.
    let mut fused = CamRequest::new(Method::GradCam, Stage::Layer3, top1);
    fused.layers.push(l4);
    let cam = run(model, x, &fused);
    assert_eq!((cam.height, cam.width), (size, size));
    check(1, &cam.map, "fused layer3+layer4");
    // 2: aug_smooth.
    let mut smooth = CamRequest::new(Method::GradCam, l4, top1);
    smooth.aug_smooth = true;
    let cam = run(model, x, &smooth);
    check(2, &cam.map, "aug_smooth");
    // 3 and 4: the principal component, sign-corrected on both sides.
    let mut eigen = CamRequest::new(Method::GradCamPlusPlus, l4, top1);
    eigen.eigen_smooth = true;
    for (i, request) in [(3, eigen), (4, CamRequest::new(Method::EigenCam, l4, top1))] {
        let cam = run(model, x, &request);
        check(
            i,
            &final_of_single_layer(&cam.map, (cam.height, cam.width), size),
            &format!("{} eigen_smooth={}", request.method, request.eigen_smooth),
        );
    }
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let mean = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

fn check_pixel_space(json: &Value, photo: &Value, model: &Network, x: &Tensor<4>) {
    let pixel = read_npy_f32(&std::fs::read(dir().join(photo["pixel"].as_str().unwrap())).unwrap())
        .unwrap();
    let plane = pixel.data.len() / 2;
    let (saliency, smooth) = (&pixel.data[..plane], &pixel.data[plane..]);
    let top1 = Target::Class(photo["ranking"][0].as_u64().unwrap() as usize);
    let ours = run(
        model,
        x,
        &CamRequest::new(Method::Saliency, Stage::Layer4, top1),
    );
    let err = common::relative_error(&ours.map, saliency);
    println!("{} saliency: relative error {err:.2e}", json["model"]);
    assert!(err <= 1e-3, "saliency {err}");
    let ours = run(
        model,
        x,
        &CamRequest::new(Method::SmoothGrad, Stage::Layer4, top1),
    );
    let (with_smooth, with_plain) = (
        correlation(&ours.map, smooth),
        correlation(saliency, smooth),
    );
    println!(
        "{} smoothgrad: correlation {with_smooth:.3} (plain saliency {with_plain:.3})",
        json["model"]
    );
    assert!(
        with_smooth > with_plain && with_smooth > 0.8,
        "{with_smooth} vs {with_plain}"
    );
}

#[test]
fn bottleneck_resnet_matches_pytorch_grad_cam_for_every_method() {
    check_cases("tiny_bottleneck");
}

#[test]
fn basic_resnet_matches_pytorch_grad_cam_for_every_method() {
    check_cases("tiny_basic");
}

#[test]
fn score_cam_with_peaked_channel_weights_matches_pytorch_grad_cam() {
    let Fixture { json, .. } = fixture("tiny_basic_peaked");
    // The point of this model: Score-CAM's softmax keeps only a few channels.
    for photo in json["photos"].as_array().unwrap() {
        for case in photo["cases"].as_array().unwrap() {
            let effective = case["softmax_weights"]["effective_channels"]
                .as_f64()
                .unwrap();
            assert!(effective < 16.0, "{}: {effective}", photo["photo"]);
        }
    }
    check_cases("tiny_basic_peaked");
}

#[test]
fn ablation_weights_keep_their_sign_for_negative_and_zero_scores() {
    // pytorch-grad-cam's (y − y_k) / y, kept where y > ε.
    assert_eq!(ablation_weights(2.0, &[1.0, 3.0]), (vec![0.5, -0.5], None));
    // y = −2: a channel whose ablation lowers the score further still weighs positive
    // (pytorch-grad-cam: −0.5, 0.5).
    let (w, note) = ablation_weights(-2.0, &[-3.0, -1.0]);
    assert_eq!(w, vec![0.5, -0.5]);
    assert_eq!(
        note,
        Some(Deviation::AblationScoreNotPositive { score: -2.0 })
    );
    // y = 0: pytorch-grad-cam gives ±inf and NaN (0/0); here finite, with the drop's sign.
    let (w, note) = ablation_weights(0.0, &[-1.0, 0.5, 0.0]);
    assert!(w.iter().all(|v| v.is_finite()), "{w:?}");
    assert!(w[0] > 0.0 && w[1] < 0.0 && w[2] == 0.0, "{w:?}");
    assert!(note.is_some_and(|d| d.to_string().contains("not positive")));
}

#[test]
fn method_names_round_trip() {
    for m in Method::ALL {
        assert_eq!(m.name().parse::<Method>().unwrap(), m);
    }
    assert_eq!(
        "GradCAMPlusPlus".parse::<Method>().unwrap(),
        Method::GradCamPlusPlus
    );
    assert!("gradcam+++".parse::<Method>().is_err());
}

/// `aug_smooth` runs the six inputs as one batch for the gradient methods: the result must be
/// the average of the six maps computed one input at a time (each at layer3 + layer4 fused,
/// the flipped ones flipped back), for every such method and for a contrast target. Max
/// |Δ| ≤ 1e-4 on maps in [0, 1] (a batch sums in another order than a single input).
#[test]
fn aug_smooth_as_one_batch_equals_six_single_passes() {
    let Fixture { json, model } = fixture("tiny_bottleneck");
    let photo = &json["photos"][0];
    let x = input(photo, &Device::flex());
    let [_, _, size, _] = x.dims();
    let top1 = photo["ranking"][0].as_u64().unwrap() as usize;
    let second = photo["ranking"][1].as_u64().unwrap() as usize;
    let batched_methods = Method::ALL
        .into_iter()
        .filter(|m| m.gradient_rule().is_some() && !matches!(m, Method::EigenGradCam));
    let targets = [
        Target::Class(top1),
        Target::Contrast {
            class: second,
            other: top1,
        },
    ];
    let mut checked = 0;
    for method in batched_methods {
        for target in targets {
            let mut request = CamRequest::new(method, Stage::Layer3, target);
            request.layers.push(Stage::Layer4.into());
            let mut expected = vec![0f64; size * size];
            for (flip, factor) in AUGMENTATIONS {
                let mut xa = x.clone().mul_scalar(factor);
                if flip {
                    xa = xa.flip([3]);
                }
                let mut map = run(&model, &xa, &request).map;
                if flip {
                    map.chunks_mut(size).for_each(<[f32]>::reverse);
                }
                expected
                    .iter_mut()
                    .zip(&map)
                    .for_each(|(e, &v)| *e += f64::from(v));
            }
            let expected: Vec<f32> = expected
                .iter()
                .map(|&e| (e / AUGMENTATIONS.len() as f64) as f32)
                .collect();
            request.aug_smooth = true;
            let cam = run(&model, &x, &request);
            assert_eq!((cam.height, cam.width), (size, size));
            assert_eq!(cam.class, target_class(target));
            let diff = max_abs_diff(&cam.map, &expected);
            println!("{method} {target:?} aug_smooth batched vs one by one: max |Δ| {diff:.2e}");
            assert!(diff <= 1e-4, "{method} {target:?}: {diff}");
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "five gradient methods × two targets");
}

fn target_class(target: Target) -> usize {
    match target {
        Target::Class(c) | Target::Contrast { class: c, .. } => c,
        Target::TopClass => unreachable!("the test names its classes"),
    }
}
