//! The trust metrics (src/trust/) against pytorch-grad-cam 1.5.7's metrics and an
//! independent RISE implementation, on make_cam_fixtures.py's tiny_basic ResNet and its
//! 128×128 chelsea input, with the maps the fixture script stored
//! (tests/reference/make_trust_fixtures.py, tests/fixtures/trust/).
//!
//! Tolerances: every metric value within relative error 1e-3 of the reference; curves
//! within 1e-3 of their largest value. ROAD is compared with the imputation noise off
//! (exact: the same linear system, solved by conjugate gradients here and by `spsolve`
//! there) and, with the default noise 0.01, statistically: our mean over 4 seeds within
//! 6 standard deviations (the reference's, over 16 torch seeds) plus 1e-3 relative of
//! pytorch-grad-cam's mean. The sanity checks (random logit, efficient and cascading model
//! randomisation) are asserted on the trained EfficientNet-Lite0.

mod common;

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use gradcam_web::cam::{CamRequest, Method, Target};
use gradcam_web::engine::{ExplainJob, Explainer};
use gradcam_web::imageio::{decode_photo, read_npy_f32};
use gradcam_web::model::import::import_pytorch;
use gradcam_web::model::weights::WeightsInfo;
use gradcam_web::model::{Architecture, Network, ResNetConfig, Stage, StagedClassifier};
use gradcam_web::trust::{
    Baseline, CurveBaseline, CurveKind, Metric, MetricValue, MetricsRequest, Rng, SanityCheck,
    blur, confidence_change, curve, evaluate, evaluate_baseline, impute, map_at_input,
    model_randomisation, percentile, road, road_keep, spearman, ssim,
};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Fixture {
    json: Value,
    model: Network,
    input: Tensor<4>,
    host_input: Vec<f32>,
    maps: Vec<Vec<f32>>,
}

const SIZE: usize = 128;

fn arch() -> Architecture {
    Architecture::ResNet(
        ResNetConfig::resnet18(10)
            .with_base_width(8)
            .with_depths([1, 1, 1, 1]),
    )
}

fn fixture() -> Fixture {
    let dir = root().join("tests/fixtures/trust");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("tiny_basic.chelsea.json")).unwrap(),
    )
    .unwrap();
    let pth = root().join("tests/fixtures/cam/tiny_basic.pth");
    let model = import_pytorch(&pth, &arch(), &Device::flex()).unwrap();
    let x =
        read_npy_f32(&std::fs::read(root().join("tests/fixtures/cam/chelsea.input.npy")).unwrap())
            .unwrap();
    let input = Tensor::from_data(
        TensorData::new(x.data.clone(), [1, 3, SIZE, SIZE]),
        &Device::flex(),
    );
    let maps = read_npy_f32(&std::fs::read(dir.join("tiny_basic.chelsea.maps.npy")).unwrap())
        .unwrap()
        .data
        .chunks(SIZE * SIZE)
        .map(<[f32]>::to_vec)
        .collect();
    Fixture {
        json,
        model,
        input,
        host_input: x.data,
        maps,
    }
}

fn cases(f: &Fixture) -> Vec<(usize, usize, &Value)> {
    f.json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["map"].as_u64().unwrap() as usize,
                c["class"].as_u64().unwrap() as usize,
                c,
            )
        })
        .collect()
}

fn assert_rel(actual: f64, expected: f64, label: &str) {
    let err = (actual - expected).abs() / expected.abs().max(1e-12);
    assert!(
        err <= 1e-3,
        "{label}: {actual} vs pytorch-grad-cam {expected} (relative error {err:.2e})"
    );
}

fn floats(v: &Value) -> Vec<f64> {
    common::json_floats(v)
        .iter()
        .map(|&x| f64::from(x))
        .collect()
}

#[test]
fn confidence_change_matches_pytorch_grad_cam() {
    let f = fixture();
    for (map, class, case) in cases(&f) {
        let c =
            pollster::block_on(confidence_change(&f.model, &f.input, &f.maps[map], class)).unwrap();
        let label = format!("class {class}");
        assert_rel(
            c.change.into(),
            case["confidence_change"].as_f64().unwrap(),
            &label,
        );
        assert_rel(
            c.drop.into(),
            case["drop_in_confidence"].as_f64().unwrap(),
            &label,
        );
        assert_eq!(
            f64::from(c.increase),
            case["increase_in_confidence"].as_f64().unwrap()
        );
    }
}

#[test]
fn road_without_noise_matches_pytorch_grad_cam() {
    let f = fixture();
    let percentiles: Vec<u32> = f.json["percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap() as u32)
        .collect();
    for (map, class, case) in cases(&f) {
        let r = pollster::block_on(road(
            &f.model,
            &f.host_input,
            (SIZE, SIZE),
            &f.maps[map],
            class,
            &percentiles,
            0.0,
            0,
            16,
            &Device::flex(),
        ))
        .unwrap();
        for (name, ours) in [("road_morf", &r.morf), ("road_lerf", &r.lerf)] {
            for ((p, &o), e) in percentiles.iter().zip(ours).zip(floats(&case[name])) {
                assert_rel(o.into(), e, &format!("class {class} {name} p{p}"));
            }
        }
        for (name, ours) in [
            ("road_morf_average", r.morf_average),
            ("road_lerf_average", r.lerf_average),
            ("road_combined", r.combined),
        ] {
            assert_rel(
                ours.into(),
                case[name].as_f64().unwrap(),
                &format!("class {class} {name}"),
            );
        }
    }
}

#[test]
fn imputation_matches_pytorch_grad_cam() {
    let f = fixture();
    let expected = read_npy_f32(
        &std::fs::read(root().join("tests/fixtures/trust/tiny_basic.chelsea.road70.npy")).unwrap(),
    )
    .unwrap()
    .data;
    let keep = road_keep(&f.maps[0], 70, false);
    let removed = keep.iter().filter(|k| !**k).count();
    assert!(
        removed > SIZE * SIZE / 4,
        "MoRF 70 removes about 30% of the pixels"
    );
    let ours = impute(&f.host_input, &keep, (SIZE, SIZE), 0.0, &mut Rng::new(0));
    assert!(common::relative_error(&ours, &expected) < 1e-4);
}

#[test]
fn noisy_road_agrees_with_pytorch_grad_cam_statistically() {
    let f = fixture();
    // The noise is there: imputed pixels move by N(0, 0.01²).
    let keep = road_keep(&f.maps[0], 50, false);
    let plain = impute(&f.host_input, &keep, (SIZE, SIZE), 0.0, &mut Rng::new(1));
    let noisy = impute(&f.host_input, &keep, (SIZE, SIZE), 0.01, &mut Rng::new(1));
    let diffs: Vec<f64> = plain
        .iter()
        .zip(&noisy)
        .map(|(a, b)| f64::from(b - a))
        .filter(|d| *d != 0.0)
        .collect();
    let std = (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64).sqrt();
    assert!((0.009..0.011).contains(&std), "noise std {std}");
    let (_, class, case) = cases(&f)[0];
    let reference = &case["road_combined_noisy"];
    let (mean, sd) = (
        reference["mean"].as_f64().unwrap(),
        reference["std"].as_f64().unwrap(),
    );
    let seeds = 4;
    let ours: f64 = (0..seeds)
        .map(|seed| {
            let r = pollster::block_on(road(
                &f.model,
                &f.host_input,
                (SIZE, SIZE),
                &f.maps[0],
                class,
                &gradcam_web::trust::DEFAULT_PERCENTILES,
                0.01,
                seed,
                16,
                &Device::flex(),
            ))
            .unwrap();
            f64::from(r.combined)
        })
        .sum::<f64>()
        / seeds as f64;
    assert!(
        (ours - mean).abs() <= 6.0 * sd + 1e-3 * mean.abs(),
        "noisy ROAD combined {ours} vs pytorch-grad-cam {mean} ± {sd}"
    );
}

#[test]
fn deletion_and_insertion_match_rise() {
    let f = fixture();
    let steps = f.json["steps"].as_u64().unwrap() as usize;
    let blurred = Tensor::from_data(
        TensorData::new(blur(&f.host_input, (SIZE, SIZE)), [1, 3, SIZE, SIZE]),
        &Device::flex(),
    );
    for (map, class, case) in cases(&f) {
        for (kind, kind_name) in [
            (CurveKind::Deletion, "deletion"),
            (CurveKind::Insertion, "insertion"),
        ] {
            for (base, base_name) in [(f.input.zeros_like(), "zero"), (blurred.clone(), "blur")] {
                let c = pollster::block_on(curve(
                    &f.model,
                    &f.input,
                    &base,
                    &f.maps[map],
                    class,
                    kind,
                    steps,
                    7,
                ))
                .unwrap();
                let expected = &case[format!("{kind_name}_{base_name}")];
                let label = format!("class {class} {kind_name} {base_name}");
                let want = common::json_floats(&expected["curve"]);
                assert_eq!(c.probabilities.len(), steps + 1, "{label}");
                let err = common::relative_error(&c.probabilities, &want);
                assert!(err <= 1e-3, "{label}: curve error {err:.2e}");
                assert_rel(c.auc, expected["auc"].as_f64().unwrap(), &label);
            }
        }
    }
}

#[test]
fn spearman_matches_scipy_and_ssim_behaves() {
    let f = fixture();
    let rho = spearman(&f.maps[0], &f.maps[1]);
    let expected = f.json["spearman_map0_map1"].as_f64().unwrap();
    assert!((rho - expected).abs() < 1e-6, "{rho} vs scipy {expected}");
    assert!((spearman(&f.maps[0], &f.maps[0]) - 1.0).abs() < 1e-12);
    let size = (SIZE, SIZE);
    assert!((ssim(&f.maps[0], &f.maps[0], size) - 1.0).abs() < 1e-9);
    let inverted: Vec<f32> = f.maps[0].iter().map(|v| 1.0 - v).collect();
    assert!(ssim(&f.maps[0], &inverted, size) < 0.5);
    let other = ssim(&f.maps[0], &f.maps[1], size);
    assert!(
        other > 0.0 && other < 0.9,
        "ssim of two different maps {other}"
    );
    // One 7×7 window: a constant 0.5 against a constant 0.25 (variances 0):
    // SSIM = (2·0.5·0.25 + C1) / (0.5² + 0.25² + C1).
    let (a, b) = (vec![0.5f32; 49], vec![0.25f32; 49]);
    let c1 = 1e-4;
    let want = (0.25 + c1) / (0.3125 + c1);
    assert!((ssim(&a, &b, (7, 7)) - want).abs() < 1e-9);
    assert_eq!(percentile(&[3.0, 1.0, 2.0, 4.0], 50.0), 2.5);
}

fn tiny_explainer(f: &Fixture) -> Explainer {
    let info = WeightsInfo::untrained(arch());
    Explainer::new(f.model.clone(), info, &Device::flex())
}

#[test]
fn evaluate_reports_every_metric_and_baselines_score() {
    let f = fixture();
    let explainer = tiny_explainer(&f);
    let request = CamRequest::new(Method::GradCam, Stage::Layer4, Target::TopClass);
    let explanation =
        pollster::block_on(explainer.explain(ExplainJob::tensor(f.input.clone(), 0.0, request)))
            .unwrap();
    let metrics = MetricsRequest {
        road_noise: 0.0,
        ..MetricsRequest::default()
    };
    let seen = std::cell::RefCell::new(Vec::new());
    let report = pollster::block_on(evaluate(
        &explainer,
        &f.input,
        &explanation,
        &metrics,
        &|p| seen.borrow_mut().push(p.name()),
    ))
    .unwrap();
    let (_, class, case) = cases(&f)[0];
    assert_eq!(explanation.cam.class, class);
    // The engine's own map is pytorch-grad-cam's (cam_methods.rs), so the scores agree.
    assert_rel(
        report.get("road_combined").unwrap(),
        case["road_combined"].as_f64().unwrap(),
        "evaluate road_combined",
    );
    assert_rel(
        report.get("deletion_auc").unwrap(),
        case["deletion_blur"]["auc"].as_f64().unwrap(),
        "evaluate deletion_auc",
    );
    for key in [
        "confidence_change",
        "drop_in_confidence",
        "increase_in_confidence",
        "insertion_auc",
        "road_morf_average",
        "road_lerf_average",
        "random_logit_spearman",
        "random_logit_ssim",
        "randomisation_spearman",
        "randomisation_ssim",
    ] {
        assert!(report.metrics.contains_key(key), "missing {key}");
    }
    assert_ne!(report.get("random_logit_class"), Some(class as f64));
    // Each headline number the page shows (the catalogue's `metrics`) is one this report holds,
    // under the name a request asks for.
    for metric in Metric::ALL {
        if let Some(h) = metric.headline() {
            assert!(report.get(h.key).is_some(), "{}: no {}", h.metric, h.key);
            assert_eq!(h.metric.parse::<Metric>().unwrap(), metric);
            assert_eq!(h.scores_a_map, metric.scores_a_map());
        }
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["metrics"]["deletion_curve"].as_array().unwrap().len(),
        33
    );
    assert_eq!(json["metrics"]["road_morf"].as_array().unwrap().len(), 9);
    assert_eq!(
        json["metrics"]["cascading_spearman"]
            .as_array()
            .unwrap()
            .len(),
        Stage::ALL.len()
    );
    assert_eq!(
        *seen.borrow(),
        [
            "prepare",
            "confidence",
            "deletion",
            "insertion",
            "road",
            // Asked with the cascading test, the efficient one is its last step: not run twice.
            "cascading-randomisation",
            "random-logit"
        ]
    );
    for baseline in Baseline::ALL {
        let only_maps = MetricsRequest {
            metrics: vec![Metric::Deletion, Metric::Insertion],
            steps: 8,
            baseline: CurveBaseline::Zero,
            ..MetricsRequest::default()
        };
        let r = pollster::block_on(evaluate_baseline(
            &explainer,
            &f.input,
            baseline,
            class,
            Stage::Layer4.into(),
            &only_maps,
            &|_| {},
        ))
        .unwrap();
        let auc = r.get("deletion_auc").unwrap();
        assert!((0.0..=1.0).contains(&auc), "{baseline:?}: {auc}");
        assert!(!r.metrics.contains_key("randomisation_spearman"));
    }
}

/// The sanity checks on the trained EfficientNet-Lite0 and chelsea at layer4: a faithful
/// Grad-CAM map changes with the class and with the weights.
#[test]
fn sanity_checks_separate_on_the_trained_model() {
    let device = Device::flex();
    let bytes = std::fs::read(root().join("weights/efficientnet-lite0.bpk")).unwrap();
    let explainer = Explainer::from_burnpack(bytes, &device).unwrap();
    let photo =
        decode_photo(&std::fs::read(root().join("tests/fixtures/chelsea.png")).unwrap()).unwrap();
    let input = explainer.input_tensor(&photo);
    let request = CamRequest::new(Method::GradCam, Stage::Layer4, Target::TopClass);
    let explanation =
        pollster::block_on(explainer.explain(ExplainJob::tensor(input.clone(), 0.0, request)))
            .unwrap();
    let metrics = MetricsRequest {
        metrics: vec![
            Metric::Randomisation,
            Metric::CascadingRandomisation,
            Metric::RandomLogit,
        ],
        ..MetricsRequest::default()
    };
    let report = pollster::block_on(evaluate(
        &explainer,
        &input,
        &explanation,
        &metrics,
        &|_| {},
    ))
    .unwrap();
    let randomised = report.get("randomisation_spearman").unwrap();
    let other_class = report.get("random_logit_spearman").unwrap();
    eprintln!("randomisation spearman {randomised}, random-logit spearman {other_class}");
    assert!(
        randomised.is_nan() || randomised < 0.5,
        "randomised weights: Spearman {randomised}"
    );
    assert!(other_class < 0.9, "random class: Spearman {other_class}");
    assert!(
        report.get("randomisation_ssim").unwrap().is_nan()
            || report.get("randomisation_ssim").unwrap() < 0.5
    );
    // Cascading: the map falls apart as soon as the classifier is re-initialised, and with
    // every stage replaced the network is the efficient test's.
    let MetricValue::Array(cascade) = &report.metrics["cascading_spearman"] else {
        panic!("cascading_spearman is not an array");
    };
    eprintln!("cascading spearman (head … stem): {cascade:?}");
    assert_eq!(cascade.len(), Stage::ALL.len());
    assert!(
        cascade[0] < 0.5,
        "classifier re-initialised: {}",
        cascade[0]
    );
    // The efficient test on its own (not asked with the cascading one) gives the same map as
    // the last cascading step.
    let map = map_at_input(&explanation.cam, (224, 224));
    let arch = &explainer.info().arch;
    let efficient = pollster::block_on(model_randomisation(
        arch,
        &input,
        &explanation.request,
        &explanation.cam,
        &map,
        metrics.seed,
    ))
    .unwrap();
    let alone = efficient.similarity.spearman;
    let last = *cascade.last().unwrap();
    assert!(
        last == alone || (last.is_nan() && alone.is_nan()),
        "fully re-initialised {last} vs efficient {alone}"
    );
    assert!(randomised == alone || (randomised.is_nan() && alone.is_nan()));
    // The maps compared, for the page's strip: the random class's, then each cascading step's,
    // at the input's size, with the numbers the report holds.
    let maps = &report.sanity_maps;
    assert_eq!(maps.len(), 1 + Stage::ALL.len());
    assert_eq!(
        maps[0].check,
        SanityCheck::RandomLogit {
            class: report.get("random_logit_class").unwrap() as usize
        }
    );
    assert_eq!(maps[0].similarity.spearman, other_class);
    for (step, (m, stage)) in maps[1..]
        .iter()
        .zip(Stage::ALL.into_iter().rev())
        .enumerate()
    {
        assert_eq!(m.check, SanityCheck::Cascading { down_to: stage });
        assert_eq!(m.map.len(), 224 * 224);
        let (s, expected) = (m.similarity.spearman, cascade[step]);
        assert!(s == expected || (s.is_nan() && expected.is_nan()));
    }
    assert_eq!(maps.last().unwrap().map, efficient.map);
    assert_ne!(maps[0].map, map);
}

/// Re-initialising one stage changes that stage's weights only: the activations before it
/// are unchanged, those after it are not.
#[test]
fn a_stage_taken_from_a_fresh_network_changes_only_that_stage() {
    let f = fixture();
    let device = Device::flex();
    device.seed(7);
    let fresh: Network = arch().init(&device).valid().fold_batch_norms();
    let trained: Network = f.model.clone();
    let layer3 = |m: &Network| common::values(m.forward_until(Stage::Layer3, f.input.clone()));
    let layer4 = |m: &Network| common::values(m.forward_until(Stage::Layer4, f.input.clone()));
    let logits = |m: &Network| common::values(m.forward(f.input.clone()));
    let head = trained.clone().with_stage_from(Stage::Head, &fresh);
    assert_eq!(layer4(&head), layer4(&trained));
    assert_ne!(logits(&head), logits(&trained));
    let deeper = trained.clone().with_stage_from(Stage::Layer4, &fresh);
    assert_eq!(layer3(&deeper), layer3(&trained));
    assert_ne!(layer4(&deeper), layer4(&trained));
    let all = Stage::ALL
        .iter()
        .rev()
        .fold(trained, |m, &stage| m.with_stage_from(stage, &fresh));
    assert_eq!(logits(&all), logits(&fresh));
}
