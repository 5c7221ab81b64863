//! What is reported for one photo, shared by the CLI's CSV rows and JSON lines and the
//! page's audit export.

use crate::engine::Prediction;
use crate::render::HotBox;

/// One photo's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The photo, as named or found.
    pub file: String,
    /// The expected class's name (ImageFolder), if known.
    pub expected: Option<String>,
    /// The five most probable classes, most probable first.
    pub top5: Vec<Prediction>,
    /// The CAM method's name.
    pub method: String,
    /// The explained layer(s), comma-separated.
    pub layer: String,
    /// The largest hot region in photo pixels (with a threshold), if any.
    pub hot_box: Option<HotBox>,
}

/// The CSV header, in [`Record::csv_fields`] order.
pub const CSV_HEADER: [&str; 8] = [
    "file",
    "expected",
    "predicted",
    "confidence",
    "top5",
    "method",
    "layer",
    "hot_box",
];

impl Record {
    /// The CSV fields: `confidence` is the top-1 probability (6 decimals); `top5` is
    /// `label=probability` pairs joined by `; `; `hot_box` is [`format_hot_box`]; unknown
    /// values are empty.
    pub fn csv_fields(&self) -> [String; 8] {
        let top1 = self.top5.first();
        let top5: Vec<String> = self
            .top5
            .iter()
            .map(|p| format!("{}={:.6}", p.label, p.prob))
            .collect();
        [
            self.file.clone(),
            self.expected.clone().unwrap_or_default(),
            top1.map(|p| p.label.clone()).unwrap_or_default(),
            top1.map(|p| format!("{:.6}", p.prob)).unwrap_or_default(),
            top5.join("; "),
            self.method.clone(),
            self.layer.clone(),
            self.hot_box.map(format_hot_box).unwrap_or_default(),
        ]
    }
}

/// A hot-region box as `x y width height` (photo pixels).
pub fn format_hot_box(b: HotBox) -> String {
    format!("{} {} {} {}", b.x, b.y, b.width, b.height)
}
