//! Grad-CAM against exact oracles (flex backend).
//!
//! At `layer4` the rest of the network is average pool + linear, so
//! d(logit_c)/dA_k(h, w) = W[c, k] / (H·W) at every position, and Grad-CAM equals
//! ReLU(Σ_k W[c, k]·A_k) / (H·W) exactly.

mod common;

use burn::tensor::Tensor;
use gradcam_web::cam::{CamError, CamOutput, Target, grad_cam};
use gradcam_web::model::{ResNet, ResNetConfig, Stage, StagedClassifier};

/// Grad-CAM driven to completion on the CPU; panics on error.
fn run_grad_cam(model: &ResNet, input: &Tensor<4>, layer: Stage, target: Target) -> CamOutput {
    pollster::block_on(grad_cam(model, input.clone(), layer, target)).unwrap()
}

/// The oracle map for class `class` from the model's own fc weights and layer4 activations.
fn oracle(model: &ResNet, input: Tensor<4>, class: usize) -> Vec<f32> {
    let activations = model.forward_until(Stage::Layer4, input);
    let [_, channels, h, w] = activations.dims();
    let a = common::values(activations);
    // burn stores the linear weight as [in, out].
    let weight = common::values(model.fc.weight.val());
    let classes = weight.len() / channels;
    (0..h * w)
        .map(|p| {
            let s: f32 = (0..channels)
                .map(|k| weight[k * classes + class] * a[k * h * w + p])
                .sum();
            s.max(0.0) / (h * w) as f32
        })
        .collect()
}

fn check_layer4_oracle(config: ResNetConfig, size: usize, seed: u64) {
    let device = common::device(seed);
    let model = common::random_model(&config, &device);
    let input = common::random_input(size, &device);
    let logits = common::values(model.forward(input.clone()));
    for class in 0..config.num_classes {
        let cam = run_grad_cam(&model, &input, Stage::Layer4, Target::Class(class));
        assert_eq!(cam.class, class);
        assert!(common::relative_error(&cam.logits, &logits) < 1e-6);
        let expected = oracle(&model, input.clone(), class);
        assert_eq!(cam.map.len(), expected.len());
        let err = common::relative_error(&cam.map, &expected);
        assert!(err < 1e-4, "class {class}: relative error {err}");
    }
}

#[test]
fn layer4_gradcam_equals_fc_weighted_activations_bottleneck() {
    check_layer4_oracle(ResNetConfig::resnet50(6).with_base_width(8), 128, 10);
}

#[test]
fn layer4_gradcam_equals_fc_weighted_activations_basic() {
    check_layer4_oracle(ResNetConfig::resnet18(6).with_base_width(8), 96, 11);
}

#[test]
fn layer4_gradcam_equals_oracle_on_resnet101_at_224() {
    let config = ResNetConfig::resnet101(1000);
    let device = common::device(12);
    let model = common::random_model(&config, &device);
    let input = common::random_input(224, &device);
    let cam = run_grad_cam(&model, &input, Stage::Layer4, Target::TopClass);
    assert_eq!((cam.height, cam.width), (7, 7));
    let top = cam
        .logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(cam.class, top, "default target is the top-1 class");
    let expected = oracle(&model, input, top);
    let err = common::relative_error(&cam.map, &expected);
    assert!(err < 1e-4, "relative error {err}");
}

#[test]
fn earlier_layers_give_maps_at_their_resolution() {
    let config = ResNetConfig::resnet50(5).with_base_width(8);
    let device = common::device(13);
    let model = common::random_model(&config, &device);
    let input = common::random_input(64, &device);
    for (stage, side) in [
        (Stage::Stem, 16),
        (Stage::Layer1, 16),
        (Stage::Layer2, 8),
        (Stage::Layer3, 4),
    ] {
        let cam = run_grad_cam(&model, &input, stage, Target::Class(1));
        assert_eq!((cam.height, cam.width), (side, side), "{stage}");
        assert!(cam.map.iter().all(|v| *v >= 0.0 && v.is_finite()));
    }
}

#[test]
fn layer3_gradcam_matches_finite_differences() {
    // Independent check of the autodiff gradient: α_k from central differences of the logit
    // with respect to a uniform shift of channel k.
    let config = ResNetConfig::resnet18(4).with_base_width(4);
    let device = common::device(14);
    let model = common::random_model(&config, &device);
    let input = common::random_input(64, &device);
    let class = 2;
    let activations = model.forward_until(Stage::Layer3, input.clone());
    let [_, channels, h, w] = activations.dims();
    let a = common::values(activations.clone());
    let logit = |values: &[f32]| {
        let t = burn::tensor::Tensor::<4>::from_data(
            burn::tensor::TensorData::new(values.to_vec(), [1, channels, h, w]),
            &device,
        );
        common::values(model.forward_from(Stage::Layer3, t))[class] as f64
    };
    let eps = 1e-2f32;
    let mut expected = vec![0f32; h * w];
    for k in 0..channels {
        // d logit / d A_k(p) summed over p, divided by H·W, is α_k (spatial mean of the gradient).
        let mut up = a.clone();
        let mut down = a.clone();
        for p in 0..h * w {
            up[k * h * w + p] += eps;
            down[k * h * w + p] -= eps;
        }
        let alpha = ((logit(&up) - logit(&down)) / (2.0 * eps as f64)) as f32 / (h * w) as f32;
        for p in 0..h * w {
            expected[p] += alpha * a[k * h * w + p];
        }
    }
    expected.iter_mut().for_each(|v| *v = v.max(0.0));
    let cam = run_grad_cam(&model, &input, Stage::Layer3, Target::Class(class));
    let err = common::relative_error(&cam.map, &expected);
    assert!(err < 2e-2, "relative error {err}");
}

#[test]
fn bad_requests_are_typed_errors() {
    let config = ResNetConfig::resnet18(3).with_base_width(4);
    let device = common::device(15);
    let model = common::random_model(&config, &device);
    let input = common::random_input(32, &device);
    let head = pollster::block_on(grad_cam(
        &model,
        input.clone(),
        Stage::Head,
        Target::TopClass,
    ));
    assert!(matches!(head, Err(CamError::NotSpatial(l)) if l == Stage::Head.into()));
    let class = pollster::block_on(grad_cam(&model, input, Stage::Layer4, Target::Class(3)));
    assert!(matches!(
        class,
        Err(CamError::NoSuchClass {
            class: 3,
            classes: 3
        })
    ));
}

#[test]
fn switching_class_at_layer4_reuses_the_forward_pass_and_equals_full_gradcam() {
    // The path the page takes on a class switch: the product on host copies of the
    // classifier weights and the activations.
    use gradcam_web::cam::grad_cam_for_class_on_host;
    use gradcam_web::model::StagedClassifier;
    let config = ResNetConfig::resnet50(8).with_base_width(8);
    let device = common::device(16);
    let model = common::random_model(&config, &device);
    let input = common::random_input(96, &device);
    let first = run_grad_cam(&model, &input, Stage::Layer4, Target::TopClass);
    let classifier = common::values(model.classifier().weight.val());
    let activations = common::values(first.activations.clone().unwrap());
    let switch =
        |previous, target| grad_cam_for_class_on_host(&classifier, &activations, previous, target);
    for class in 0..config.num_classes {
        let switched = switch(&first, Target::Class(class)).unwrap();
        let full = run_grad_cam(&model, &input, Stage::Layer4, Target::Class(class));
        assert_eq!(switched.class, class);
        assert_eq!(switched.logits, first.logits);
        let err = common::relative_error(&switched.map, &full.map);
        assert!(err < 1e-4, "class {class}: relative error {err}");
    }
    let at_layer3 = run_grad_cam(&model, &input, Stage::Layer3, Target::TopClass);
    assert!(matches!(
        switch(&at_layer3, Target::Class(0)),
        Err(CamError::NotLastStage(l)) if l == Stage::Layer3.into()
    ));
}
