//! ResNet stage shapes and the staged forward pass (flex backend).

mod common;

use burn::module::Module;
use gradcam_web::model::{
    EfficientNetConfig, Layer, MbConvSpec, Network, ResNetConfig, Stage, StagedClassifier,
};

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

fn tiny_efficientnet() -> EfficientNetConfig {
    let spec = |in_channels, out_channels, kernel, stride, expand| MbConvSpec {
        in_channels,
        out_channels,
        kernel,
        stride,
        expand,
    };
    EfficientNetConfig {
        stem_channels: 8,
        blocks: vec![
            spec(8, 8, 3, 1, 1),
            spec(8, 12, 3, 2, 2),
            spec(12, 16, 5, 2, 2),
            spec(16, 16, 3, 1, 2),
            spec(16, 24, 5, 2, 2),
            spec(24, 32, 3, 2, 2),
            spec(32, 32, 3, 1, 2),
        ],
        stage_blocks: [1, 1, 1, 2, 2],
        head_channels: 40,
        num_classes: 6,
    }
}

#[test]
fn efficientnet_stages_have_resnet_strides_with_tensorflow_same_padding() {
    let device = common::device(5);
    let model = tiny_efficientnet().init(&device).valid();
    // An odd input size: "same" padding gives ⌈n / stride⌉ at every stride-2 step.
    let mut x = common::random_input(65, &device);
    let mut sides = Vec::new();
    for stage in Stage::FEATURES {
        x = model.stage(stage, x);
        sides.push(x.dims()[2]);
    }
    assert_eq!(sides, [33, 17, 9, 5, 3]);
    assert_eq!(x.dims()[1], 40);
}

#[test]
fn splitting_inside_a_stage_gives_the_same_logits_in_both_families() {
    let device = common::device(9);
    let resnet = Network::from(common::random_model(
        &ResNetConfig::resnet50(10)
            .with_base_width(8)
            .with_depths([1, 2, 3, 1]),
        &device,
    ));
    let efficientnet = Network::from(tiny_efficientnet().init(&device).valid());
    for model in [resnet, efficientnet] {
        let input = common::random_input(64, &device);
        let full = common::values(model.forward(input.clone()));
        for stage in Stage::FEATURES {
            for block in 0..model.block_count(stage) {
                let layer = Layer::block(stage, block);
                assert!(model.has_layer(layer));
                let mid = model.forward_until(layer, input.clone());
                let rest = common::values(model.forward_from(layer, mid));
                assert!(
                    common::relative_error(&rest, &full) < 1e-5,
                    "split at {layer} changes the logits"
                );
            }
            let past_the_end = Layer::block(stage, model.block_count(stage));
            assert!(!model.has_layer(past_the_end));
        }
    }
}

#[test]
fn layer_names_parse_and_print() {
    let layer: Layer = "layer3.22".parse().unwrap();
    assert_eq!(layer, Layer::block(Stage::Layer3, 22));
    assert_eq!(layer.to_string(), "layer3.22");
    assert_eq!(
        "layer4".parse::<Layer>().unwrap(),
        Layer::from(Stage::Layer4)
    );
    for bad in ["layer5", "layer3.", "layer3.x", ".2", ""] {
        let err = bad.parse::<Layer>().unwrap_err();
        assert!(err.to_string().contains("unknown layer"), "{bad}");
    }
}
