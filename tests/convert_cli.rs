//! `gradcam convert` with any number of classes and without `--arch`: the architecture is
//! worked out from the state dict's keys and shapes. The tiny 5-class fixture comes from
//! `tests/reference/make_convert_fixtures.py`; the presets' key sets are built here.

use std::path::PathBuf;
use std::process::Command;

use gradcam_web::model::infer::{InferError, Shapes, infer_architecture};
use gradcam_web::model::weights::read_info;
use gradcam_web::model::{Architecture, BlockKind, EfficientNetConfig, ResNetConfig};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gradcam(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gradcam"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// `explain --json` of the converter fixture's input with `weights` on the CPU: the top-5.
fn top5_on_fixture_input(weights: &str) -> Value {
    let run = gradcam(&[
        "explain",
        "--input-tensor",
        "tests/fixtures/convert/tiny_resnet.input.npy",
        "--weights",
        weights,
        "--device",
        "cpu",
        "--json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let line: Value = serde_json::from_slice(&run.stdout).unwrap();
    line["top5"].clone()
}

/// The keys and shapes of a torchvision ResNet state dict.
fn resnet_shapes(block: BlockKind, depths: [usize; 4], classes: usize) -> Shapes {
    let mut shapes = Shapes::new();
    let bn = |shapes: &mut Shapes, name: String, c: usize| {
        for stat in ["weight", "bias", "running_mean", "running_var"] {
            shapes.insert(format!("{name}.{stat}"), vec![c]);
        }
        shapes.insert(format!("{name}.num_batches_tracked"), vec![]);
    };
    shapes.insert("conv1.weight".into(), vec![64, 3, 7, 7]);
    bn(&mut shapes, "bn1".into(), 64);
    let mut channels = 64;
    for (stage, &depth) in depths.iter().enumerate() {
        let width = 64 << stage;
        let out = width * block.expansion();
        for b in 0..depth {
            let p = format!("layer{}.{b}", stage + 1);
            let convs = match block {
                BlockKind::Basic => vec![(width, channels, 3), (width, width, 3)],
                BlockKind::Bottleneck => {
                    vec![(width, channels, 1), (width, width, 3), (out, width, 1)]
                }
            };
            for (i, (o, c, k)) in convs.into_iter().enumerate() {
                shapes.insert(format!("{p}.conv{}.weight", i + 1), vec![o, c, k, k]);
                bn(&mut shapes, format!("{p}.bn{}", i + 1), o);
            }
            if b == 0 && channels != out {
                shapes.insert(
                    format!("{p}.downsample.0.weight"),
                    vec![out, channels, 1, 1],
                );
                bn(&mut shapes, format!("{p}.downsample.1"), out);
            }
            channels = out;
        }
    }
    shapes.insert("fc.weight".into(), vec![classes, channels]);
    shapes.insert("fc.bias".into(), vec![classes]);
    shapes
}

#[test]
fn torchvision_resnets_and_efficientnet_lite0_are_recognised_with_any_classes() {
    let presets = [
        ("resnet18", ResNetConfig::resnet18(7)),
        ("resnet34", ResNetConfig::resnet34(7)),
        ("resnet50", ResNetConfig::resnet50(7)),
        ("resnet101", ResNetConfig::resnet101(3)),
        ("resnet152", ResNetConfig::resnet152(1000)),
    ];
    for (name, config) in presets {
        let shapes = resnet_shapes(config.block, config.depths, config.num_classes);
        let arch = infer_architecture(&shapes).unwrap();
        assert_eq!(arch, Architecture::ResNet(config.clone()), "{name}");
        assert_eq!(arch.name(), name);
    }
    let mut lite = Shapes::new();
    lite.insert("_conv_stem.weight".into(), vec![32, 3, 3, 3]);
    for b in 0..16 {
        lite.insert(
            format!("_blocks.{b}._project_conv.weight"),
            vec![16, 32, 1, 1],
        );
    }
    lite.insert("_fc.weight".into(), vec![3, 1280]);
    let arch = infer_architecture(&lite).unwrap();
    assert_eq!(
        arch,
        Architecture::EfficientNet(EfficientNetConfig::lite0(3))
    );
    assert_eq!(arch.name(), "efficientnet-lite0");

    lite.remove("_blocks.15._project_conv.weight");
    let err = infer_architecture(&lite).unwrap_err().to_string();
    assert!(err.contains("15 blocks"), "{err}");
    let mut no_fc = resnet_shapes(BlockKind::Basic, [2, 2, 2, 2], 4);
    no_fc.remove("fc.weight");
    assert!(matches!(
        infer_architecture(&no_fc),
        Err(InferError::NoClassifier { .. })
    ));
    let mut vgg = Shapes::new();
    vgg.insert("features.0.weight".into(), vec![64, 3, 3, 3]);
    vgg.insert("fc.weight".into(), vec![10, 4096]);
    let err = infer_architecture(&vgg).unwrap_err().to_string();
    assert!(
        err.contains("unsupported") && err.contains("features.0.weight"),
        "{err}"
    );
}

#[test]
fn convert_without_arch_keeps_the_files_classes_and_matches_pytorch() {
    let dir = std::env::temp_dir().join(format!("gradcam-convert-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("tiny.bpk");
    let fixture = "tests/fixtures/convert/tiny_resnet.zip.pth";
    let run = gradcam(&["convert", fixture, out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("custom ResNet") && stderr.contains("5 classes"),
        "{stderr}"
    );
    let info = read_info(&std::fs::read(&out).unwrap()).unwrap();
    let expected = ResNetConfig::resnet18(5)
        .with_base_width(4)
        .with_depths([1, 1, 1, 1]);
    assert_eq!(info.arch, Architecture::ResNet(expected));
    assert!(info.trained);

    // The converted file gives PyTorch's probabilities on the fixture's input.
    let top5 = top5_on_fixture_input(out.to_str().unwrap());
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/convert/tiny_resnet.json")).unwrap(),
    )
    .unwrap();
    let logits: Vec<f64> = reference["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let total: f64 = logits.iter().map(|l| l.exp()).sum();
    for p in top5.as_array().unwrap() {
        let class = p["class"].as_u64().unwrap() as usize;
        let want = logits[class].exp() / total;
        let got = p["prob"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-5, "class {class}: {got} vs {want}");
        assert_eq!(p["label"], format!("class {class}"));
    }

    // A preset given with --arch takes the file's classes; a wrong one names the problem.
    let run = gradcam(&[
        "convert",
        "--arch",
        "resnet18",
        fixture,
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("does not fit resnet18"), "{stderr}");
}

/// `--labels` stores the classes' names in the burnpack: `explain` names its predictions
/// with them, with no `--labels` of its own; a file naming another number of classes is
/// refused, saying so.
#[test]
fn convert_with_labels_stores_the_names() {
    let dir = std::env::temp_dir().join(format!("gradcam-convert-labels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, good, short) = (
        dir.join("named.bpk"),
        dir.join("names.txt"),
        dir.join("short.json"),
    );
    std::fs::write(&good, "apple\nbanana\ncherry\ndate\nelder\n").unwrap();
    std::fs::write(&short, r#"["apple", "banana"]"#).unwrap();
    let fixture = "tests/fixtures/convert/tiny_resnet.zip.pth";
    let path = |p: &PathBuf| p.to_str().unwrap().to_owned();
    let run = gradcam(&["convert", fixture, &path(&out), "--labels", &path(&good)]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let info = read_info(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        info.labels.as_deref(),
        Some(&["apple", "banana", "cherry", "date", "elder"].map(String::from)[..])
    );
    let names = ["apple", "banana", "cherry", "date", "elder"];
    for p in top5_on_fixture_input(&path(&out)).as_array().unwrap() {
        assert_eq!(p["label"], names[p["class"].as_u64().unwrap() as usize]);
    }

    let run = gradcam(&[
        "convert",
        fixture,
        &path(&dir.join("no.bpk")),
        "--labels",
        &path(&short),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("short.json") && stderr.contains('2') && stderr.contains('5'),
        "{stderr}"
    );
    assert!(!dir.join("no.bpk").exists());
    std::fs::remove_dir_all(dir).ok();
}

/// `init-weights --pytorch` writes a state dict with torchvision's names that `convert`
/// reads back as the same network: the converted file explains an input exactly as the
/// burnpack `init-weights` writes for the same seed.
#[test]
fn an_untrained_pytorch_checkpoint_converts_back_to_the_same_network() {
    let dir = std::env::temp_dir().join(format!("gradcam-init-pth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let init = |extra: &[&str], out: &str| {
        let mut args = vec![
            "init-weights",
            "--arch",
            "resnet18",
            "--classes",
            "7",
            "--seed",
            "3",
            "--out",
        ];
        args.push(out);
        args.extend_from_slice(extra);
        let run = gradcam(&args);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    init(&["--pytorch"], &path("r18.pth"));
    init(&[], &path("direct.bpk"));
    let run = gradcam(&["convert", &path("r18.pth"), &path("converted.bpk")]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("ResNet-18, 7 classes"), "{stderr}");
    assert_eq!(
        top5_on_fixture_input(&path("converted.bpk")),
        top5_on_fixture_input(&path("direct.bpk"))
    );
    std::fs::remove_dir_all(dir).ok();
}
