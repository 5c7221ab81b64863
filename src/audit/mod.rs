//! Auditing a classifier on a folder of photos, in the page: each photo explained and kept
//! small (a row, its map at feature resolution, a thumbnail), accuracy and the confusion
//! matrix where the folders name classes (ImageFolder), the grid's filters and orders, and
//! the export (CSV rows as `gradcam explain --csv` writes them, overlays in a ZIP).
//! Target-independent: the page's glue only converts.

mod names;
mod photo;
mod record;
mod select;
mod summary;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::csv_line::csv_line;
use crate::engine::Prediction;
use crate::render::HotBox;

pub use names::{
    FolderPlan, PHOTO_EXTENSIONS, class_folder, is_photo_name, output_names, plan_folder,
};
pub use photo::{
    AUDIT_HOT_BOX_SIZE, AUDIT_HOT_THRESHOLD, AUDIT_MAP_SIDE, AUDIT_THUMBNAIL_SIZE, AuditedPhoto,
    OverlayError, audit_photo, overlay_png, shrink_map,
};
pub use record::{CSV_HEADER, Record, format_hot_box};
pub use select::{AuditQuery, DEFAULT_UNSURE_BELOW, QueryError, select};
pub use summary::{AuditSummary, MatrixClass, ScoreMean, summarise};

/// One audited photo, as the page keeps it (its map and thumbnail travel beside it). Absent
/// fields read as empty: a row the page makes for a file it could not read is `{file, error}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditRow {
    /// The photo's path as dropped or picked (`photos/cats/001.jpg`).
    pub file: String,
    /// The folder it is in ([`class_folder`]).
    pub folder: Option<String>,
    /// The class that folder names, if it names one.
    pub expected: Option<usize>,
    /// The five most probable classes, most probable first (empty when it failed).
    pub top5: Vec<Prediction>,
    /// The CAM method.
    pub method: String,
    /// The explained layer.
    pub layer: String,
    /// The largest hot region in photo pixels ([`AUDIT_HOT_THRESHOLD`]).
    pub hot_box: Option<HotBox>,
    /// The photo's size.
    pub width: u32,
    /// The photo's size.
    pub height: u32,
    /// The map's trust scores when the audit scores maps: each asked metric's headline
    /// number by its key (`deletion_auc`, …; NaN written as `null`).
    pub scores: BTreeMap<String, Option<f64>>,
    /// Why the photo could not be explained.
    pub error: Option<String>,
}

impl AuditRow {
    /// A photo that could not be explained.
    pub fn failed(file: &str, why: String) -> Self {
        AuditRow {
            file: file.to_owned(),
            folder: class_folder(file).map(str::to_owned),
            error: Some(why),
            ..AuditRow::default()
        }
    }

    /// The top class.
    pub fn predicted(&self) -> Option<&Prediction> {
        self.top5.first()
    }

    /// The top class's probability.
    pub fn confidence(&self) -> Option<f32> {
        self.predicted().map(|p| p.prob)
    }

    /// Whether the top class is the expected one (`None` when either is unknown).
    pub fn is_right(&self) -> Option<bool> {
        Some(self.expected? == self.predicted()?.class)
    }

    /// The row as the CLI's results file has it.
    pub fn record(&self) -> Record {
        Record {
            file: self.file.clone(),
            expected: self.expected.and(self.folder.clone()),
            top5: self.top5.clone(),
            method: self.method.clone(),
            layer: self.layer.clone(),
            hot_box: self.hot_box,
        }
    }
}

/// The explained rows as a results file: `gradcam explain --csv`'s columns and format
/// (photos that failed are left out, as the CLI leaves them out), then a column per trust
/// score the rows hold (6 decimals; empty where a row has none).
pub fn csv(rows: &[AuditRow]) -> String {
    let explained: Vec<&AuditRow> = rows.iter().filter(|r| r.error.is_none()).collect();
    let mut scores: Vec<&String> = explained.iter().flat_map(|r| r.scores.keys()).collect();
    scores.sort();
    scores.dedup();
    let mut header: Vec<String> = CSV_HEADER.map(str::to_owned).to_vec();
    header.extend(scores.iter().map(|k| (*k).clone()));
    let mut text = csv_line(&header);
    for row in explained {
        let mut fields = row.record().csv_fields().to_vec();
        fields.extend(scores.iter().map(|k| match row.scores.get(*k) {
            Some(Some(v)) => format!("{v:.6}"),
            _ => String::new(),
        }));
        text.push_str(&csv_line(&fields));
    }
    text
}
