//! The `gradcam` command line, run as a user runs it: several photos with a bad one, JSON
//! lines, raw maps as `.npy`, a preprocessed input tensor, contrast targets, and the device
//! choice (a native GPU through wgpu when the machine has a Vulkan driver, lavapipe included).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gradcam_web::imageio::read_npy_f32;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gradcam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gradcam"))
        .args(args)
        .current_dir(root())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradcam-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn several_photos_one_bad_each_get_a_result_and_the_bad_one_is_reported() {
    let out = scratch("many");
    let (overlays, cams) = (out.join("overlays"), out.join("cams"));
    let bad = out.join("notes.jpg");
    std::fs::write(&bad, "not a photo").unwrap();
    let run = gradcam(&[
        "explain",
        "tests/fixtures/chelsea.png",
        path(&bad),
        "tests/fixtures/coffee.png",
        "--model",
        "efficientnet-lite0",
        "--device",
        "cpu",
        "--json",
        "--out",
        path(&overlays),
        "--cam-out",
        path(&cams),
    ]);
    assert_eq!(run.status.code(), Some(1), "one photo failed");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("[2/3]") && stderr.contains("notes.jpg"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 of 3 photos could not be explained"),
        "{stderr}"
    );
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["model"], "efficientnet-lite0");
    assert_eq!(lines[0]["method"], "gradcam");
    assert_eq!(lines[0]["layer"], "layer4");
    assert_eq!(lines[0]["device"], "cpu");
    assert_eq!(lines[0]["cam_shape"], serde_json::json!([7, 7]));
    assert_eq!(lines[0]["top5"][0]["class"], 285, "Egyptian cat");
    assert!(lines[1]["error"].as_str().unwrap().contains("not an image"));
    assert_eq!(lines[2]["top5"][0]["label"], "espresso");
    for stem in ["chelsea", "coffee"] {
        let png = image::open(overlays.join(format!("{stem}.png"))).unwrap();
        assert!(png.width() > 300);
        let cam = read_npy_f32(&std::fs::read(cams.join(format!("{stem}.npy"))).unwrap()).unwrap();
        assert_eq!(cam.shape, [7, 7]);
        assert!(cam.data.iter().any(|v| *v > 0.0));
    }
    assert!(!overlays.join("notes.png").exists());
}

#[test]
fn a_folder_works_like_its_photos() {
    let dir = scratch("folder");
    for name in ["chelsea.png", "coffee.png"] {
        std::fs::copy(root().join("tests/fixtures").join(name), dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("README.txt"), "ignored").unwrap();
    let run = gradcam(&[
        "explain",
        path(&dir),
        "--model",
        "efficientnet-lite0",
        "--device",
        "cpu",
        "--json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(json_lines(&run).len(), 2);
}

#[test]
fn input_tensor_methods_layers_and_contrast() {
    let out = scratch("tensor");
    let cam = out.join("cam.npy");
    let run = gradcam(&[
        "explain",
        "--input-tensor",
        "tests/fixtures/efficientnet_lite0/chelsea.input.npy",
        "--weights",
        "weights/efficientnet-lite0.bpk",
        "--device",
        "cpu",
        "--method",
        "gradcam++",
        "--layer",
        "layer3",
        "--contrast",
        "285,281",
        "--cam-out",
        path(&cam),
        "--json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let line = &json_lines(&run)[0];
    assert_eq!(line["method"], "gradcam++");
    assert_eq!(
        line["target"],
        serde_json::json!({"class": 285, "rather_than": 281})
    );
    assert_eq!(
        read_npy_f32(&std::fs::read(&cam).unwrap()).unwrap().shape,
        [14, 14]
    );

    let fused = gradcam(&[
        "explain",
        "tests/fixtures/chelsea.png",
        "--model",
        "efficientnet-lite0",
        "--device",
        "cpu",
        "--layer",
        "layer3,layer4",
        "--json",
    ]);
    assert!(fused.status.success());
    let line = &json_lines(&fused)[0];
    assert_eq!(line["layer"], "layer3,layer4");
    assert_eq!(line["cam_shape"], serde_json::json!([224, 224]));
}

#[test]
fn ablation_cam_says_when_the_score_is_not_positive() {
    let explain = |target: &str| {
        gradcam(&[
            "explain",
            "--input-tensor",
            "tests/fixtures/efficientnet_lite0/chelsea.input.npy",
            "--weights",
            "weights/efficientnet-lite0.bpk",
            "--device",
            "cpu",
            "--method",
            "ablationcam",
            "--contrast",
            target,
            "--json",
        ])
    };
    let first = explain("281,285");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let line = &json_lines(&first)[0];
    let top: Vec<u64> = line["top5"].as_array().unwrap()[..2]
        .iter()
        .map(|p| p["class"].as_u64().unwrap())
        .collect();
    // "Why the runner-up rather than the top class": a negative score.
    let negative = explain(&format!("{},{}", top[1], top[0]));
    assert!(negative.status.success());
    let note = json_lines(&negative)[0]["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        note.contains("Ablation-CAM") && note.contains("not positive"),
        "{note}"
    );
    assert!(String::from_utf8_lossy(&negative.stderr).contains(&note));
    let positive = explain(&format!("{},{}", top[0], top[1]));
    assert!(positive.status.success());
    assert_eq!(json_lines(&positive)[0]["note"], Value::Null);
}

/// "No positive evidence" is the renderer's flatness rule (`render::spread`): a map the
/// overlay draws as the plain photo is the map the CLI warns about, and only that one.
#[test]
fn a_flat_map_is_reported_as_no_positive_evidence() {
    let explain = |contrast: &str| {
        gradcam(&[
            "explain",
            "--input-tensor",
            "tests/fixtures/efficientnet_lite0/chelsea.input.npy",
            "--weights",
            "weights/efficientnet-lite0.bpk",
            "--device",
            "cpu",
            "--contrast",
            contrast,
        ])
    };
    // A class against itself: a zero score, a zero gradient, an all-zero map.
    let flat = explain("281,281");
    assert!(
        flat.status.success(),
        "{}",
        String::from_utf8_lossy(&flat.stderr)
    );
    let stderr = String::from_utf8_lossy(&flat.stderr);
    assert!(
        stderr.contains("no positive evidence for class 281"),
        "{stderr}"
    );
    let shown = explain("281,285");
    assert!(shown.status.success());
    let stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(!stderr.contains("no positive evidence"), "{stderr}");
}

/// A network unsure of its top class (below `engine::LOW_CONFIDENCE`) is said to be guessing
/// on stderr, with the class and its probability; a sure one is not.
#[test]
fn an_unsure_network_is_reported_as_guessing() {
    let explain = |input: &str| {
        gradcam(&[
            "explain",
            "--input-tensor",
            input,
            "--weights",
            "weights/efficientnet-lite0.bpk",
            "--device",
            "cpu",
            "--json",
        ])
    };
    // A grey input (all zeros after normalisation): nothing in it for the network to be sure of.
    let grey = scratch("unsure").join("grey.npy");
    let npy = gradcam_web::imageio::write_npy_f32(&[1, 3, 224, 224], &[0.0; 3 * 224 * 224]);
    std::fs::write(&grey, npy).unwrap();
    for (input, unsure) in [
        (grey.to_str().unwrap(), true),
        ("tests/fixtures/efficientnet_lite0/chelsea.input.npy", false),
    ] {
        let run = explain(input);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let top = json_lines(&run)[0]["top5"][0].clone();
        let prob = top["prob"].as_f64().unwrap() as f32;
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            prob < gradcam_web::engine::LOW_CONFIDENCE,
            unsure,
            "{input}: top class at {prob}"
        );
        assert_eq!(
            stderr.contains("The network is unsure"),
            unsure,
            "{input}: {stderr}"
        );
        if unsure {
            assert!(stderr.contains(top["label"].as_str().unwrap()), "{stderr}");
        }
    }
}

#[test]
fn bad_requests_get_clear_errors() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "explain",
                "tests/fixtures/chelsea.png",
                "--model",
                "resnet7",
            ],
            "no weights for resnet7",
        ),
        (
            &[
                "explain",
                "tests/fixtures/chelsea.png",
                "--model",
                "efficientnet-lite0",
                "--layer",
                "layer9",
            ],
            "unknown layer",
        ),
        (
            &[
                "explain",
                "tests/fixtures/chelsea.png",
                "--model",
                "efficientnet-lite0",
                "--device",
                "cpu",
                "--layer",
                "layer3.40",
            ],
            "no layer `layer3.40`",
        ),
        (
            &[
                "explain",
                "tests/fixtures/chelsea.png",
                "--model",
                "efficientnet-lite0",
                "--method",
                "gradcam+",
            ],
            "unknown method",
        ),
        (
            &[
                "explain",
                "tests/fixtures/chelsea.png",
                "--model",
                "efficientnet-lite0",
                "--device",
                "cpu",
                "--target",
                "1000",
            ],
            "class 1000 does not exist",
        ),
    ];
    for (args, message) in cases {
        let run = gradcam(args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// Says that a test did not run its checks, where CI's log shows it: libtest captures
/// `println!`/`eprintln!` of passing tests, not writes to the stderr handle itself.
fn skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED the_gpu_device_gives_the_cpu_map_where_an_adapter_exists: {why}"
    );
}

/// The native GPU path: where wgpu finds any adapter (a real GPU, or Mesa's lavapipe, which
/// `./dev test` installs), `--device gpu` must give the same map as the CPU.
#[test]
fn the_gpu_device_gives_the_cpu_map_where_an_adapter_exists() {
    let out = scratch("gpu");
    let run = |device: &str| {
        let cam = out.join(format!("{device}.npy"));
        let run = gradcam(&[
            "explain",
            "tests/fixtures/chelsea.png",
            "--model",
            "efficientnet-lite0",
            "--device",
            device,
            "--cam-out",
            path(&cam),
            "--json",
        ]);
        (run, cam)
    };
    let (gpu, gpu_cam) = run("gpu");
    if !gpu.status.success() {
        let stderr = String::from_utf8_lossy(&gpu.stderr);
        assert!(stderr.contains("no usable GPU adapter"), "{stderr}");
        assert!(
            std::env::var_os("GRADCAM_REQUIRE_GPU").is_none(),
            "GRADCAM_REQUIRE_GPU is set but there is no adapter: {stderr}"
        );
        skipped(&format!(
            "no wgpu adapter on this machine ({})",
            stderr.trim()
        ));
        return;
    }
    assert_eq!(json_lines(&gpu)[0]["device"], "gpu");
    let (cpu, cpu_cam) = run("cpu");
    assert!(cpu.status.success());
    let a = read_npy_f32(&std::fs::read(gpu_cam).unwrap()).unwrap();
    let b = read_npy_f32(&std::fs::read(cpu_cam).unwrap()).unwrap();
    let scale = b.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = a
        .data
        .iter()
        .zip(&b.data)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    println!("gpu vs cpu map: max |Δ| / max {:.2e}", diff / scale);
    assert!(diff / scale < 1e-3);
    let (g, c) = (&json_lines(&gpu)[0]["top5"], &json_lines(&cpu)[0]["top5"]);
    for i in 0..5 {
        assert_eq!(g[i]["class"], c[i]["class"]);
        let (pg, pc) = (
            g[i]["prob"].as_f64().unwrap(),
            c[i]["prob"].as_f64().unwrap(),
        );
        assert!((pg - pc).abs() < 1e-4, "{pg} vs {pc}");
    }
}
