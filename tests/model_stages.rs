//! ResNet stage shapes and the staged forward pass (flex backend).

mod common;

use gradcam_web::model::{ResNetConfig, Stage, StagedClassifier};

fn stage_shapes(config: &ResNetConfig, size: usize) -> Vec<[usize; 4]> {
    let device = common::device(1);
    let model = common::random_model(config, &device);
    let mut x = common::random_input(size, &device);
    let mut shapes = Vec::new();
    for stage in Stage::FEATURES {
        x = model.stage(stage, x);
        shapes.push(x.dims());
    }
    shapes
}

#[test]
fn resnet18_stage_shapes_match_torchvision() {
    let shapes = stage_shapes(&ResNetConfig::resnet18(1000), 64);
    assert_eq!(
        shapes,
        vec![
            [1, 64, 16, 16],
            [1, 64, 16, 16],
            [1, 128, 8, 8],
            [1, 256, 4, 4],
            [1, 512, 2, 2]
        ]
    );
}

#[test]
fn resnet50_stage_shapes_match_torchvision() {
    let shapes = stage_shapes(&ResNetConfig::resnet50(1000), 64);
    assert_eq!(
        shapes,
        vec![
            [1, 64, 16, 16],
            [1, 256, 16, 16],
            [1, 512, 8, 8],
            [1, 1024, 4, 4],
            [1, 2048, 2, 2]
        ]
    );
}

#[test]
fn resnet101_has_torchvision_depth_and_shapes() {
    let config = ResNetConfig::resnet101(1000);
    let device = common::device(2);
    let model = config.init(&device);
    let blocks = [
        model.layer1.len(),
        model.layer2.len(),
        model.layer3.len(),
        model.layer4.len(),
    ];
    assert_eq!(blocks, [3, 4, 23, 3]);
    // torchvision's resnet101 has 44,549,160 parameters; burn also counts the batch-norm
    // running mean and variance (2 × 52,672 channels).
    use burn::module::Module;
    assert_eq!(model.num_params(), 44_549_160 + 2 * 52_672);
    let shapes = stage_shapes(&config, 64);
    assert_eq!(shapes[4], [1, 2048, 2, 2]);
    assert_eq!(shapes[3], [1, 1024, 4, 4]);
}

#[test]
fn staged_forward_equals_full_forward() {
    let config = ResNetConfig::resnet50(10).with_base_width(8);
    let device = common::device(3);
    let model = common::random_model(&config, &device);
    let input = common::random_input(64, &device);
    let full = common::values(model.forward(input.clone()));
    for split in Stage::FEATURES {
        let mid = model.forward_until(split, input.clone());
        let rest = common::values(model.forward_from(split, mid));
        assert!(
            common::relative_error(&rest, &full) < 1e-6,
            "split at {split} changes the logits"
        );
    }
}

#[test]
fn stage_names_round_trip() {
    for stage in Stage::ALL {
        assert_eq!(stage.name().parse::<Stage>().unwrap(), stage);
    }
    let err = "layer5".parse::<Stage>().unwrap_err();
    assert!(err.to_string().contains("layer5"));
}
