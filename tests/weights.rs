//! Burnpack weights: round trips, f16 storage, self-description, bad files, key mapping.

mod common;

use gradcam_web::model::ResNetConfig;
use gradcam_web::model::weights::{
    WeightsError, WeightsInfo, load_resnet, read_info, save_resnet, torchvision_key_to_burn,
};

fn saved(config: &ResNetConfig, half: bool) -> (Vec<u8>, Vec<f32>) {
    let device = common::device(21);
    let model = common::random_model(config, &device);
    let input = common::random_input(64, &device);
    let logits = common::values(model.forward(input));
    let info = WeightsInfo {
        config: config.clone(),
        trained: false,
    };
    (save_resnet(&model, &info, half).unwrap(), logits)
}

fn reloaded_logits(bytes: Vec<u8>) -> Vec<f32> {
    let device = common::device(21);
    let input = common::random_input(64, &device);
    let other = common::device(99);
    let (model, _) = load_resnet(bytes, &other).unwrap();
    common::values(model.forward(input.to_device(&other)))
}

#[test]
fn f32_burnpack_round_trips_exactly() {
    let config = ResNetConfig::resnet50(7).with_base_width(8);
    let (bytes, logits) = saved(&config, false);
    let info = read_info(&bytes).unwrap();
    assert_eq!(info.config, config);
    assert!(!info.trained);
    assert!(common::relative_error(&reloaded_logits(bytes), &logits) < 1e-6);
}

#[test]
fn f16_burnpack_is_about_half_the_size_and_close() {
    let config = ResNetConfig::resnet18(7).with_base_width(16);
    let (full, logits) = saved(&config, false);
    let (half, _) = saved(&config, true);
    assert!(half.len() * 10 < full.len() * 6, "{} vs {}", half.len(), full.len());
    let err = common::relative_error(&reloaded_logits(half), &logits);
    assert!(err < 1e-2, "f16 storage changed logits by {err}");
}

#[test]
fn damaged_or_foreign_files_are_rejected_with_a_reason() {
    let config = ResNetConfig::resnet18(3).with_base_width(4);
    let (bytes, _) = saved(&config, false);
    let device = common::device(1);
    let truncated = load_resnet(bytes[..bytes.len() / 2].to_vec(), &device);
    assert!(truncated.is_err());
    let garbage = load_resnet(b"definitely not weights".to_vec(), &device);
    assert!(matches!(garbage, Err(WeightsError::Format(_))), "{garbage:?}");
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
        ("layer3.22.bn3.running_var", Some("layer3.22.bn3.running_var")),
        ("layer2.0.downsample.0.weight", Some("layer2.0.downsample.conv.weight")),
        ("layer2.0.downsample.1.weight", Some("layer2.0.downsample.bn.gamma")),
        ("layer2.0.downsample.1.bias", Some("layer2.0.downsample.bn.beta")),
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
        assert_eq!(torchvision_key_to_burn(&torch).as_deref(), Some(name.as_str()));
    }
}
