//! The audit's glue (see `crate::audit`): one photo in, its row, kept map and thumbnail
//! out; the rows the page keeps in, their summary, selection and CSV out; the export's ZIP
//! made entry by entry.

use js_sys::{Array, Float32Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{App, canvas, js_error, to_json};
use crate::archive::ZipWriter;
use crate::audit::{self, AuditQuery, AuditRow};
use crate::session::{ExplainSettings, TrustSettings, ViewSettings};

fn rows(json: &str) -> Result<Vec<AuditRow>, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("bad audit rows: {e}")))
}

fn view_options(view: &str) -> Result<crate::render::ViewOptions, JsError> {
    ViewSettings::parse(view)
        .and_then(|v| v.options())
        .map_err(|e| js_error(e.into()))
}

#[wasm_bindgen]
impl App {
    /// Audits the photo file `bytes` found at `file` with the explain `settings`, scores its
    /// map when `scoring` (trust settings JSON: `{"metrics","steps"}`) is given, and draws
    /// its thumbnail with `view`: resolves to `[row JSON, Float32Array map, map height, map
    /// width, ImageBitmap thumbnail or null]` (see `audit::audit_photo`; a bad photo gives a
    /// failed row).
    #[wasm_bindgen(js_name = auditPhoto)]
    pub fn audit_photo(
        &self,
        bytes: Vec<u8>,
        file: String,
        settings: String,
        view: String,
        scoring: Option<String>,
    ) -> Promise {
        let session = self.session.clone();
        future_to_promise(async move {
            let request = ExplainSettings::parse(&settings)
                .and_then(|s| s.request())
                .map_err(|e| js_error(e.into()))?;
            let options = view_options(&view)?;
            let scoring = scoring
                .map(|json| TrustSettings::parse(&json).and_then(|t| t.request()))
                .transpose()
                .map_err(|e| js_error(e.into()))?;
            let explainer = session.borrow().explainer().map_err(js_error)?;
            let audited = audit::audit_photo(
                &explainer,
                &bytes,
                &file,
                request,
                &options,
                scoring.as_ref(),
            )
            .await;
            let thumbnail = match &audited.thumbnail {
                Some((w, h, rgba)) => canvas::rgba_to_bitmap(rgba, *w, *h)?.into(),
                None => JsValue::NULL,
            };
            let (h, w) = audited.map_shape;
            let out = Array::of5(
                &JsValue::from_str(&to_json(&audited.row)),
                &Float32Array::from(audited.map.as_slice()),
                &JsValue::from(h as u32),
                &JsValue::from(w as u32),
                &thumbnail,
            );
            Ok(out.into())
        })
    }
}

/// The photos among the files of a dropped or picked folder (their paths as JSON):
/// `audit::FolderPlan` as JSON.
#[wasm_bindgen(js_name = auditPlan)]
pub fn audit_plan(paths_json: &str) -> Result<String, JsError> {
    let paths: Vec<String> =
        serde_json::from_str(paths_json).map_err(|e| JsError::new(&format!("bad paths: {e}")))?;
    Ok(to_json(&audit::plan_folder(&paths)))
}

/// The audit so far: `audit::AuditSummary` as JSON, from the rows (JSON) of `total` photos
/// after `elapsed_ms` of auditing.
#[wasm_bindgen(js_name = auditSummary)]
pub fn audit_summary(rows_json: &str, total: usize, elapsed_ms: f64) -> Result<String, JsError> {
    Ok(to_json(&audit::summarise(
        &rows(rows_json)?,
        total,
        elapsed_ms,
    )))
}

/// The indices of the rows (JSON) the grid shows for `query` (`audit::AuditQuery` JSON), in
/// its order.
#[wasm_bindgen(js_name = auditSelect)]
pub fn audit_select(rows_json: &str, query: &str) -> Result<Vec<u32>, JsError> {
    let query: AuditQuery =
        serde_json::from_str(query).map_err(|e| JsError::new(&format!("bad audit filter: {e}")))?;
    let picked =
        audit::select(&rows(rows_json)?, &query).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(picked.into_iter().map(|i| i as u32).collect())
}

/// The rows (JSON) as the CLI's results CSV.
#[wasm_bindgen(js_name = auditCsv)]
pub fn audit_csv(rows_json: &str) -> Result<String, JsError> {
    Ok(audit::csv(&rows(rows_json)?))
}

/// The audit's ZIP, made entry by entry: the page appends each returned chunk to a Blob.
#[wasm_bindgen]
#[derive(Default)]
pub struct AuditExport {
    zip: ZipWriter,
}

#[wasm_bindgen]
impl AuditExport {
    #[wasm_bindgen(constructor)]
    pub fn new() -> AuditExport {
        AuditExport::default()
    }

    /// The entry `name` holding the overlay of the kept `map` (`height × width`) over the
    /// photo file `bytes` at full resolution, drawn with `view`, as a PNG.
    pub fn overlay(
        &mut self,
        name: &str,
        bytes: &[u8],
        map: &[f32],
        height: usize,
        width: usize,
        view: &str,
    ) -> Result<Vec<u8>, JsError> {
        let options = view_options(view)?;
        let mut png = Vec::new();
        audit::overlay_png(bytes, map, (height, width), &options, &mut png)
            .map_err(|e| JsError::new(&format!("{name}: {e}")))?;
        self.file(name, &png)
    }

    /// The entry `name` holding `data`.
    pub fn file(&mut self, name: &str, data: &[u8]) -> Result<Vec<u8>, JsError> {
        self.zip
            .entry(name, data)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// The archive's last bytes (its central directory); the export is then done.
    pub fn finish(self) -> Result<Vec<u8>, JsError> {
        self.zip.finish().map_err(|e| JsError::new(&e.to_string()))
    }
}
