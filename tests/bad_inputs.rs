//! The bad-input corpus (`tests/fixtures/bad/`, made by `tests/reference/make_bad_inputs.py`):
//! every file either decodes to the expected upright photo (size and spot-checked pixels)
//! or is refused with a message naming the problem — through the library and through the
//! `gradcam` command line, where the good ones also get an overlay at their own size.

use std::path::PathBuf;
use std::process::Command;

use gradcam_web::imageio::{INPUT_SIZE, Normalization, decode_photo, preprocess};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    file: String,
    what: String,
    expect: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
    #[serde(default)]
    pixels: Vec<SpotCheck>,
}

#[derive(Debug, Deserialize)]
struct SpotCheck {
    x: u32,
    y: u32,
    rgb: [u8; 3],
    tolerance: u8,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

fn corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_file_decodes_correctly_or_is_refused_with_a_reason() {
    let cases = corpus();
    assert!(cases.len() >= 30, "the corpus shrank: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let bytes = std::fs::read(corpus_dir().join(&case.file)).unwrap();
        match (case.expect.as_str(), decode_photo(&bytes)) {
            ("ok", Ok(photo)) => {
                if (photo.width(), photo.height()) != (case.width, case.height) {
                    failures.push(format!(
                        "{} ({}): {}×{}, expected {}×{}",
                        case.file,
                        case.what,
                        photo.width(),
                        photo.height(),
                        case.width,
                        case.height
                    ));
                    continue;
                }
                for check in &case.pixels {
                    let got = photo.rgb.get_pixel(check.x, check.y).0;
                    let off = (0..3).any(|c| got[c].abs_diff(check.rgb[c]) > check.tolerance);
                    if off {
                        failures.push(format!(
                            "{} ({}): pixel ({}, {}) is {got:?}, expected {:?} ± {}",
                            case.file, case.what, check.x, check.y, check.rgb, check.tolerance
                        ));
                    }
                }
                let input = preprocess(&photo.rgb, INPUT_SIZE, &Normalization::IMAGENET);
                assert!(input.iter().all(|v| v.is_finite()), "{}", case.file);
            }
            ("error", Err(e)) => {
                let message = e.to_string();
                if !message.to_lowercase().contains(&case.message) {
                    failures.push(format!(
                        "{} ({}): message {message:?} does not say {:?}",
                        case.file, case.what, case.message
                    ));
                }
            }
            (expect, got) => failures.push(format!(
                "{} ({}): expected {expect}, got {:?}",
                case.file,
                case.what,
                got.map(|p| (p.width(), p.height()))
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_command_line_explains_the_good_files_and_names_the_problem_with_the_bad() {
    let cases = corpus();
    let out = std::env::temp_dir().join(format!("gradcam-bad-{}", std::process::id()));
    let mut args: Vec<String> = vec!["explain".into()];
    args.extend(
        cases
            .iter()
            .map(|c| corpus_dir().join(&c.file).display().to_string()),
    );
    args.extend(
        [
            "--model",
            "efficientnet-lite0",
            "--device",
            "cpu",
            "--json",
            "--out",
        ]
        .map(String::from),
    );
    args.push(out.display().to_string());
    let run = Command::new(env!("CARGO_BIN_EXE_gradcam"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "some files are bad: {stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len(), "one line per file: {stderr}");
    for (case, line) in cases.iter().zip(&lines) {
        assert!(
            line["photo"].as_str().unwrap().ends_with(&case.file),
            "{line}"
        );
        if case.expect == "ok" {
            assert!(line["top5"].is_array(), "{}: {line}", case.file);
            // Stems shared by several files (photo.bmp, photo.tiff) keep their extension.
            let stem = case.file.rsplit_once('.').unwrap().0;
            let shared = cases
                .iter()
                .filter(|c| c.file.starts_with(&format!("{stem}.")))
                .count()
                > 1;
            let name = if shared { case.file.as_str() } else { stem };
            let size = image::image_dimensions(out.join(format!("{name}.png"))).unwrap();
            assert_eq!(
                size,
                (case.width, case.height),
                "{}: the overlay is drawn at the photo's upright size",
                case.file
            );
        } else {
            let error = line["error"].as_str().unwrap();
            assert!(
                error.to_lowercase().contains(&case.message),
                "{}: {error:?} should say {:?}",
                case.file,
                case.message
            );
            assert_eq!(readable(error), Ok(()), "{}", case.file);
            let path = corpus_dir().join(&case.file);
            assert!(
                stderr.contains(&format!("error: {}: {error}", path.display())),
                "{}: the message names the file: {stderr}",
                case.file
            );
        }
    }
}

/// A message is for a person: words and punctuation, no control or replacement characters
/// (a damaged PNG chunk's raw type bytes) and no Rust `Debug` output (`Name { field: … }`).
fn readable(message: &str) -> Result<(), String> {
    const ALLOWED: &str = " .,:;()'’/-–—×";
    if let Some(c) = message
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ALLOWED.contains(*c)))
    {
        return Err(format!("character {c:?} in {message:?}"));
    }
    if message.contains("::") || message.contains("Error") {
        return Err(format!("debug output in {message:?}"));
    }
    Ok(())
}

#[test]
fn every_refusal_is_worded_for_a_person() {
    assert!(readable("the image could not be decoded: the PNG data is damaged").is_ok());
    assert!(readable("Format error decoding Png: ChunkType { type: g\u{bf}T1 }").is_err());
    let mut failures = Vec::new();
    for case in corpus().iter().filter(|c| c.expect == "error") {
        let bytes = std::fs::read(corpus_dir().join(&case.file)).unwrap();
        let message = decode_photo(&bytes).err().unwrap().to_string();
        if let Err(why) = readable(&message) {
            failures.push(format!("{}: {why}", case.file));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
