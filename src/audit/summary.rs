//! What a folder's audit found so far: accuracy over the photos whose class is known, the
//! confusion matrix, the folders that name no class, and how fast the audit goes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::AuditRow;
use crate::trust::Metric;

/// The audit in numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditSummary {
    /// Photos audited (explained or failed).
    pub done: usize,
    /// Photos that could not be explained.
    pub failed: usize,
    /// Explained photos whose expected class is known (their folder names a class).
    pub with_expected: usize,
    /// Of those, the ones whose top class is the expected one.
    pub correct: usize,
    /// `correct / with_expected`; `None` when no photo's class is known.
    pub accuracy: Option<f64>,
    /// The confusion matrix's classes: every class expected or predicted, by index.
    pub classes: Vec<MatrixClass>,
    /// `matrix[e][p]`: photos expected as `classes[e]` and predicted as `classes[p]`.
    pub matrix: Vec<Vec<usize>>,
    /// Folders whose name is no class of the model (their photos have no expected class).
    pub unmatched_folders: Vec<String>,
    /// Photos per minute since the audit started (`None` before the first is done).
    pub per_minute: Option<f64>,
    /// Seconds until the `total` photos are done at that pace.
    pub seconds_left: Option<f64>,
    /// Each trust score the rows hold: its mean over the maps that have it.
    pub scores: Vec<ScoreMean>,
}

/// A trust score over the audited maps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreMean {
    /// The report key (`deletion_auc`, …).
    pub key: String,
    /// Its name for people, and the metric's name (for `worst:<metric>` orders).
    pub label: &'static str,
    pub metric: &'static str,
    /// Which way is better.
    pub higher_is_better: bool,
    /// The mean over the maps with a (finite) score, and how many they are.
    pub mean: Option<f64>,
    pub maps: usize,
}

/// A class in the confusion matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixClass {
    /// Its index in the model.
    pub class: usize,
    /// Its name.
    pub label: String,
    /// Photos expected as it.
    pub photos: usize,
    /// Of those, predicted as it.
    pub correct: usize,
}

/// Sums up `rows`, of `total` photos, after `elapsed_ms` of auditing.
pub fn summarise(rows: &[AuditRow], total: usize, elapsed_ms: f64) -> AuditSummary {
    let explained: Vec<&AuditRow> = rows.iter().filter(|r| r.error.is_none()).collect();
    let known: Vec<(&AuditRow, usize, usize)> = explained
        .iter()
        .filter_map(|r| Some((*r, r.expected?, r.predicted()?.class)))
        .collect();
    let correct = known.iter().filter(|(_, e, p)| e == p).count();

    // Every class expected or predicted, by index, named as its folder or prediction names it.
    let mut names: BTreeMap<usize, &str> = BTreeMap::new();
    for (row, expected, _) in &known {
        names
            .entry(*expected)
            .or_insert(row.folder.as_deref().unwrap_or_default());
    }
    for (row, _, _) in &known {
        let top = row.predicted().expect("known rows have a prediction");
        names.entry(top.class).or_insert(&top.label);
    }
    let order: Vec<usize> = names.keys().copied().collect();
    let at = |class: usize| order.binary_search(&class).expect("every class is named");
    let mut matrix = vec![vec![0; order.len()]; order.len()];
    for &(_, e, p) in &known {
        matrix[at(e)][at(p)] += 1;
    }
    let classes: Vec<MatrixClass> = names
        .into_iter()
        .enumerate()
        .map(|(i, (class, label))| MatrixClass {
            class,
            label: label.to_owned(),
            photos: matrix[i].iter().sum(),
            correct: matrix[i][i],
        })
        .collect();

    let mut unmatched_folders: Vec<String> = explained
        .iter()
        .filter(|r| r.expected.is_none())
        .filter_map(|r| r.folder.clone())
        .collect();
    unmatched_folders.sort();
    unmatched_folders.dedup();

    let done = rows.len();
    let per_minute = (done > 0 && elapsed_ms > 0.0).then(|| done as f64 * 60_000.0 / elapsed_ms);
    let seconds_left = per_minute.map(|rate| total.saturating_sub(done) as f64 * 60.0 / rate);
    AuditSummary {
        scores: score_means(&explained),
        done,
        failed: done - explained.len(),
        with_expected: known.len(),
        correct,
        accuracy: (!known.is_empty()).then(|| correct as f64 / known.len() as f64),
        classes,
        matrix,
        unmatched_folders,
        per_minute,
        seconds_left,
    }
}

/// The mean of each trust score the rows hold, in report-key order.
fn score_means(rows: &[&AuditRow]) -> Vec<ScoreMean> {
    Metric::ALL
        .iter()
        .filter_map(|m| m.headline())
        .filter(|h| rows.iter().any(|r| r.scores.contains_key(h.key)))
        .map(|h| {
            let values: Vec<f64> = rows
                .iter()
                .filter_map(|r| r.scores.get(h.key).copied().flatten())
                .collect();
            ScoreMean {
                key: h.key.to_owned(),
                label: h.label,
                metric: h.metric,
                higher_is_better: h.higher_is_better,
                mean: (!values.is_empty())
                    .then(|| values.iter().sum::<f64>() / values.len() as f64),
                maps: values.len(),
            }
        })
        .collect()
}
