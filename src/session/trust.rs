//! The page's Trust panel: the metrics of the explanation on screen (or of another method's
//! map of the same photo, for the leaderboard) and, when asked, of the baseline maps for its
//! class, computed as `gradcam evaluate` computes them.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cam::CamRequest;
use crate::trust::{
    Baseline, Metric, MetricsRequest, TrustPhase, TrustReport, TrustRowKey, TrustTable, evaluate,
    evaluate_baseline, map_at_input,
};

use super::strip::{StripPicture, sanity_strip};
use super::{ExplainSettings, Session, SessionError, SettingsError};

/// What the panel asks: `{"metrics":[names],"steps","baselines","explain"}`; absent fields
/// take [`MetricsRequest::default`]'s values and no baselines. `explain` (as
/// [`ExplainSettings`]) names another map of the photo to score instead of the one on screen.
#[derive(Debug, Default, Deserialize)]
pub struct TrustSettings {
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    steps: Option<usize>,
    /// Also score the baseline maps.
    #[serde(default)]
    pub baselines: bool,
    #[serde(default)]
    explain: Option<ExplainSettings>,
    /// The photo's name, for the CSV's `photo` column.
    #[serde(default)]
    pub photo: String,
}

impl TrustSettings {
    /// Reads the page's JSON.
    pub fn parse(json: &str) -> Result<Self, SettingsError> {
        serde_json::from_str(json).map_err(SettingsError::Trust)
    }

    /// The metrics request these settings describe.
    pub fn request(&self) -> Result<MetricsRequest, SettingsError> {
        let mut request = MetricsRequest::default();
        if let Some(names) = &self.metrics {
            request.metrics = names
                .iter()
                .map(|n| n.parse::<Metric>())
                .collect::<Result<_, _>>()?;
        }
        if let Some(steps) = self.steps {
            request.steps = steps;
        }
        Ok(request)
    }

    /// The map to score when it is not the one on screen.
    pub fn explain(&self) -> Result<Option<CamRequest>, SettingsError> {
        self.explain
            .as_ref()
            .map(ExplainSettings::request)
            .transpose()
    }
}

/// The panel's numbers: `{"method","class","layer","report","baselines":{name: report},
/// "csv","sanity":[picture]}`, `csv` being the table `gradcam evaluate --csv` writes for the
/// same maps and `sanity` the sanity-check strip (empty unless a sanity check was asked).
#[derive(Debug, Clone, Serialize)]
pub struct TrustSummary {
    pub method: &'static str,
    pub class: usize,
    pub layer: String,
    /// The map on screen.
    pub report: TrustReport,
    /// Each baseline map for the same class, scored by the same map metrics.
    pub baselines: BTreeMap<&'static str, TrustReport>,
    /// The method's row, then the baselines', as CSV.
    pub csv: String,
    /// The map under test, then each map a sanity check compared with it.
    pub sanity: Vec<StripPicture>,
}

impl TrustSummary {
    fn new(
        (method, class, layer): (&'static str, usize, String),
        report: TrustReport,
        baselines: BTreeMap<&'static str, TrustReport>,
        photo: &str,
        sanity: Vec<StripPicture>,
    ) -> Self {
        let mut table = TrustTable::default();
        let key = |method: &str| TrustRowKey {
            photo: photo.to_owned(),
            method: method.to_owned(),
            layer: layer.clone(),
            target: class,
        };
        table.push(key(method), &report);
        for (name, r) in &baselines {
            table.push(key(name), r);
        }
        TrustSummary {
            method,
            class,
            layer,
            csv: table.to_csv(),
            report,
            baselines,
            sanity,
        }
    }
}

/// Scores the explanation on screen — or, with `other`, that explanation of the photo
/// (served as [`super::explain`] serves it, not put on screen) — with `request` (and the
/// baselines when `baselines`), on the input it was computed from. `progress(map, phase)`
/// hears each metric start, `map` being the method's name or a baseline's. As
/// [`super::explain`], the session is not borrowed meanwhile: a result for a replaced photo
/// or model, or for a map on screen that changed, is dropped.
pub async fn check(
    session: &RefCell<Session>,
    other: Option<CamRequest>,
    request: &MetricsRequest,
    baselines: bool,
    photo_name: &str,
    progress: &dyn Fn(&str, TrustPhase),
) -> Result<TrustSummary, SessionError> {
    let on_screen = other.is_none();
    let aside = match other {
        Some(wanted) => Some(super::explain(session, wanted, &|_| {}).await?.explanation),
        None => None,
    };
    let (explainer, photo, shown) = {
        let s = session.borrow();
        let (explainer, photo) = s.model_and_photo()?;
        let shown = match aside {
            Some(explanation) => explanation,
            None => s.shown.clone().ok_or(SessionError::NothingExplained)?,
        };
        (explainer, photo, shown)
    };
    let input = explainer.input_tensor(&photo);
    let cam = &shown.cam;
    let method = cam.method.name();
    let report = evaluate(&explainer, &input, &shown, request, &|p| {
        progress(method, p)
    })
    .await?;
    let mut scored = BTreeMap::new();
    if baselines {
        let layer = shown.baseline_layer();
        for baseline in Baseline::ALL {
            let name = baseline.name();
            let r = evaluate_baseline(
                &explainer,
                &input,
                baseline,
                cam.class,
                layer,
                request,
                &|p| progress(name, p),
            )
            .await?;
            scored.insert(name, r);
        }
    }
    let s = session.borrow();
    let current = s.holds(&explainer, &photo)
        && (!on_screen || s.shown.as_ref().is_some_and(|e| e.request == shown.request));
    if !current {
        return Err(SessionError::Superseded);
    }
    let [_, _, h, w] = input.dims();
    let original = map_at_input(cam, (h, w));
    let labels = explainer.labels();
    let strip = sanity_strip(&photo, &original, (h, w), &report.sanity_maps, labels);
    Ok(TrustSummary::new(
        (method, cam.class, shown.layer_label()),
        report,
        scored,
        photo_name,
        strip,
    ))
}
