//! The page's Trust panel: the metrics of the explanation on screen and, when asked, of the
//! baseline maps for its class, computed as `gradcam evaluate` computes them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::trust::{
    Baseline, Metric, MetricsRequest, TrustPhase, TrustReport, evaluate, evaluate_baseline,
};

use super::{Session, SessionError, SettingsError};

/// What the panel asks: `{"metrics":[names],"steps","baselines"}`; absent fields take
/// [`MetricsRequest::default`]'s values and no baselines.
#[derive(Debug, Default, Deserialize)]
pub struct TrustSettings {
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    steps: Option<usize>,
    /// Also score the baseline maps.
    #[serde(default)]
    pub baselines: bool,
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
}

/// The panel's numbers: `{"method","class","layer","report","baselines":{name: report}}`.
#[derive(Debug, Clone, Serialize)]
pub struct TrustSummary {
    pub method: &'static str,
    pub class: usize,
    pub layer: String,
    /// The map on screen.
    pub report: TrustReport,
    /// Each baseline map for the same class, scored by the same map metrics.
    pub baselines: BTreeMap<&'static str, TrustReport>,
}

/// Scores the explanation on screen with `request` (and the baselines when `baselines`),
/// on the input it was computed from. `progress(map, phase)` hears each metric start, `map`
/// being the method's name or a baseline's. As [`super::explain`], the session is not
/// borrowed meanwhile: a result for a replaced photo, model or explanation is dropped.
pub async fn check(
    session: &RefCell<Session>,
    request: &MetricsRequest,
    baselines: bool,
    progress: &dyn Fn(&str, TrustPhase),
) -> Result<TrustSummary, SessionError> {
    let (explainer, photo, shown) = {
        let s = session.borrow();
        let (explainer, photo) = s.model_and_photo()?;
        let shown = s.shown.clone().ok_or(SessionError::NothingExplained)?;
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
        for baseline in Baseline::ALL {
            let name = baseline.name();
            let layer = shown.request.layers.first().copied().unwrap_or(cam.layer);
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
    let current = s
        .explainer
        .as_ref()
        .is_some_and(|e| Rc::ptr_eq(e, &explainer))
        && s.photo.as_ref().is_some_and(|p| Rc::ptr_eq(p, &photo))
        && s.shown.as_ref().is_some_and(|e| e.request == shown.request);
    if !current {
        return Err(SessionError::Superseded);
    }
    Ok(TrustSummary {
        method,
        class: cam.class,
        layer: cam.layer.to_string(),
        report,
        baselines: scored,
    })
}
