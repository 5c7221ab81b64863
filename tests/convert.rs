//! Importing PyTorch state dicts: both file formats, numbers equal to PyTorch's, and clear
//! errors for files that do not fit. Fixtures: `tests/reference/make_convert_fixtures.py`.

mod common;

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use gradcam_web::imageio::read_npy_f32;
use gradcam_web::model::import::{ImportError, import_pytorch};
use gradcam_web::model::weights::{WeightsInfo, load_network, save_network};
use gradcam_web::model::{Architecture, ResNetConfig, StagedClassifier};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/convert")
        .join(name)
}

fn tiny() -> Architecture {
    Architecture::ResNet(
        ResNetConfig::resnet18(5)
            .with_base_width(4)
            .with_depths([1, 1, 1, 1]),
    )
}

fn input(device: &Device) -> Tensor<4> {
    let array = read_npy_f32(&std::fs::read(fixture("tiny_resnet.input.npy")).unwrap()).unwrap();
    Tensor::from_data(TensorData::new(array.data, [1, 3, 32, 32]), device)
}

fn expected_logits() -> Vec<f32> {
    let text = std::fs::read_to_string(fixture("tiny_resnet.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn zip_and_legacy_files_import_to_pytorchs_logits() {
    let device = Device::flex();
    for file in ["tiny_resnet.zip.pth", "tiny_resnet.legacy.pth"] {
        let model = import_pytorch(&fixture(file), &tiny(), &Device::flex()).unwrap();
        let logits = common::values(model.forward(input(&device)));
        let err = common::relative_error(&logits, &expected_logits());
        assert!(err < 1e-5, "{file}: relative error {err}");
    }
}

#[test]
fn imported_weights_survive_the_burnpack_round_trip() {
    let device = Device::flex();
    let model = import_pytorch(&fixture("tiny_resnet.zip.pth"), &tiny(), &Device::flex()).unwrap();
    let mut info = WeightsInfo::untrained(tiny());
    info.trained = true;
    let bytes = save_network(&model, &info, false).unwrap();
    let (reloaded, read) = load_network(bytes, &device).unwrap();
    assert!(read.trained);
    let err = common::relative_error(
        &common::values(reloaded.forward(input(&device))),
        &expected_logits(),
    );
    assert!(err < 1e-5, "relative error {err}");
}

#[test]
fn files_that_do_not_fit_name_the_problem() {
    let wrong_shape =
        import_pytorch(&fixture("tiny_bad_shape.pth"), &tiny(), &Device::flex()).unwrap_err();
    let text = wrong_shape.to_string();
    assert!(
        matches!(wrong_shape, ImportError::Mismatch { .. }),
        "{text}"
    );
    assert!(text.contains("fc.weight"), "{text}");

    let missing =
        import_pytorch(&fixture("tiny_missing.pth"), &tiny(), &Device::flex()).unwrap_err();
    let text = missing.to_string();
    assert!(
        text.contains("missing") && text.contains("layer2.0.conv1.weight"),
        "{text}"
    );

    // A network with an empty last stage leaves the file's layer4 tensors unused.
    let shorter = Architecture::ResNet(
        ResNetConfig::resnet18(5)
            .with_base_width(4)
            .with_depths([1, 1, 1, 0]),
    );
    let text = import_pytorch(&fixture("tiny_resnet.zip.pth"), &shorter, &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("15 unexpected") && text.contains("layer4.0."),
        "{text}"
    );

    // The right file for another architecture: a ResNet-18 wants far more tensors.
    let other = Architecture::by_name("resnet18").unwrap();
    let text = import_pytorch(&fixture("tiny_resnet.zip.pth"), &other, &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(text.contains("does not fit resnet18"), "{text}");
}

#[test]
fn unreadable_files_are_reported_as_such() {
    let dir = std::env::temp_dir().join(format!("gradcam-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = std::fs::read(fixture("tiny_resnet.zip.pth")).unwrap();
    let cases = [
        ("text.pth", b"this is not a checkpoint".to_vec()),
        ("empty.pth", Vec::new()),
        ("truncated.pth", whole[..whole.len() / 2].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = import_pytorch(&path, &tiny(), &Device::flex()).unwrap_err();
        assert!(
            matches!(err, ImportError::Unreadable { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    let absent = import_pytorch(&dir.join("absent.pth"), &tiny(), &Device::flex()).unwrap_err();
    assert!(matches!(absent, ImportError::Unreadable { .. }));
    std::fs::remove_dir_all(dir).ok();
}
