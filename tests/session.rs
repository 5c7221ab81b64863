//! The explorer's session as the page uses it, natively: how each request is served (cache,
//! re-targeted, from cached activations, computed), the bound on what is kept, a result
//! that arrives after the photo changed, a bad photo, the settings' defaults and the method
//! catalogue's facts checked against what the engine does. EfficientNet-Lite0 (the shipped
//! weights) on a real photo, on `flex`.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use burn::tensor::Device;
use gradcam_web::Explainer;
use gradcam_web::cam::{CamRequest, Method, Phase, Target};
use gradcam_web::model::{Layer, Stage};
use gradcam_web::session::{
    self, CACHED_EXPLANATIONS, ExplainSettings, Reuse, Session, SessionError, ViewSettings,
    catalogue, defaults,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn photo_bytes() -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/chelsea.png")).unwrap()
}

fn session() -> RefCell<Session> {
    let bytes = std::fs::read(root().join("weights/efficientnet-lite0.bpk")).unwrap();
    let explainer = Explainer::from_burnpack(bytes, &Device::flex()).unwrap();
    let mut session = Session::default();
    let model = session.load_model(explainer);
    assert_eq!(model.layers.last().map(String::as_str), Some("layer4"));
    assert!(model.layers.iter().any(|l| l == "layer2.0"));
    session.set_photo(&photo_bytes()).unwrap();
    RefCell::new(session)
}

fn request(method: Method, stage: Stage, target: Target) -> CamRequest {
    CamRequest::new(method, Layer::from(stage), target)
}

fn serve(session: &RefCell<Session>, request: CamRequest) -> session::Served {
    pollster::block_on(session::explain(session, request, &|_| {})).unwrap()
}

#[test]
fn requests_are_served_from_what_the_session_keeps() {
    let s = session();
    let first = serve(
        &s,
        request(Method::GradCam, Stage::Layer4, Target::Class(281)),
    );
    assert_eq!(first.report.reused, Reuse::None);
    assert_eq!(first.report.class, 281);
    assert_eq!(first.report.label, "tabby");
    let again = serve(
        &s,
        request(Method::GradCam, Stage::Layer4, Target::Class(281)),
    );
    assert_eq!(again.report.reused, Reuse::Cache);
    assert_eq!(again.explanation.cam.map, first.explanation.cam.map);
    let other_class = serve(
        &s,
        request(Method::GradCam, Stage::Layer4, Target::Class(285)),
    );
    assert_eq!(other_class.report.reused, Reuse::Activations);
    assert_eq!(other_class.report.class, 285);
    let other_method = serve(
        &s,
        request(Method::LayerCam, Stage::Layer4, Target::Class(285)),
    );
    assert_eq!(other_method.report.reused, Reuse::Layer);
    let other_layer = serve(
        &s,
        request(Method::GradCam, Stage::Layer3, Target::Class(285)),
    );
    assert_eq!(other_layer.report.reused, Reuse::None);
    let json = serde_json::to_value(&other_layer.report).unwrap();
    for key in [
        "class",
        "label",
        "top5",
        "cam_shape",
        "layer",
        "method",
        "timings_ms",
        "note",
    ] {
        assert!(json.get(key).is_some(), "report lacks {key}: {json}");
    }
    assert_eq!(json["reused"], "none");
    assert_eq!(json["layer"], "layer3");

    // The cache is bounded: the oldest go first.
    for class in 0..CACHED_EXPLANATIONS {
        serve(
            &s,
            request(Method::GradCam, Stage::Layer4, Target::Class(class)),
        );
    }
    assert_eq!(s.borrow().cached(), CACHED_EXPLANATIONS);
    let oldest = serve(
        &s,
        request(Method::GradCam, Stage::Layer3, Target::Class(285)),
    );
    assert_ne!(oldest.report.reused, Reuse::Cache, "evicted");
}

#[test]
fn a_result_for_a_photo_replaced_meanwhile_is_dropped() {
    let s = session();
    let replaced = Cell::new(false);
    let progress = |phase: Phase| {
        if phase == Phase::Backward && !replaced.replace(true) {
            s.borrow_mut().set_photo(&photo_bytes()).unwrap();
        }
    };
    let late = pollster::block_on(session::explain(
        &s,
        request(Method::GradCam, Stage::Layer3, Target::TopClass),
        &progress,
    ));
    assert!(replaced.get());
    assert!(matches!(late, Err(SessionError::Superseded)), "{late:?}");
    assert_eq!(s.borrow().cached(), 0, "nothing of the old photo kept");
    // The new photo is served normally.
    let fresh = serve(
        &s,
        request(Method::GradCam, Stage::Layer3, Target::TopClass),
    );
    assert_eq!(fresh.report.reused, Reuse::None);
}

#[test]
fn a_bad_photo_leaves_nothing_stale_on_screen() {
    let s = session();
    let served = serve(
        &s,
        request(Method::GradCam, Stage::Layer4, Target::TopClass),
    );
    s.borrow_mut().show(served.explanation);
    let view = ViewSettings::parse(r#"{"box":[200,null]}"#).unwrap();
    let drawn = s.borrow_mut().render(&view).unwrap();
    let report = serde_json::to_value(&drawn.report).unwrap();
    assert_eq!(
        drawn.rgba.len(),
        (report["width"].as_u64().unwrap() * report["height"].as_u64().unwrap() * 4) as usize
    );
    assert_eq!(report["width"], 200);
    assert!(report["range"].is_array(), "{report}");
    assert_eq!(report["flat"], false);

    let error = s.borrow_mut().set_photo(b"not a photo").unwrap_err();
    assert!(matches!(error, SessionError::Decode(_)), "{error}");
    assert!(s.borrow().shown().is_none());
    assert_eq!(s.borrow().cached(), 0);
    assert!(matches!(
        s.borrow_mut().render(&view),
        Err(SessionError::NoPhoto)
    ));
    let again = pollster::block_on(session::explain(
        &s,
        request(Method::GradCam, Stage::Layer4, Target::TopClass),
        &|_| {},
    ));
    assert!(matches!(again, Err(SessionError::NoPhoto)));
}

#[test]
fn the_plain_photo_is_drawn_before_anything_is_explained() {
    let s = session();
    let map_view = ViewSettings::parse(r#"{"kind":"overlay","box":[120,90]}"#).unwrap();
    assert!(matches!(
        s.borrow_mut().render(&map_view),
        Err(SessionError::NothingExplained)
    ));
    let photo_view = ViewSettings::parse(r#"{"kind":"photo","box":[120,90]}"#).unwrap();
    let drawn = s.borrow_mut().render(&photo_view).unwrap();
    let report = serde_json::to_value(&drawn.report).unwrap();
    assert!(report.get("range").is_none(), "no map fields: {report}");
    assert!(report["width"].as_u64().unwrap() <= 120);
    assert!(
        s.borrow()
            .value_at((1, 1), (120, 90), &photo_view)
            .unwrap()
            .is_none()
    );
}

#[test]
fn absent_settings_take_the_defaults_the_catalogue_announces() {
    let d = defaults();
    let request = ExplainSettings::parse("{}").unwrap().request().unwrap();
    assert_eq!(d["method"], request.method.name());
    assert_eq!(d["layer"], request.layers[0].to_string());
    assert_eq!(request.target, Target::TopClass);
    let options = ViewSettings::parse("{}").unwrap().options().unwrap();
    assert_eq!(d["colormap"], options.colormap.name());
    let opacity = d["opacity"].as_f64().unwrap() as f32 / 100.0;
    assert!((options.photo_weight - (1.0 - opacity)).abs() < 1e-6);
    assert_eq!(options.threshold, None);
    assert_eq!(catalogue()["defaults"], d);

    let bad = ExplainSettings::parse(r#"{"method":"nope"}"#)
        .unwrap()
        .request()
        .unwrap_err();
    assert!(bad.to_string().contains("unknown method `nope`"), "{bad}");
    let bad = ViewSettings::parse(r#"{"scale":"log"}"#)
        .unwrap()
        .options()
        .unwrap_err();
    assert_eq!(bad.to_string(), "unknown normalisation `log`");
    let bad = ViewSettings::parse("[").unwrap_err();
    assert!(bad.to_string().starts_with("bad view: "), "{bad}");
}

/// Each fact the catalogue sends the page is what the engine does: `retargets` methods switch
/// class at `layer4` with no pass, `gradients` ones go backward, `pixel_space` ones ignore
/// the layer.
#[test]
fn the_catalogue_states_what_the_engine_does() {
    let methods = catalogue()["methods"].as_array().unwrap().clone();
    assert_eq!(methods.len(), Method::ALL.len());
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let grid: Vec<&str> = methods
        .iter()
        .filter(|m| m["grid"] == true)
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, Method::ALL.map(Method::name));
    assert!(
        !grid.contains(&"scorecam") && !grid.contains(&"smoothgrad"),
        "{grid:?}"
    );
    assert!(
        grid.contains(&"gradcam") && grid.contains(&"saliency"),
        "{grid:?}"
    );

    // The single-pass methods, tried for real (the slow ones only through their facts).
    let s = session();
    for entry in methods.iter().filter(|m| m["grid"] == true) {
        let method: Method = entry["name"].as_str().unwrap().parse().unwrap();
        let went_backward = Cell::new(false);
        let progress = |p: Phase| went_backward.set(went_backward.get() || p == Phase::Backward);
        let first = pollster::block_on(session::explain(
            &s,
            request(method, Stage::Layer4, Target::Class(281)),
            &progress,
        ))
        .unwrap();
        assert_eq!(
            went_backward.get(),
            entry["gradients"] == true,
            "{method}: gradients"
        );
        let switched = serve(&s, request(method, Stage::Layer4, Target::Class(285)));
        assert_eq!(
            switched.report.reused == Reuse::Activations,
            entry["retargets"] == true,
            "{method}: retargets ({:?})",
            switched.report.reused
        );
        let at_layer3 = serve(&s, request(method, Stage::Layer3, Target::Class(281)));
        let same_map = at_layer3.explanation.cam.map == first.explanation.cam.map;
        assert_eq!(
            same_map,
            entry["pixel_space"] == true,
            "{method}: pixel space"
        );
        assert!(!entry["help"].as_str().unwrap().is_empty());
    }
}

/// The page's view settings and the CLI's flags go through one rule
/// (`ViewOptions::chosen`): one opacity knob (the photo weight is one minus it), a zero threshold is none,
/// out-of-range values are clamped.
#[test]
fn the_page_and_the_cli_choose_view_options_by_one_rule() {
    use gradcam_web::render::{Colormap, Scale, ViewMode, ViewOptions};
    let page = ViewSettings::parse(
        r#"{"colormap":"viridis","opacity":0.8,"scale":"absolute","max":2.5,"threshold":0}"#,
    )
    .unwrap()
    .options()
    .unwrap();
    let cli = ViewOptions::chosen(
        Colormap::Viridis,
        0.8,
        Some(2.5),
        Some(0.0),
        ViewMode::Overlay,
    );
    assert_eq!(page.colormap, cli.colormap);
    assert!((page.photo_weight - cli.photo_weight).abs() < 1e-6);
    assert!((cli.photo_weight - 0.2).abs() < 1e-6);
    assert_eq!(page.scale, Scale::Absolute { max: 2.5 });
    assert_eq!(
        (page.threshold, cli.threshold),
        (None, None),
        "0 means no threshold"
    );
    let clamped = ViewOptions::chosen(Colormap::Jet, 1.7, None, Some(3.0), ViewMode::Heatmap);
    assert_eq!((clamped.photo_weight, clamped.threshold), (0.0, Some(1.0)));
    assert_eq!(clamped.scale, Scale::MinMax);
    let page = ViewSettings::parse(r#"{"opacity":-1,"threshold":0.25,"kind":"heatmap"}"#)
        .unwrap()
        .options()
        .unwrap();
    assert_eq!(
        (page.photo_weight, page.threshold, page.mode),
        (1.0, Some(0.25), ViewMode::Heatmap)
    );
}

/// The Trust panel's check: the map on screen and the baselines for its class, dropped when
/// the explanation on screen changes meanwhile.
#[test]
fn the_trust_check_scores_the_map_on_screen_and_the_baselines() {
    use gradcam_web::session::{STRIP_PICTURE_SIZE, TrustSettings, check_trust};
    let s = session();
    let settings =
        TrustSettings::parse(r#"{"metrics":["deletion","confidence"],"steps":4,"baselines":true}"#)
            .unwrap();
    let request = settings.request().unwrap();
    let nothing = pollster::block_on(check_trust(
        &s,
        None,
        &request,
        true,
        "chelsea.png",
        &|_, _| {},
    ));
    assert!(
        matches!(nothing, Err(SessionError::NothingExplained)),
        "{nothing:?}"
    );

    let served = serve(&s, request_for(Method::GradCam, Target::Class(281)));
    s.borrow_mut().show(served.explanation);
    let seen = RefCell::new(Vec::new());
    let summary = pollster::block_on(check_trust(
        &s,
        None,
        &request,
        settings.baselines,
        "chelsea.png",
        &|map, p| seen.borrow_mut().push(format!("{map}: {}", p.name())),
    ))
    .unwrap();
    assert_eq!(
        (summary.method, summary.class, summary.layer.as_str()),
        ("gradcam", 281, "layer4")
    );
    let curve = &summary.report.metrics["deletion_curve"];
    assert_eq!(
        serde_json::to_value(curve)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(
        summary
            .report
            .get("deletion_auc")
            .is_some_and(|v| (0.0..=1.0).contains(&v))
    );
    assert!(summary.report.get("confidence_change").is_some());
    assert_eq!(
        summary.baselines.keys().copied().collect::<Vec<_>>(),
        ["baseline-gaussian", "baseline-random", "baseline-sobel"]
    );
    assert!(
        seen.borrow()
            .contains(&"baseline-sobel: deletion".to_owned()),
        "{:?}",
        seen.borrow()
    );
    // The CSV is `gradcam evaluate --csv`'s table: the method's row, then the baselines'.
    let csv: Vec<&str> = summary.csv.lines().collect();
    assert_eq!(csv.len(), 5, "{}", summary.csv);
    assert!(
        csv[0].starts_with("photo,method,layer,target,confidence_change,"),
        "{}",
        csv[0]
    );
    assert!(
        csv[1].starts_with("chelsea.png,gradcam,layer4,281,"),
        "{}",
        csv[1]
    );
    assert!(csv[2].starts_with("chelsea.png,baseline-gaussian,layer4,281,"));
    assert!(summary.sanity.is_empty(), "no sanity check asked, no strip");

    // A sanity check: the strip holds the map on screen, then the random class's map, drawn
    // over the photo fitted in the strip's box, with the report's numbers.
    let sanity = TrustSettings::parse(r#"{"metrics":["random-logit"]}"#).unwrap();
    let checked = pollster::block_on(check_trust(
        &s,
        None,
        &sanity.request().unwrap(),
        false,
        "chelsea.png",
        &|_, _| {},
    ))
    .unwrap();
    let strip = &checked.sanity;
    assert_eq!(strip.len(), 2);
    assert_eq!(
        (strip[0].label.as_str(), strip[0].spearman),
        ("this map", None)
    );
    let other_class = checked.report.get("random_logit_class").unwrap() as usize;
    let name = s
        .borrow()
        .model_and_photo()
        .unwrap()
        .0
        .labels()
        .name(other_class);
    assert_eq!(strip[1].label, format!("explaining “{name}” instead"));
    assert_eq!(
        strip[1].spearman,
        checked.report.get("random_logit_spearman")
    );
    let (pw, ph) = {
        let (_, photo) = s.borrow().model_and_photo().unwrap();
        (photo.width(), photo.height())
    };
    for p in strip {
        assert_eq!(p.width.max(p.height), STRIP_PICTURE_SIZE);
        let want = f64::from(pw) / f64::from(ph);
        assert!((f64::from(p.width) / f64::from(p.height) - want).abs() < 0.02);
        assert_eq!(p.rgba.len(), (p.width * p.height * 4) as usize);
    }
    assert_ne!(strip[0].rgba, strip[1].rgba);
    let json = serde_json::to_value(&checked).unwrap();
    assert_eq!(json["sanity"][1]["label"], strip[1].label);
    assert!(
        json["sanity"][1].get("rgba").is_none(),
        "pixels travel as bitmaps"
    );

    // Another method's map, for the leaderboard: served aside, the map on screen untouched.
    let aside = TrustSettings::parse(
        r#"{"metrics":["deletion"],"steps":4,"explain":{"method":"layercam","class":285}}"#,
    )
    .unwrap();
    let scored = pollster::block_on(check_trust(
        &s,
        aside.explain().unwrap(),
        &aside.request().unwrap(),
        false,
        "chelsea.png",
        &|_, _| {},
    ))
    .unwrap();
    assert_eq!((scored.method, scored.class), ("layercam", 285));
    assert_ne!(
        scored.report.get("deletion_auc"),
        summary.report.get("deletion_auc")
    );
    assert_eq!(
        s.borrow().shown().map(|e| e.request.method),
        Some(Method::GradCam)
    );

    // Another class put on screen while the check runs: its numbers are not shown as current.
    let other = serve(&s, request_for(Method::GradCam, Target::Class(285)));
    let swapped = Cell::new(false);
    let late = pollster::block_on(check_trust(
        &s,
        None,
        &request,
        false,
        "chelsea.png",
        &|_, _| {
            if !swapped.replace(true) {
                s.borrow_mut().show(other.explanation.clone());
            }
        },
    ));
    assert!(matches!(late, Err(SessionError::Superseded)), "{late:?}");

    let bad = TrustSettings::parse(r#"{"metrics":["vibes"]}"#)
        .unwrap()
        .request()
        .unwrap_err();
    assert!(bad.to_string().contains("unknown metric `vibes`"), "{bad}");
}

fn request_for(method: Method, target: Target) -> CamRequest {
    request(method, Stage::Layer4, target)
}

/// The read-out's "% of the colour scale" comes from the engine: by the range drawn for
/// min-max, by the fixed maximum for absolute scaling.
#[test]
fn the_read_out_places_the_value_on_the_colour_scale_drawn() {
    use gradcam_web::render::Scale;
    let s = session();
    let served = serve(
        &s,
        request(Method::GradCam, Stage::Layer4, Target::TopClass),
    );
    s.borrow_mut().show(served.explanation);
    let minmax = ViewSettings::parse(r#"{"box":[451,null]}"#).unwrap();
    let drawn = s.borrow_mut().render(&minmax).unwrap();
    let [lo, hi] = drawn.report.map.unwrap().range.unwrap();
    let at = s
        .borrow()
        .value_at((200, 150), (451, 300), &minmax)
        .unwrap()
        .unwrap();
    let want = (at.value - lo) / (hi - lo);
    assert!(
        want > 0.0 && want < 1.0,
        "a point inside the map's range: {want}"
    );
    assert!((at.share - want).abs() < 1e-6, "{} vs {want}", at.share);
    let absolute = ViewSettings::parse(r#"{"scale":"absolute","max":1000}"#).unwrap();
    let at = s
        .borrow()
        .value_at((200, 150), (451, 300), &absolute)
        .unwrap()
        .unwrap();
    assert!((at.share - at.value / 1000.0).abs() < 1e-9);
    assert_eq!(
        Scale::MinMax.share(3.0, None),
        0.0,
        "flat: nothing coloured"
    );
    assert_eq!(
        Scale::Absolute { max: 2.0 }.share(5.0, None),
        1.0,
        "clamped"
    );
    assert_eq!(Scale::Absolute { max: 0.0 }.share(5.0, None), 0.0);
}

#[test]
fn a_box_drawn_on_the_picture_is_scored_in_photo_pixels() {
    use gradcam_web::render::HotBox;
    let s = session();
    assert!(matches!(
        s.borrow().localise(
            HotBox {
                x: 0,
                y: 0,
                width: 9,
                height: 9
            },
            (451, 300)
        ),
        Err(SessionError::NothingExplained)
    ));
    let served = serve(
        &s,
        request(Method::GradCam, Stage::Layer4, Target::TopClass),
    );
    s.borrow_mut().show(served.explanation);
    // The cat's face on chelsea (451×300), drawn on a picture half the photo's size.
    let face = HotBox {
        x: 50,
        y: 20,
        width: 110,
        height: 120,
    };
    let half = s.borrow().localise(face, (225, 150)).unwrap();
    let full = HotBox {
        x: 100,
        y: 40,
        width: 221,
        height: 241,
    };
    assert_eq!(
        half.region,
        HotBox {
            x: 100,
            y: 40,
            width: 221,
            height: 240
        }
    );
    let direct = s.borrow().localise(full, (451, 300)).unwrap();
    assert_eq!(direct.region, full, "photo pixels stay as they are");
    assert!(half.hit && direct.hit, "{half:?}");
    assert!(half.energy.unwrap() > half.box_share, "{half:?}");
    // The top-left corner holds little of the map, and not its peak.
    let corner = s
        .borrow()
        .localise(
            HotBox {
                x: 0,
                y: 0,
                width: 40,
                height: 40,
            },
            (451, 300),
        )
        .unwrap();
    assert!(!corner.hit, "{corner:?}");
    assert!(
        corner.relevance_mass.unwrap() < corner.box_share,
        "{corner:?}"
    );
}
