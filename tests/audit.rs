//! The page's folder audit, natively: one photo audited as the explorer would explain it
//! (EfficientNet-Lite0 on a real photo, `flex`), kept small; a bad file becomes a failed
//! row; accuracy, the confusion matrix, the grid's filters and orders and the CSV from hand
//! made rows; the export's ZIP read back by the checkpoint reader's zip code.

use std::path::PathBuf;

use burn::tensor::Device;
use gradcam_web::archive::{ZipWriter, zip_stored};
use gradcam_web::audit::{
    self, AUDIT_HOT_BOX_SIZE, AUDIT_THUMBNAIL_SIZE, AuditQuery, AuditRow, CSV_HEADER, audit_photo,
    select, summarise,
};
use gradcam_web::cam::{CamRequest, Method, Target};
use gradcam_web::display::{DisplayBox, DisplayPhotos, render_display};
use gradcam_web::engine::Prediction;
use gradcam_web::imageio::decode_photo;
use gradcam_web::model::{Layer, Stage};
use gradcam_web::render::ViewOptions;
use gradcam_web::trust::{Metric, MetricValue, MetricsRequest, evaluate};
use gradcam_web::{ExplainJob, Explainer};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn explainer() -> Explainer {
    let bytes = std::fs::read(root().join("weights/efficientnet-lite0.bpk")).unwrap();
    Explainer::from_burnpack(bytes, &Device::flex()).unwrap()
}

fn request() -> CamRequest {
    CamRequest::new(
        Method::GradCam,
        Layer::from(Stage::Layer4),
        Target::TopClass,
    )
}

#[test]
fn a_photo_is_audited_as_the_explorer_explains_it_and_kept_small() {
    let explainer = explainer();
    let bytes = std::fs::read(root().join("tests/fixtures/chelsea.png")).unwrap();
    let photo = decode_photo(&bytes).unwrap();
    let direct =
        pollster::block_on(explainer.explain(ExplainJob::photo(&photo, request()))).unwrap();
    let top = &direct.top5[0];
    let file = format!("pets/{}/chelsea.png", top.label);
    let options = ViewOptions::default();
    let audited = pollster::block_on(audit_photo(
        &explainer,
        &bytes,
        &file,
        request(),
        &options,
        None,
    ));
    let row = &audited.row;
    assert_eq!(row.error, None);
    assert_eq!(row.file, file);
    assert_eq!(row.folder.as_deref(), Some(top.label.as_str()));
    assert_eq!(row.expected, Some(top.class), "the folder names the class");
    assert_eq!(row.is_right(), Some(true));
    assert_eq!(row.top5, direct.top5);
    assert_eq!(
        (row.method.as_str(), row.layer.as_str()),
        ("gradcam", "layer4")
    );
    assert_eq!((row.width, row.height), (photo.width(), photo.height()));
    // The map at feature resolution (7×7 here: kept as it is), equal to the explorer's.
    assert_eq!(audited.map_shape, (direct.cam.height, direct.cam.width));
    assert_eq!(audited.map, direct.cam.map);
    // The hot region as the explorer finds it at a threshold of 50 % in a 512 px box.
    let hot = ViewOptions {
        threshold: Some(0.5),
        ..options
    };
    let shape = (direct.cam.height, direct.cam.width);
    let drawn = |options: &ViewOptions, side: u32| {
        let target = DisplayBox::new(side, Some(side)).unwrap();
        let mut photos = DisplayPhotos::default();
        render_display(
            &mut photos,
            &photo.rgb,
            &direct.cam.map,
            shape,
            options,
            target,
        )
    };
    let expected_box = drawn(&hot, AUDIT_HOT_BOX_SIZE).hot_box;
    assert!(expected_box.is_some());
    assert_eq!(row.hot_box, expected_box);
    // The thumbnail: the explorer's overlay at 160 px on the long side, the photo's aspect.
    let (w, h, rgba) = audited.thumbnail.as_ref().unwrap();
    assert_eq!(w.max(h), &AUDIT_THUMBNAIL_SIZE);
    let aspect = f64::from(photo.width()) / f64::from(photo.height());
    assert!((f64::from(*w) / f64::from(*h) - aspect).abs() < 0.02);
    assert_eq!(rgba.len(), (w * h * 4) as usize);
    let thumb = drawn(&options, AUDIT_THUMBNAIL_SIZE);
    assert_eq!(&thumb.view.rgba, rgba);

    // A folder that names no class: no expected class; a file that is no photo: a failed row.
    let loose = pollster::block_on(audit_photo(
        &explainer,
        &bytes,
        "holiday/chelsea.png",
        request(),
        &options,
        None,
    ));
    assert_eq!(
        (loose.row.folder.as_deref(), loose.row.expected),
        (Some("holiday"), None)
    );
    let bad = pollster::block_on(audit_photo(
        &explainer,
        b"not a photo",
        "pets/notes.jpg",
        request(),
        &options,
        None,
    ));
    assert!(
        bad.row
            .error
            .as_deref()
            .unwrap()
            .starts_with("not a usable photo"),
        "{:?}",
        bad.row.error
    );
    assert!(bad.thumbnail.is_none() && bad.map.is_empty());

    // The export's overlay is the Save button's, drawn from the kept map.
    let mut png = Vec::new();
    let saved =
        audit::overlay_png(&bytes, &audited.map, audited.map_shape, &options, &mut png).unwrap();
    assert_eq!((saved.width, saved.height), (photo.width(), photo.height()));
    let mut save = Vec::new();
    gradcam_web::display::write_overlay_png(
        &mut save,
        &photo.rgb,
        &direct.cam.map,
        shape,
        &options,
    )
    .unwrap();
    assert_eq!(png, save);
}

#[test]
fn a_scored_audit_keeps_each_maps_headline_scores_as_gradcam_evaluate_computes_them() {
    let explainer = explainer();
    let bytes = std::fs::read(root().join("tests/fixtures/chelsea.png")).unwrap();
    let scoring = MetricsRequest {
        metrics: vec![Metric::Deletion, Metric::Insertion],
        steps: 8,
        ..MetricsRequest::default()
    };
    let options = ViewOptions::default();
    let audited = pollster::block_on(audit_photo(
        &explainer,
        &bytes,
        "pets/chelsea.png",
        request(),
        &options,
        Some(&scoring),
    ));
    let photo = decode_photo(&bytes).unwrap();
    let direct =
        pollster::block_on(explainer.explain(ExplainJob::photo(&photo, request()))).unwrap();
    let input = explainer.input_tensor(&photo);
    let report =
        pollster::block_on(evaluate(&explainer, &input, &direct, &scoring, &|_| {})).unwrap();
    let number = |key: &str| match report.metrics[key] {
        MetricValue::Number(v) => v,
        MetricValue::Array(_) => panic!("{key} is a number"),
    };
    let scores = &audited.row.scores;
    assert_eq!(
        scores.keys().collect::<Vec<_>>(),
        ["deletion_auc", "insertion_auc"]
    );
    assert_eq!(scores["deletion_auc"], Some(number("deletion_auc")));
    assert_eq!(scores["insertion_auc"], Some(number("insertion_auc")));
    // The CSV gains their columns.
    let text = audit::csv(std::slice::from_ref(&audited.row));
    assert!(
        text.starts_with(&format!(
            "{},deletion_auc,insertion_auc\n",
            CSV_HEADER.join(",")
        )),
        "{text}"
    );
}

fn prediction(class: usize, prob: f32) -> Prediction {
    Prediction {
        class,
        label: ["cat", "dog", "fox"][class].to_owned(),
        prob,
    }
}

fn row(file: &str, expected: Option<usize>, predicted: usize, prob: f32) -> AuditRow {
    let mut row = AuditRow::failed(file, String::new());
    row.error = None;
    row.expected = expected;
    row.top5 = vec![
        prediction(predicted, prob),
        prediction((predicted + 1) % 3, 1.0 - prob),
    ];
    row.method = "gradcam".to_owned();
    row.layer = "layer4".to_owned();
    row
}

fn rows() -> Vec<AuditRow> {
    vec![
        row("d/cat/1.jpg", Some(0), 0, 0.9),
        row("d/cat/2.jpg", Some(0), 1, 0.6),
        row("d/dog/3.jpg", Some(1), 1, 0.4),
        row("d/dog/4.jpg", Some(1), 2, 0.7),
        row("d/misc/5.jpg", None, 0, 0.3),
        AuditRow::failed(
            "d/cat/6.jpg",
            "not a usable photo: the file is empty".to_owned(),
        ),
    ]
}

#[test]
fn accuracy_and_the_confusion_matrix_count_photos_whose_folder_names_a_class() {
    let s = summarise(&rows(), 10, 30_000.0);
    assert_eq!((s.done, s.failed, s.with_expected, s.correct), (6, 1, 4, 2));
    assert_eq!(s.accuracy, Some(0.5));
    let classes: Vec<(usize, &str, usize, usize)> = s
        .classes
        .iter()
        .map(|c| (c.class, c.label.as_str(), c.photos, c.correct))
        .collect();
    // fox is only ever predicted: a column with no photos of its own.
    assert_eq!(
        classes,
        [(0, "cat", 2, 1), (1, "dog", 2, 1), (2, "fox", 0, 0)]
    );
    assert_eq!(s.matrix, [vec![1, 1, 0], vec![0, 1, 1], vec![0, 0, 0]]);
    assert_eq!(s.unmatched_folders, ["misc"]);
    assert_eq!(s.per_minute, Some(12.0));
    assert_eq!(s.seconds_left, Some(20.0));
    let none = summarise(&[], 3, 0.0);
    assert_eq!((none.accuracy, none.per_minute), (None, None));
}

fn query(json: &str) -> AuditQuery {
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_grid_filters_and_sorts() {
    let rows = rows();
    let pick = |json: &str| select(&rows, &query(json)).unwrap();
    assert_eq!(pick("{}"), [0, 1, 2, 3, 4, 5]);
    assert_eq!(pick(r#"{"show":"wrong"}"#), [1, 3]);
    assert_eq!(pick(r#"{"show":"right"}"#), [0, 2]);
    assert_eq!(pick(r#"{"show":"failed"}"#), [5]);
    assert_eq!(pick(r#"{"show":"unsure"}"#), [2, 4]);
    assert_eq!(pick(r#"{"show":"unsure","below":0.65}"#), [1, 2, 4]);
    assert_eq!(
        pick(r#"{"class":1}"#),
        [1, 2, 3],
        "expected or predicted as dog"
    );
    assert_eq!(pick(r#"{"show":"wrong","class":2}"#), [3]);
    assert_eq!(pick(r#"{"sort":"confidence"}"#), [5, 4, 2, 1, 3, 0]);
    assert_eq!(pick(r#"{"sort":"confidence-desc"}"#), [0, 3, 1, 2, 4, 5]);
    assert_eq!(pick(r#"{"sort":"predicted","show":"right"}"#), [0, 2]);
    assert_eq!(pick(r#"{"sort":"expected"}"#), [0, 1, 5, 2, 3, 4]);
    assert!(select(&rows, &query(r#"{"show":"odd"}"#)).is_err());
    // Worst map first: the highest deletion AUC (lower is better), the lowest insertion AUC.
    let mut scored = rows.clone();
    for (row, (deletion, insertion)) in scored.iter_mut().zip([(0.2, 0.9), (0.7, 0.5), (0.4, 0.1)])
    {
        row.scores.insert("deletion_auc".to_owned(), Some(deletion));
        row.scores
            .insert("insertion_auc".to_owned(), Some(insertion));
    }
    let worst =
        |metric: &str| select(&scored, &query(&format!(r#"{{"sort":"worst:{metric}"}}"#))).unwrap();
    assert_eq!(worst("deletion")[..3], [1, 2, 0]);
    assert_eq!(worst("insertion")[..3], [2, 1, 0]);
    assert!(
        worst("deletion")[3..].iter().all(|&i| i >= 3),
        "unscored maps last"
    );
    assert!(select(&rows, &query(r#"{"sort":"worst:cascading-randomisation"}"#)).is_err());
    let means = summarise(&scored, 6, 1.0).scores;
    assert_eq!(
        means
            .iter()
            .map(|m| (m.key.as_str(), m.maps))
            .collect::<Vec<_>>(),
        [("deletion_auc", 3), ("insertion_auc", 3)]
    );
    assert!((means[0].mean.unwrap() - 13.0 / 30.0).abs() < 1e-12);
    assert!(!means[0].higher_is_better && means[1].higher_is_better);
    assert!(select(&rows, &query(r#"{"sort":"size"}"#)).is_err());
}

#[test]
fn the_csv_is_the_clis_with_failed_photos_left_out() {
    let mut rows = rows();
    rows[0].hot_box = Some(gradcam_web::render::HotBox {
        x: 1,
        y: 2,
        width: 3,
        height: 4,
    });
    let text = audit::csv(&rows);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], CSV_HEADER.join(","));
    assert_eq!(lines.len(), 1 + 5);
    assert_eq!(
        lines[1],
        "d/cat/1.jpg,cat,cat,0.900000,cat=0.900000; dog=0.100000,gradcam,layer4,1 2 3 4"
    );
    assert_eq!(
        lines[5],
        "d/misc/5.jpg,,cat,0.300000,cat=0.300000; dog=0.700000,gradcam,layer4,"
    );
    // Rows travel through the page as JSON and come back the same.
    let json = serde_json::to_string(&rows).unwrap();
    assert_eq!(serde_json::from_str::<Vec<AuditRow>>(&json).unwrap(), rows);
    // The page's own failed row (a file it could not read) names only the file and why.
    let page_row: AuditRow =
        serde_json::from_str(r#"{"file":"gone.jpg","error":"could not be read"}"#).unwrap();
    assert_eq!(
        page_row,
        AuditRow::failed("gone.jpg", "could not be read".to_owned())
    );
}

#[test]
fn an_archive_written_entry_by_entry_is_the_archive_written_whole() {
    let entries: [(&str, &[u8]); 3] = [
        ("a/1.png", b"one"),
        ("results.csv", b"x,y\n"),
        ("empty", b""),
    ];
    let mut writer = ZipWriter::default();
    let mut streamed = Vec::new();
    for (name, data) in entries {
        streamed.extend(writer.entry(name, data).unwrap());
    }
    streamed.extend(writer.finish().unwrap());
    assert_eq!(streamed, zip_stored(&entries).unwrap());
    let found = gradcam_web::model::checkpoint::zip_entries(&streamed).unwrap();
    for (name, data) in entries {
        assert_eq!(&streamed[found[name].clone()], data, "{name}");
    }
}
