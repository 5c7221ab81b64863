//! EfficientNet-Lite0 with the shipped weights against PyTorch on real photos.
//!
//! Fixtures: `tests/reference/make_efficientnet_fixtures.py` runs an independent PyTorch
//! implementation on the original `.pth`, with conv/linear tensors rounded to f16 exactly as
//! our burnpack stores them, so both sides use the same weights. Inputs are the Python-side
//! preprocessed tensors (`.npy`), so resampling filters play no part in the comparison.
//!
//! Tolerances (relative to the largest magnitude of the expected tensor): logits and every
//! stage output ≤ 1e-3; raw Grad-CAM maps ≤ 1e-3.

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use gradcam_web::cam::{CamOutput, CamRequest, Method, Target, grad_cam};
use gradcam_web::imageio::{NpyArray, decode_photo, read_npy_f32};
use gradcam_web::model::{Stage, StagedClassifier};
use gradcam_web::{ExplainJob, Explainer};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_dir() -> PathBuf {
    root().join("tests/fixtures/efficientnet_lite0")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn npy(path: &Path) -> NpyArray {
    read_npy_f32(&std::fs::read(path).unwrap()).unwrap()
}

fn tensor(array: NpyArray, device: &Device) -> Tensor<4> {
    let shape: [usize; 4] = array.shape.clone().try_into().unwrap();
    Tensor::from_data(TensorData::new(array.data, shape), device)
}

/// The Python-side preprocessed input of a fixture photo.
fn photo_input(photo: &Value, device: &Device) -> Tensor<4> {
    tensor(
        npy(&fixture_dir().join(photo["input"].as_str().unwrap())),
        device,
    )
}

fn explainer(device: &Device) -> Explainer {
    let bytes = std::fs::read(root().join("weights/efficientnet-lite0.bpk")).unwrap();
    Explainer::from_burnpack(bytes, device).unwrap()
}

#[test]
fn shipped_weights_describe_themselves() {
    let device = Device::flex();
    let explainer = explainer(&device);
    let info = explainer.info();
    assert_eq!(info.arch.name(), "efficientnet-lite0");
    assert!(info.trained);
    let want = &expected()["preprocess"];
    for c in 0..3 {
        assert!(
            (info.normalization.mean[c] - want["mean"][c].as_f64().unwrap() as f32).abs() < 1e-6
        );
        assert!((info.normalization.std[c] - want["std"][c].as_f64().unwrap() as f32).abs() < 1e-6);
    }
    // 4,652,008 parameters; loading folds each batch norm (γ, β and the running mean and
    // variance of its 21,008 channels in all) into one bias of the convolution before it.
    assert_eq!(explainer.model().num_params(), 4_652_008 - 21_008);
}

#[test]
fn logits_match_pytorch_on_every_fixture_photo() {
    let device = Device::flex();
    let explainer = explainer(&device);
    for photo in expected()["photos"].as_array().unwrap() {
        let input = photo_input(photo, &device);
        let logits = common::values(explainer.model().forward(input));
        let want = common::json_floats(&photo["logits"]);
        let err = common::relative_error(&logits, &want);
        println!("{}: logits relative error {err:.2e}", photo["photo"]);
        assert!(err <= 1e-3, "{}: {err}", photo["photo"]);
        let top1 = photo["top1"].as_u64().unwrap() as usize;
        assert_eq!(gradcam_web::engine::top_k(&logits, 1)[0].class, top1);
    }
}

#[test]
fn every_stage_matches_pytorch_on_the_cat() {
    let device = Device::flex();
    let explainer = explainer(&device);
    let mut x = tensor(npy(&fixture_dir().join("chelsea.input.npy")), &device);
    for stage in Stage::FEATURES {
        x = explainer.model().stage(stage, x);
        let want = npy(&fixture_dir().join(format!("chelsea.{stage}.npy")));
        assert_eq!(x.dims().to_vec(), want.shape, "{stage} shape");
        let err = common::relative_error(&common::values(x.clone()), &want.data);
        println!("{stage}: relative error {err:.2e}");
        assert!(err <= 1e-3, "{stage}: {err}");
    }
}

#[test]
fn grad_cam_maps_match_pytorch_at_layer3_and_layer4() {
    let device = Device::flex();
    let explainer = explainer(&device);
    for photo in expected()["photos"].as_array().unwrap() {
        let input = photo_input(photo, &device);
        for (layer, key) in [
            (Stage::Layer4, "gradcam_layer4"),
            (Stage::Layer3, "gradcam_layer3"),
        ] {
            let want = &photo[key];
            let class = want["class"].as_u64().unwrap() as usize;
            let cam: CamOutput = pollster::block_on(grad_cam(
                explainer.model(),
                input.clone(),
                layer,
                Target::Class(class),
            ))
            .unwrap();
            assert_eq!(
                (cam.height, cam.width),
                (
                    want["height"].as_u64().unwrap() as usize,
                    want["width"].as_u64().unwrap() as usize
                )
            );
            let err = common::relative_error(&cam.map, &common::json_floats(&want["map"]));
            println!("{} {layer}: map relative error {err:.2e}", photo["photo"]);
            assert!(err <= 1e-3, "{} {layer}: {err}", photo["photo"]);
        }
    }
}

#[test]
fn our_own_decoding_and_resizing_give_pytorchs_top1_and_a_cat_for_the_cat() {
    let device = Device::flex();
    let explainer = explainer(&device);
    for photo in expected()["photos"].as_array().unwrap() {
        let name = photo["photo"].as_str().unwrap();
        let bytes = std::fs::read(root().join("tests/fixtures").join(name)).unwrap();
        let decoded = decode_photo(&bytes).unwrap();
        let result = pollster::block_on(explainer.explain(ExplainJob::photo(
            &decoded,
            CamRequest::new(Method::GradCam, Stage::Layer4, Target::TopClass),
        )))
        .unwrap();
        let top1 = photo["top1"].as_u64().unwrap() as usize;
        assert_eq!(result.top5[0].class, top1, "{name}: {:?}", result.top5);
        if name == "chelsea.png" {
            // ImageNet's domestic cats are classes 281–285.
            assert!((281..=285).contains(&result.top5[0].class));
            // The heat is on the cat's face: the centre third is hotter than the border.
            let (h, w) = (result.cam.height, result.cam.width);
            let at = |y: usize, x: usize| result.cam.map[y * w + x];
            let centre = at(h / 2, w / 2);
            let border = (0..w).map(|x| at(0, x)).fold(0f32, f32::max);
            assert!(centre > border, "centre {centre} vs top border {border}");
        }
    }
}
