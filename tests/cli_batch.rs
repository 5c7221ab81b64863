//! `gradcam explain` at scale, run as a user runs it, on a tiny 5-class ResNet converted
//! from `tests/fixtures/convert/tiny_resnet.zip.pth` (see `tests/reference/
//! make_convert_fixtures.py`): labels files, ImageFolder expected classes in the CSV, two
//! shards side by side equal to one run, `--resume` after a killed run; and `gradcam evaluate`
//! with its JSON lines and `--csv` table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gradcam"));
    command
        .args(args)
        .current_dir(root())
        .env("RUST_BACKTRACE", "0");
    command
}

fn gradcam(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

fn ok(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradcam-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

const LABELS: [&str; 5] = ["cat", "cup", "building", "person", "rocket"];

/// The tiny 5-class ResNet as a burnpack, converted without `--arch`.
fn tiny_weights(dir: &Path) -> PathBuf {
    let out = dir.join("tiny.bpk");
    let run = gradcam(&[
        "convert",
        "tests/fixtures/convert/tiny_resnet.zip.pth",
        path(&out),
    ]);
    ok(&run);
    out
}

/// An ImageFolder dataset: `data/<class>/<photo>`, five photos in four classes.
fn dataset(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    for (class, photo) in [
        ("cat", "chelsea.png"),
        ("cup", "coffee.png"),
        ("building", "china.jpg"),
        ("person", "grace_hopper.jpg"),
        ("person", "exif-orientation-6.jpg"),
    ] {
        std::fs::create_dir_all(data.join(class)).unwrap();
        std::fs::copy(
            root().join("tests/fixtures").join(photo),
            data.join(class).join(photo),
        )
        .unwrap();
    }
    data
}

fn labels_txt(dir: &Path) -> PathBuf {
    let file = dir.join("labels.txt");
    std::fs::write(&file, LABELS.join("\n") + "\n").unwrap();
    file
}

/// The rows of a results CSV (no field holds a comma here), header first.
fn csv_rows(file: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn top5_labels(output: &Output) -> Vec<String> {
    let line: Value = serde_json::from_slice(&output.stdout).unwrap();
    line["top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn labels_files_name_the_classes_and_a_wrong_count_is_refused() {
    let dir = scratch("labels");
    let weights = tiny_weights(&dir);
    let explain = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            "tests/fixtures/chelsea.png",
            "--weights",
            path(&weights),
            "--device",
            "cpu",
            "--json",
        ];
        args.extend_from_slice(extra);
        gradcam(&args)
    };
    let plain = explain(&[]);
    ok(&plain);
    let numbered = top5_labels(&plain);
    assert!(
        numbered.iter().all(|l| l.starts_with("class ")),
        "{numbered:?}"
    );
    let named_as = |n: &str| LABELS[n.strip_prefix("class ").unwrap().parse::<usize>().unwrap()];
    let expected: Vec<&str> = numbered.iter().map(|n| named_as(n)).collect();

    let txt = labels_txt(&dir);
    let list = dir.join("labels.json");
    std::fs::write(&list, serde_json::to_string(&LABELS).unwrap()).unwrap();
    let object = dir.join("names.json");
    let map: serde_json::Map<String, Value> = LABELS
        .iter()
        .enumerate()
        .rev()
        .map(|(i, n)| (i.to_string(), Value::from(*n)))
        .collect();
    std::fs::write(&object, Value::Object(map).to_string()).unwrap();
    for file in [&txt, &list, &object] {
        let run = explain(&["--labels", path(file)]);
        ok(&run);
        assert_eq!(top5_labels(&run), expected, "{}", file.display());
    }

    let short = dir.join("short.txt");
    std::fs::write(&short, "a\nb\nc\nd\n").unwrap();
    let run = explain(&["--labels", path(&short)]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("names 4 classes but the model has 5"),
        "{stderr}"
    );
    let gap = dir.join("gap.json");
    std::fs::write(
        &gap,
        r#"{"0": "a", "1": "b", "2": "c", "3": "d", "5": "e"}"#,
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&explain(&["--labels", path(&gap)]).stderr).into_owned();
    assert!(stderr.contains("class 4 has no name"), "{stderr}");
}

#[test]
fn image_folder_subfolders_are_the_expected_classes_in_the_csv() {
    let dir = scratch("imagefolder");
    let weights = tiny_weights(&dir);
    let data = dataset(&dir);
    let csv = dir.join("results.csv");
    let run = gradcam(&[
        "explain",
        path(&data),
        "--weights",
        path(&weights),
        "--device",
        "cpu",
        "--labels",
        path(&labels_txt(&dir)),
        "--threshold",
        "0.5",
        "--csv",
        path(&csv),
    ]);
    ok(&run);
    let rows = csv_rows(&csv);
    assert_eq!(
        rows[0],
        [
            "file",
            "expected",
            "predicted",
            "confidence",
            "top5",
            "method",
            "layer",
            "hot_box"
        ]
    );
    assert_eq!(rows.len(), 6, "{rows:?}");
    for row in &rows[1..] {
        let file = Path::new(&row[0]);
        let class = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(row[1], class, "{row:?}");
        assert!(LABELS.contains(&row[2].as_str()), "{row:?}");
        let confidence: f32 = row[3].parse().unwrap();
        assert!(confidence > 0.2 && confidence <= 1.0, "{row:?}");
        assert_eq!(row[4].split("; ").count(), 5, "{row:?}");
        assert!(row[4].starts_with(&format!("{}=", row[2])), "{row:?}");
        assert_eq!((row[5].as_str(), row[6].as_str()), ("gradcam", "layer4"));
        let hot_box: Vec<u32> = row[7].split(' ').map(|v| v.parse().unwrap()).collect();
        assert_eq!(hot_box.len(), 4, "{row:?}");
    }
}

#[test]
fn two_shards_side_by_side_merge_to_one_full_run() {
    let dir = scratch("shards");
    let weights = tiny_weights(&dir);
    let data = dataset(&dir);
    let labels = labels_txt(&dir);
    let args = |csv: &Path, out: &Path| -> Vec<String> {
        [
            "explain",
            path(&data),
            "--weights",
            path(&weights),
            "--device",
            "cpu",
            "--labels",
            path(&labels),
            "--csv",
            path(csv),
            "--out",
            path(out),
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let full_csv = dir.join("full.csv");
    ok(&command(
        &args(&full_csv, &dir.join("full"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap());
    let shards: Vec<_> = ["1/2", "2/2"]
        .iter()
        .map(|shard| {
            let csv = dir.join(format!("shard{}.csv", &shard[..1]));
            let mut a = args(&csv, &dir.join("sharded"));
            a.extend(["--shard".to_owned(), (*shard).to_owned()]);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let child = command(&a)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (csv, child)
        })
        .collect();
    let mut merged = BTreeSet::new();
    let mut sizes = Vec::new();
    for (csv, child) in shards {
        ok(&child.wait_with_output().unwrap());
        let rows = csv_rows(&csv);
        sizes.push(rows.len() - 1);
        for row in rows.into_iter().skip(1) {
            assert!(merged.insert(row), "a photo in both shards");
        }
    }
    let full: BTreeSet<Vec<String>> = csv_rows(&full_csv).into_iter().skip(1).collect();
    assert_eq!(full.len(), 5);
    assert_eq!(merged, full);
    assert!(
        sizes.iter().all(|&n| n > 0),
        "both shards have photos: {sizes:?}"
    );
    let names = |d: &str| -> BTreeSet<PathBuf> {
        walk(&dir.join(d))
            .into_iter()
            .map(|p| p.strip_prefix(dir.join(d)).unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("sharded"), names("full"));
}

/// Files under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn resume_skips_finished_photos_and_redoes_unfinished_ones() {
    let dir = scratch("resume");
    let weights = tiny_weights(&dir);
    let data = dataset(&dir);
    let (out, csv) = (dir.join("out"), dir.join("results.csv"));
    let run = |resume: bool| {
        let mut args = vec![
            "explain",
            path(&data),
            "--weights",
            path(&weights),
            "--device",
            "cpu",
            "--out",
            path(&out),
            "--csv",
            path(&csv),
        ];
        if resume {
            args.push("--resume");
        }
        ok(&gradcam(&args))
    };
    run(false);
    let pngs = walk(&out);
    assert_eq!(pngs.len(), 5, "{pngs:?}");
    // A killed run: one overlay never written, one only as its temporary file, and half a
    // CSV row.
    let missing = out.join("cat/chelsea.png");
    let partial = out.join("cup/coffee.png");
    std::fs::remove_file(&missing).unwrap();
    std::fs::rename(&partial, out.join("cup/coffee.png.tmp")).unwrap();
    std::fs::write(out.join("cup/coffee.png.tmp"), b"\x89PNG half").unwrap();
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("/half/a/row.jpg,ca");
    std::fs::write(&csv, text).unwrap();
    let finished: Vec<(PathBuf, SystemTime)> = walk(&out)
        .into_iter()
        .filter(|p| p.extension().unwrap() == "png")
        .map(|p| (p.clone(), mtime(&p)))
        .collect();
    assert_eq!(finished.len(), 3);
    std::thread::sleep(std::time::Duration::from_millis(20));

    let stderr = run(true);
    assert!(stderr.contains("resume: 3 photos already done"), "{stderr}");
    assert!(
        stderr.contains("explained 2 photos, 0 failed, 3 skipped"),
        "{stderr}"
    );
    for (p, before) in &finished {
        assert_eq!(mtime(p), *before, "{} was redone", p.display());
    }
    for p in [&missing, &partial] {
        assert!(image::open(p).is_ok(), "{}", p.display());
    }
    assert!(!out.join("cup/coffee.png.tmp").exists());
    let rows = csv_rows(&csv);
    let files: BTreeSet<&String> = rows[1..].iter().map(|r| &r[0]).collect();
    assert_eq!((rows.len(), files.len()), (6, 5), "{rows:?}");
    assert!(!files.iter().any(|f| f.contains("half")));

    let stderr = run(true);
    assert!(
        stderr.contains("explained 0 photos, 0 failed, 5 skipped"),
        "{stderr}"
    );
}

#[test]
fn evaluate_prints_a_report_per_method_and_baseline_and_its_csv_table_agrees() {
    let dir = scratch("evaluate");
    let weights = tiny_weights(&dir);
    let table = dir.join("trust.csv");
    let run = gradcam(&[
        "evaluate",
        "tests/fixtures/chelsea.png",
        "--weights",
        path(&weights),
        "--method",
        "gradcam,gradcam++",
        "--metrics",
        "confidence,deletion,insertion",
        "--steps",
        "8",
        "--baselines",
        "--json",
        "--csv",
        path(&table),
    ]);
    ok(&run);
    let reports: Vec<Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let methods: Vec<&str> = reports
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        [
            "gradcam",
            "gradcam++",
            "baseline-random",
            "baseline-sobel",
            "baseline-gaussian"
        ]
    );
    for report in &reports {
        assert_eq!(
            report["metrics"]["deletion_curve"]
                .as_array()
                .unwrap()
                .len(),
            9
        );
        assert!(
            report["metrics"]["road_combined"].is_null(),
            "ROAD was not asked for"
        );
    }
    let rows = csv_rows(&table);
    let header = &rows[0];
    assert_eq!(header[..4], ["photo", "method", "layer", "target"]);
    assert!(header.contains(&"deletion_auc".to_owned()));
    assert!(
        !header.iter().any(|c| c.ends_with("_curve")),
        "curves stay in the JSON"
    );
    assert_eq!(rows.len(), 1 + reports.len());
    for (row, report) in rows[1..].iter().zip(&reports) {
        assert_eq!(row[1], report["method"].as_str().unwrap());
        assert_eq!(row[3], report["target"].to_string());
        for (column, cell) in header.iter().zip(row).skip(4) {
            let want = report["metrics"][column].as_f64().unwrap();
            assert_eq!(cell.parse::<f64>().unwrap(), want, "{column}");
        }
    }
}
