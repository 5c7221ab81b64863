//! ROAD, "RemOve And Debias" (Rong et al. 2022), as pytorch-grad-cam's
//! `ROADMostRelevantFirst`, `ROADLeastRelevantFirst`, their averages over percentiles and
//! `ROADCombined` (metrics/road.py, perturbation_confidence.py). At percentile p, MoRF keeps
//! the pixels whose map value is below the map's p-th percentile and imputes the rest; LeRF
//! does the same with 1 − map. Each score is the target probability's change.

use serde::Serialize;

use super::TrustError;
use super::imputation::impute;
use super::random::Rng;
use super::score::probabilities_of_host;
use crate::model::StagedClassifier;

/// pytorch-grad-cam's default percentiles.
pub const DEFAULT_PERCENTILES: [u32; 9] = [10, 20, 30, 40, 50, 60, 70, 80, 90];

/// ROAD's scores for one map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoadScores {
    /// The percentiles.
    pub percentiles: Vec<u32>,
    /// Most relevant first: probability change per percentile.
    pub morf: Vec<f32>,
    /// Least relevant first: probability change per percentile.
    pub lerf: Vec<f32>,
    /// Mean of `morf` (`ROADMostRelevantFirstAverage`).
    pub morf_average: f32,
    /// Mean of `lerf` (`ROADLeastRelevantFirstAverage`).
    pub lerf_average: f32,
    /// (lerf_average − morf_average) / 2 (`ROADCombined`): higher is better.
    pub combined: f32,
}

/// numpy's `percentile` (linear method) of `values`.
pub fn percentile(values: &[f32], p: f64) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let position = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = position.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = (position - lo as f64) as f32;
    let (a, b) = (sorted[lo], sorted[hi]);
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// Which pixels MoRF (`least_first` false) or LeRF keeps at percentile `p`.
pub fn road_keep(map: &[f32], p: u32, least_first: bool) -> Vec<bool> {
    let values: Vec<f32> = match least_first {
        true => map.iter().map(|v| 1.0 - v).collect(),
        false => map.to_vec(),
    };
    let threshold = percentile(&values, f64::from(p));
    values.iter().map(|&v| v < threshold).collect()
}

/// ROAD of `map` (`H × W`, in [0, 1]) on `input` (`[3, H, W]` on the host).
#[allow(clippy::too_many_arguments)]
pub async fn road<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &[f32],
    size: (usize, usize),
    map: &[f32],
    class: usize,
    percentiles: &[u32],
    noise: f32,
    seed: u64,
    chunk: usize,
    device: &burn::tensor::Device,
) -> Result<RoadScores, TrustError> {
    if let Some(&p) = percentiles.iter().find(|&&p| p == 0 || p >= 100) {
        return Err(TrustError::BadPercentile(p));
    }
    if percentiles.is_empty() {
        return Err(TrustError::BadPercentile(0));
    }
    let mut rng = Rng::new(seed);
    let mut inputs = vec![input.to_vec()];
    for least_first in [false, true] {
        for &p in percentiles {
            let keep = road_keep(map, p, least_first);
            inputs.push(impute(input, &keep, size, noise, &mut rng));
        }
    }
    let probs = probabilities_of_host(model, &inputs, size, class, chunk, device).await?;
    let k = percentiles.len();
    let changes: Vec<f32> = probs[1..].iter().map(|p| p - probs[0]).collect();
    let (morf, lerf) = (changes[..k].to_vec(), changes[k..].to_vec());
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (morf_average, lerf_average) = (mean(&morf), mean(&lerf));
    Ok(RoadScores {
        percentiles: percentiles.to_vec(),
        morf,
        lerf,
        morf_average,
        lerf_average,
        combined: (lerf_average - morf_average) / 2.0,
    })
}
