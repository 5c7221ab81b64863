//! Trust reports as one table: a row per photo and method (or baseline), a column per
//! numeric metric (curves stay in the JSON), for `gradcam evaluate --csv`.

use std::collections::BTreeSet;

use super::{MetricValue, TrustReport};
use crate::csv_line::csv_line;

/// What a row is about, besides its metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRowKey {
    /// The photo (or input tensor) as named on the command line.
    pub photo: String,
    /// The method, or `baseline-…`.
    pub method: String,
    /// The layer(s), comma-separated.
    pub layer: String,
    /// The explained class.
    pub target: usize,
}

/// Rows gathered as photos finish; [`TrustTable::to_csv`] writes them with the union of
/// their numeric metrics as columns (sorted by name; empty where a row has none or NaN).
#[derive(Debug, Default)]
pub struct TrustTable {
    rows: Vec<(TrustRowKey, TrustReport)>,
}

impl TrustTable {
    /// Adds one report.
    pub fn push(&mut self, key: TrustRowKey, report: &TrustReport) {
        self.rows.push((key, report.clone()));
    }

    /// The table as CSV text, header first.
    pub fn to_csv(&self) -> String {
        let columns: BTreeSet<&str> = self
            .rows
            .iter()
            .flat_map(|(_, r)| r.metrics.iter())
            .filter(|(_, v)| matches!(v, MetricValue::Number(_)))
            .map(|(name, _)| name.as_str())
            .collect();
        let header: Vec<String> = ["photo", "method", "layer", "target"]
            .into_iter()
            .chain(columns.iter().copied())
            .map(str::to_owned)
            .collect();
        let mut text = csv_line(&header);
        for (key, report) in &self.rows {
            let mut fields = vec![
                key.photo.clone(),
                key.method.clone(),
                key.layer.clone(),
                key.target.to_string(),
            ];
            fields.extend(columns.iter().map(|&name| match report.metrics.get(name) {
                Some(MetricValue::Number(v)) if v.is_finite() => v.to_string(),
                _ => String::new(),
            }));
            text.push_str(&csv_line(&fields));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(metrics: &[(&str, MetricValue)]) -> TrustReport {
        TrustReport {
            metrics: metrics
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.clone()))
                .collect(),
            ..TrustReport::default()
        }
    }

    fn key(photo: &str, method: &str) -> TrustRowKey {
        TrustRowKey {
            photo: photo.to_owned(),
            method: method.to_owned(),
            layer: "layer3,layer4".to_owned(),
            target: 7,
        }
    }

    #[test]
    fn columns_are_the_union_of_numeric_metrics_and_gaps_stay_empty() {
        let mut table = TrustTable::default();
        let curve = MetricValue::Array(vec![1.0, 0.5]);
        table.push(
            key("a.jpg", "gradcam"),
            &report(&[
                ("deletion_auc", MetricValue::Number(0.25)),
                ("deletion_curve", curve),
                ("randomisation_spearman", MetricValue::Number(f64::NAN)),
            ]),
        );
        table.push(
            key("b, c.jpg", "baseline-sobel"),
            &report(&[("insertion_auc", MetricValue::Number(0.5))]),
        );
        let csv = table.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines,
            [
                "photo,method,layer,target,deletion_auc,insertion_auc,randomisation_spearman",
                "a.jpg,gradcam,\"layer3,layer4\",7,0.25,,",
                "\"b, c.jpg\",baseline-sobel,\"layer3,layer4\",7,,0.5,",
            ]
        );
    }
}
