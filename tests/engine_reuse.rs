//! The engine's shortcuts for the explorer give what a fresh computation gives: a request
//! that starts from another result's cached activations equals one that runs the whole
//! forward pass, progress reports each phase in order, and only Grad-CAM/HiResCAM at
//! `layer4` claims to switch classes without a pass. EfficientNet-Lite0 (the shipped weights)
//! on a real photo, on `flex`.
//!
//! Tolerance: the same ops on the same device; maps agree to 1e-5 of their maximum.

use std::cell::RefCell;
use std::path::PathBuf;

use burn::tensor::Device;
use gradcam_web::cam::{CamRequest, Method, Phase, Target};
use gradcam_web::imageio::{Photo, decode_photo};
use gradcam_web::model::{Layer, Stage};
use gradcam_web::{ExplainJob, Explainer};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn setup() -> (Explainer, Photo) {
    let bytes = std::fs::read(root().join("weights/efficientnet-lite0.bpk")).unwrap();
    let explainer = Explainer::from_burnpack(bytes, &Device::flex()).unwrap();
    let photo =
        decode_photo(&std::fs::read(root().join("tests/fixtures/chelsea.png")).unwrap()).unwrap();
    (explainer, photo)
}

/// Grad-CAM at `layer` for `target` on `photo`.
fn gradcam(photo: &Photo, layer: impl Into<Layer>, target: Target) -> ExplainJob<'_> {
    ExplainJob::photo(photo, CamRequest::new(Method::GradCam, layer, target))
}

fn assert_same_map(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: sizes");
    let scale = a.iter().copied().fold(0f32, f32::max).max(1e-12);
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(
        worst <= 1e-5 * scale,
        "{what}: max |Δ| {worst} (map max {scale})"
    );
}

#[test]
fn cached_activations_give_the_same_map_as_a_fresh_pass() {
    let (explainer, photo) = setup();
    let layer = Layer::from(Stage::Layer3);
    let first =
        pollster::block_on(explainer.explain(gradcam(&photo, layer, Target::Class(281)))).unwrap();
    let cached = first
        .cached_activations()
        .expect("a layer method keeps its activations");
    assert_eq!(cached.layer, layer);
    for method in [
        Method::LayerCam,
        Method::GradCamPlusPlus,
        Method::EigenCam,
        Method::HiResCam,
    ] {
        let request = CamRequest::new(
            method,
            layer,
            Target::Contrast {
                class: 281,
                other: 285,
            },
        );
        let fresh =
            pollster::block_on(explainer.explain(ExplainJob::photo(&photo, request.clone())))
                .unwrap();
        let reused = pollster::block_on(
            explainer.explain(ExplainJob::photo(&photo, request).reusing(Some(&cached))),
        )
        .unwrap();
        assert_eq!((reused.cam.height, reused.cam.width), (14, 14));
        assert_same_map(&fresh.cam.map, &reused.cam.map, method.name());
        assert_eq!(fresh.cam.logits.len(), reused.cam.logits.len());
        assert_same_map(&fresh.cam.logits, &reused.cam.logits, "logits");
    }
    // Activations of another layer are not used for this one.
    let other = Layer::from(Stage::Layer4);
    let request = CamRequest::new(Method::GradCam, other, Target::Class(281));
    let fresh =
        pollster::block_on(explainer.explain(ExplainJob::photo(&photo, request.clone()))).unwrap();
    let ignored = pollster::block_on(
        explainer.explain(ExplainJob::photo(&photo, request).reusing(Some(&cached))),
    )
    .unwrap();
    assert_eq!((ignored.cam.height, ignored.cam.width), (7, 7));
    assert_same_map(
        &fresh.cam.map,
        &ignored.cam.map,
        "layer4 with layer3's cache",
    );
}

#[test]
fn progress_reports_each_phase_in_order_and_times_it() {
    let (explainer, photo) = setup();
    for (method, expected) in [
        (
            Method::GradCam,
            vec![Phase::Forward, Phase::Backward, Phase::Map],
        ),
        (Method::EigenCam, vec![Phase::Forward, Phase::Map]),
        (Method::Saliency, vec![Phase::Forward, Phase::Backward]),
    ] {
        let seen = RefCell::new(Vec::new());
        let request = CamRequest::new(method, Stage::Layer4, Target::TopClass);
        let explanation =
            pollster::block_on(explainer.explain(
                ExplainJob::photo(&photo, request).reporting(&|p| seen.borrow_mut().push(p)),
            ))
            .unwrap();
        assert_eq!(seen.into_inner(), expected, "{method}");
        let timed: Vec<&str> = explanation
            .timings
            .phases_ms
            .keys()
            .map(String::as_str)
            .collect();
        let mut names: Vec<&str> = expected.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        assert_eq!(timed, names, "{method}: a time for each phase");
        let total: f64 = explanation.timings.phases_ms.values().sum();
        assert!(
            total <= explanation.timings.cam_ms + 1e-6,
            "{method}: phases add up to at most the whole"
        );
    }
}

#[test]
fn only_gradcam_and_hirescam_at_layer4_switch_classes_without_a_pass() {
    let (explainer, photo) = setup();
    let at = |method, layer: Stage| {
        pollster::block_on(explainer.explain(ExplainJob::photo(
            &photo,
            CamRequest::new(method, layer, Target::TopClass),
        )))
        .unwrap()
    };
    let quick = at(Method::GradCam, Stage::Layer4);
    assert!(quick.retargets_cheaply());
    assert!(at(Method::HiResCam, Stage::Layer4).retargets_cheaply());
    assert!(!at(Method::GradCam, Stage::Layer3).retargets_cheaply());
    assert!(!at(Method::LayerCam, Stage::Layer4).retargets_cheaply());
    // The switch equals a fresh computation for that class.
    let switched =
        pollster::block_on(explainer.explain_other_target(&photo, &quick, Target::Class(281)))
            .unwrap();
    let fresh =
        pollster::block_on(explainer.explain(gradcam(&photo, Stage::Layer4, Target::Class(281))))
            .unwrap();
    assert_eq!(switched.cam.class, 281);
    assert_same_map(&fresh.cam.map, &switched.cam.map, "class switch at layer4");
    assert_eq!(
        switched.top5, quick.top5,
        "the top-5 of the photo does not change"
    );
    // A contrast too, and a second switch (activations already on the host).
    let contrast = Target::Contrast {
        class: 281,
        other: 285,
    };
    let switched =
        pollster::block_on(explainer.explain_other_target(&photo, &switched, contrast)).unwrap();
    let fresh =
        pollster::block_on(explainer.explain(gradcam(&photo, Stage::Layer4, contrast))).unwrap();
    assert_eq!((switched.cam.class, switched.cam.other), (281, Some(285)));
    assert_same_map(
        &fresh.cam.map,
        &switched.cam.map,
        "contrast switch at layer4",
    );
}
