//! Every CAM method against pytorch-grad-cam 1.5.7 on tiny torchvision-layout ResNets
//! (bottleneck and basic blocks, random weights and batch-norm statistics) and two real
//! photos. Fixtures: `tests/reference/make_cam_fixtures.py`; the models are imported from
//! the `.pth` files the script saved, so `gradcam convert`'s reader is part of the test.
//!
//! Tolerances: logits relative error ≤ 1e-4; every map after min-max normalisation
//! (pytorch-grad-cam's `scale_cam_image`) max |Δ| ≤ 1e-3. Eigen methods: the SVD sign is
//! arbitrary, so the map must match the fixture's projection taken with either sign, and
//! the final maps that depend on it are compared only when our sign equals theirs.
//! SmoothGrad is random: it must correlate with pytorch's run better than plain saliency does.

mod common;

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use gradcam_web::cam::{CamRequest, Method, Target, compute_cam, scale_like_pytorch_grad_cam};
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
    let model = import_pytorch(&pth, &Architecture::ResNet(config), &Device::flex()).unwrap();
    Fixture { json, model }
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

/// Compares every case; returns, per eigen case key, whether our SVD sign equals theirs.
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

        let mut same_sign = std::collections::HashMap::new();
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
            let ours = normalised(&cam.map);
            let diff = if let Some(projection) = case.get("projection") {
                let p = common::json_floats(projection);
                let plus: Vec<f32> = p.iter().map(|v| v.max(0.0)).collect();
                let minus: Vec<f32> = p.iter().map(|v| (-v).max(0.0)).collect();
                let (d_plus, d_minus) = (
                    max_abs_diff(&ours, &normalised(&plus)),
                    max_abs_diff(&ours, &normalised(&minus)),
                );
                same_sign.insert(
                    (case["method"].to_string(), layer, request.eigen_smooth),
                    d_plus <= d_minus,
                );
                d_plus.min(d_minus)
            } else {
                max_abs_diff(&ours, &normalised(&common::json_floats(&case["raw"])))
            };
            println!("{label}: max |Δ| {diff:.2e}");
            assert!(diff <= 1e-3, "{label}: max |Δ| {diff}");
        }
        check_finals(&json, photo, &model, &x, size, &same_sign);
        check_pixel_space(&json, photo, &model, &x);
    }
}

fn check_finals(
    json: &Value,
    photo: &Value,
    model: &Network,
    x: &Tensor<4>,
    size: usize,
    same_sign: &std::collections::HashMap<(String, Layer, bool), bool>,
) {
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
    // 3 and 4: depend on the SVD sign.
    let mut eigen = CamRequest::new(Method::GradCamPlusPlus, l4, top1);
    eigen.eigen_smooth = true;
    for (i, request, key) in [
        (3, eigen, ("\"GradCAMPlusPlus\"".to_owned(), l4, true)),
        (
            4,
            CamRequest::new(Method::EigenCam, l4, top1),
            ("\"EigenCAM\"".to_owned(), l4, false),
        ),
    ] {
        if same_sign.get(&key) == Some(&true) {
            let cam = run(model, x, &request);
            check(
                i,
                &final_of_single_layer(&cam.map, (cam.height, cam.width), size),
                &format!("{}", request.method),
            );
        } else {
            println!(
                "{} final {}: SVD sign differs from pytorch's, skipped",
                json["model"], request.method
            );
        }
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
