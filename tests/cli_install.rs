//! The `gradcam` binary on its own, as `cargo install --path . --root PREFIX` leaves it:
//! alone in `PREFIX/bin`, run from another folder with an empty home, no checkout and no
//! `weights/` in sight. `./dev test` installs it for real and names it in
//! `GRADCAM_INSTALLED_BIN`; a plain `cargo test` copies the test build's binary instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// An install prefix holding only the binary, a home folder and a working folder.
struct Installed {
    prefix: PathBuf,
    home: PathBuf,
    cwd: PathBuf,
}

impl Installed {
    fn new(name: &str) -> Self {
        let prefix =
            std::env::temp_dir().join(format!("gradcam-install-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&prefix);
        let (home, cwd) = (prefix.join("home"), prefix.join("somewhere-else"));
        for dir in [prefix.join("bin"), home.clone(), cwd.clone()] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let installed = std::env::var_os("GRADCAM_INSTALLED_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_gradcam").into());
        std::fs::copy(installed, prefix.join("bin/gradcam")).unwrap();
        Self { prefix, home, cwd }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(self.prefix.join("bin/gradcam"));
        command
            .args(args)
            .current_dir(&self.cwd)
            .env("HOME", &self.home)
            .env("RUST_BACKTRACE", "0")
            .env_remove("XDG_DATA_HOME")
            .env_remove("GRADCAM_WEIGHTS_DIR")
            .env_remove("XDG_RUNTIME_DIR");
        // The other test may be copying its binary while this one starts: a child forked at
        // that moment holds the copy open for writing, and exec then fails with ETXTBSY.
        for _ in 0..50 {
            match command.output() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                result => return result.unwrap(),
            }
        }
        panic!("{} stayed busy", self.prefix.display())
    }
}

fn photo() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chelsea.png")
        .display()
        .to_string()
}

fn json(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().next().expect("a JSON line")).unwrap()
}

#[test]
fn a_photo_is_explained_with_the_built_in_model_from_any_folder_quietly() {
    let installed = Installed::new("default");
    let run = installed.run(&["explain", &photo(), "--out", "cat.png", "--json"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let line = json(&run);
    assert_eq!(line["model"], "efficientnet-lite0", "{line}");
    let top = line["top5"][0]["class"].as_u64().unwrap();
    assert!((281..=285).contains(&top), "chelsea is a cat: {line}");
    assert!(installed.cwd.join("cat.png").is_file());
    // Device probing (`--device auto` lists wgpu adapters) prints nothing of its own.
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}

#[test]
fn other_models_are_found_in_the_data_folder_and_in_the_prefix() {
    let installed = Installed::new("models");
    let data = installed.home.join(".local/share/gradcam-web/weights");
    std::fs::create_dir_all(&data).unwrap();
    let weights = data.join("resnet18.bpk");
    let init = installed.run(&[
        "init-weights",
        "--arch",
        "resnet18",
        "--half",
        "--out",
        weights.to_str().unwrap(),
    ]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let explain = |model: &str| {
        installed.run(&[
            "explain",
            &photo(),
            "--model",
            model,
            "--device",
            "cpu",
            "--out",
            "x.png",
            "--json",
        ])
    };
    let run = explain("resnet18");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(json(&run)["model"], "resnet18");

    let shared = installed.prefix.join("share/gradcam-web/weights");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::rename(&weights, shared.join("resnet18-imagenet1k-v1.bpk")).unwrap();
    let run = explain("resnet18");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let missing = explain("resnet34");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success());
    assert!(
        stderr.contains("no weights for resnet34") && stderr.contains(data.to_str().unwrap()),
        "the message names the folders searched: {stderr}"
    );
}
