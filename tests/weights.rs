//! Burnpack weights: round trips, f16 storage, self-description, bad files, key mapping.

mod common;

use burn::tensor::{Device, Tensor};

use gradcam_web::model::weights::{
    WeightsError, WeightsInfo, load_network, read_info, save_network, torchvision_key_to_burn,
};
use gradcam_web::model::{Architecture, Network, ResNetConfig, StagedClassifier};

/// A model with random batch-norm statistics, an input, and the model's logits for it.
/// (Tests run in parallel and burn's CPU seed is global, so nothing here relies on
/// re-seeding to get the same numbers twice: one model, one input, reused.)
fn model_and_logits(config: &ResNetConfig) -> (Network, Tensor<4>, Vec<f32>) {
    let device = common::device(22);
    let model = Network::from(common::random_model(config, &device));
    let input = common::random_input(64, &device);
    let logits = common::values(model.forward(input.clone()));
    (model, input, logits)
}

fn info(config: &ResNetConfig) -> WeightsInfo {
    WeightsInfo::untrained(Architecture::ResNet(config.clone()))
}

fn reloaded_logits(bytes: Vec<u8>, input: Tensor<4>) -> Vec<f32> {
    let other = Device::flex();
    let (model, _) = load_network(bytes, &other).unwrap();
    common::values(model.forward(input.to_device(&other)))
}

#[test]
fn f32_burnpack_round_trips_exactly() {
    let config = ResNetConfig::resnet50(7).with_base_width(8);
    let (model, input, logits) = model_and_logits(&config);
    let bytes = save_network(&model, &info(&config), false).unwrap();
    let read = read_info(&bytes).unwrap();
    assert_eq!(read.arch, Architecture::ResNet(config.clone()));
    assert_eq!(
        read.normalization,
        gradcam_web::imageio::Normalization::IMAGENET
    );
    assert!(!read.trained);
    // Loading folds every batch norm into its convolution (`load_network`): against the same
    // network folded here the round trip is exact to float rounding of one op order; against
    // the unfolded network it differs by the folding's rounding (random batch-norm
    // statistics; the random weights depend on which test seeded burn first).
    let folded = common::values(model.valid().fold_batch_norms().forward(input.clone()));
    let reloaded = reloaded_logits(bytes, input);
    let exact = common::relative_error(&reloaded, &folded);
    assert!(exact < 1e-6, "against the folded network: {exact}");
    let folding = common::relative_error(&reloaded, &logits);
    assert!(folding < 1e-4, "against the unfolded network: {folding}");
}

#[test]
fn f16_burnpack_is_about_half_the_size_and_close() {
    let config = ResNetConfig::resnet18(7).with_base_width(16);
    let (model, input, logits) = model_and_logits(&config);
    let full = save_network(&model, &info(&config), false).unwrap();
    let half = save_network(&model, &info(&config), true).unwrap();
    assert!(
        half.len() * 10 < full.len() * 6,
        "{} vs {}",
        half.len(),
        full.len()
    );
    let err = common::relative_error(&reloaded_logits(half, input), &logits);
    assert!(err < 1e-2, "f16 storage changed logits by {err}");
}

#[test]
fn damaged_or_foreign_files_are_rejected_with_a_reason() {
    let config = ResNetConfig::resnet18(3).with_base_width(4);
    let (model, _, _) = model_and_logits(&config);
    let bytes = save_network(&model, &info(&config), false).unwrap();
    let device = Device::flex();
    let truncated = load_network(bytes[..bytes.len() / 2].to_vec(), &device);
    assert!(truncated.is_err());
    let garbage = load_network(b"definitely not weights".to_vec(), &device);
    assert!(
        matches!(garbage, Err(WeightsError::Format(_))),
        "{garbage:?}"
    );
    assert!(
        garbage
            .unwrap_err()
            .to_string()
            .starts_with("not a valid burnpack")
    );
}

#[test]
fn torchvision_keys_map_to_our_parameter_paths() {
    let cases = [
        ("conv1.weight", Some("conv1.weight")),
        ("bn1.weight", Some("bn1.gamma")),
        ("bn1.bias", Some("bn1.beta")),
        ("bn1.running_mean", Some("bn1.running_mean")),
        ("bn1.num_batches_tracked", None),
        ("layer3.22.conv2.weight", Some("layer3.22.conv2.weight")),
        (
            "layer3.22.bn3.running_var",
            Some("layer3.22.bn3.running_var"),
        ),
        (
            "layer2.0.downsample.0.weight",
            Some("layer2.0.downsample.conv.weight"),
        ),
        (
            "layer2.0.downsample.1.weight",
            Some("layer2.0.downsample.bn.gamma"),
        ),
        (
            "layer2.0.downsample.1.bias",
            Some("layer2.0.downsample.bn.beta"),
        ),
        ("fc.weight", Some("fc.weight")),
        ("fc.bias", Some("fc.bias")),
    ];
    for (key, expected) in cases {
        assert_eq!(
            torchvision_key_to_burn(key).as_deref(),
            expected,
            "key {key}"
        );
    }
}

#[test]
fn every_parameter_of_resnet101_has_a_torchvision_name() {
    // Save our model, read the tensor names back, and check that each is the image of a
    // torchvision key under the documented mapping.
    use burn::store::ModuleSnapshot;
    let device = common::device(3);
    let model = ResNetConfig::resnet101(1000).init(&device);
    let names: Vec<String> = model
        .collect(None, None, false)
        .into_iter()
        .map(|t| t.name)
        .collect();
    // 104 convolutions, 104 batch norms × 4 tensors, fc weight and bias.
    assert_eq!(names.len(), 104 + 104 * 4 + 2);
    for name in names {
        let torch = name
            .replace(".gamma", ".weight")
            .replace(".beta", ".bias")
            .replace("downsample.conv", "downsample.0")
            .replace("downsample.bn", "downsample.1");
        assert_eq!(
            torchvision_key_to_burn(&torch).as_deref(),
            Some(name.as_str())
        );
    }
}
