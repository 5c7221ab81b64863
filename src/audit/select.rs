//! Which audited photos the grid shows, and in what order.

use serde::Deserialize;

use super::AuditRow;
use crate::trust::Metric;

/// The grid's filter and order, as the page sends it:
/// `{"show","class","below","sort"}`, every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// Which photos: `all` (default), `wrong` (expected class known, another predicted),
    /// `right`, `unsure` (confidence below `below`) or `failed`.
    #[serde(default)]
    pub show: Option<String>,
    /// Only photos expected or predicted as this class.
    #[serde(default)]
    pub class: Option<usize>,
    /// The confidence `unsure` means, 0–1 (default 0.5).
    #[serde(default)]
    pub below: Option<f32>,
    /// `found` (default: the order the photos were found in), `confidence` (lowest first),
    /// `confidence-desc`, `expected` (by class folder, then file), `predicted` (by class
    /// name, then file) or `worst:<metric>` (the worst map by that trust metric's headline
    /// score first, `worst:deletion`; maps without it last).
    #[serde(default)]
    pub sort: Option<String>,
}

/// Why a query cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("unknown filter `{0}`")]
    Show(String),
    #[error("unknown order `{0}`")]
    Sort(String),
    #[error(transparent)]
    Metric(#[from] crate::trust::TrustError),
}

/// The confidence below which `unsure` shows a photo, when the query names none.
pub const DEFAULT_UNSURE_BELOW: f32 = 0.5;

/// The indices into `rows` that `query` shows, in its order.
pub fn select(rows: &[AuditRow], query: &AuditQuery) -> Result<Vec<usize>, QueryError> {
    let below = query.below.unwrap_or(DEFAULT_UNSURE_BELOW);
    let show: fn(&AuditRow, f32) -> bool = match query.show.as_deref().unwrap_or("all") {
        "all" => |_, _| true,
        "wrong" => |r, _| r.is_right() == Some(false),
        "right" => |r, _| r.is_right() == Some(true),
        "unsure" => |r, below| r.confidence().is_some_and(|c| c < below),
        "failed" => |r, _| r.error.is_some(),
        other => return Err(QueryError::Show(other.to_owned())),
    };
    let in_class = |r: &AuditRow| match query.class {
        None => true,
        Some(c) => r.expected == Some(c) || r.predicted().is_some_and(|p| p.class == c),
    };
    let mut picked: Vec<usize> = (0..rows.len())
        .filter(|&i| show(&rows[i], below) && in_class(&rows[i]))
        .collect();
    let confidence = |i: &usize| rows[*i].confidence().unwrap_or(f32::NEG_INFINITY);
    let predicted = |i: &usize| rows[*i].predicted().map(|p| p.label.clone());
    match query.sort.as_deref().unwrap_or("found") {
        "found" => {}
        "confidence" => picked.sort_by(|a, b| confidence(a).total_cmp(&confidence(b))),
        "confidence-desc" => picked.sort_by(|a, b| confidence(b).total_cmp(&confidence(a))),
        "expected" => picked.sort_by_key(|i| (rows[*i].folder.clone(), rows[*i].file.clone())),
        "predicted" => picked.sort_by_key(|i| (predicted(i), rows[*i].file.clone())),
        other => match other.strip_prefix("worst:") {
            Some(metric) => sort_worst_first(rows, &mut picked, metric.parse()?)?,
            None => return Err(QueryError::Sort(other.to_owned())),
        },
    }
    Ok(picked)
}

/// Orders `picked` worst map first by `metric`'s headline score (its own sense of better),
/// maps without the score last.
fn sort_worst_first(
    rows: &[AuditRow],
    picked: &mut [usize],
    metric: Metric,
) -> Result<(), QueryError> {
    let headline = metric
        .headline()
        .ok_or_else(|| QueryError::Sort(format!("worst:{}", metric.name())))?;
    let score = |i: &usize| rows[*i].scores.get(headline.key).copied().flatten();
    // Worst first: the lowest when higher is better, else the highest; missing scores last.
    let badness = |i: &usize| score(i).map(|v| if headline.higher_is_better { v } else { -v });
    picked.sort_by(|a, b| match (badness(a), badness(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    Ok(())
}
