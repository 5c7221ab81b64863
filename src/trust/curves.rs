//! Deletion and insertion curves (Petsiuk et al. 2018, "RISE"): the map's pixels, most
//! relevant first, are removed from the input (deletion) or put back into a baseline
//! (insertion) in `S` equal steps; the curve is the target's probability at each step and
//! its area (trapezoid rule on [0, 1]) the score. Low deletion and high insertion areas mean
//! the map found the pixels the network relies on.

use burn::tensor::{Tensor, TensorData};
use serde::Serialize;

use super::TrustError;
use super::score::probabilities;
use crate::model::StagedClassifier;

/// What removed pixels become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CurveBaseline {
    /// The input blurred: Gaussian, 11 taps, σ = 5, zero padding (RISE's substrate).
    #[default]
    Blur,
    /// 0 in the network's (normalised) input, the dataset's mean colour.
    Zero,
}

impl std::str::FromStr for CurveBaseline {
    type Err = TrustError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "blur" => Ok(Self::Blur),
            "zero" => Ok(Self::Zero),
            _ => Err(TrustError::UnknownBaseline(s.to_owned())),
        }
    }
}

/// Which way a curve goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    /// From the input towards the baseline.
    Deletion,
    /// From the baseline towards the input.
    Insertion,
}

/// One curve: `steps + 1` probabilities (0, 1/S, …, all pixels changed) and its area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// The target's probability after each step.
    pub probabilities: Vec<f32>,
    /// Area under the curve, trapezoid rule, x from 0 to 1.
    pub auc: f64,
}

/// Area under `values` sampled evenly on [0, 1] (trapezoid rule).
pub fn trapezoid_auc(values: &[f32]) -> f64 {
    if values.len() < 2 {
        return values.first().map_or(0.0, |&v| f64::from(v));
    }
    let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
    let ends = f64::from(values[0] + values[values.len() - 1]) / 2.0;
    (sum - ends) / (values.len() - 1) as f64
}

/// Each pixel's place in the map's order, most relevant first (ties by row-major index).
pub fn relevance_rank(map: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
    let mut rank = vec![0; map.len()];
    for (place, &pixel) in order.iter().enumerate() {
        rank[pixel] = place;
    }
    rank
}

/// Gaussian blur of a `[3, H, W]` image on the host: 11 taps, σ = 5, separable, zero padding.
pub fn blur(image: &[f32], (height, width): (usize, usize)) -> Vec<f32> {
    let taps: Vec<f64> = (-BLUR_RADIUS..=BLUR_RADIUS)
        .map(|t| (-(t * t) as f64 / 50.0).exp())
        .collect();
    let total: f64 = taps.iter().sum();
    let taps: Vec<f32> = taps.iter().map(|t| (t / total) as f32).collect();
    let mut out = vec![0f32; image.len()];
    let mut rows = vec![0f32; height * width];
    for (plane, result) in image
        .chunks(height * width)
        .zip(out.chunks_mut(height * width))
    {
        // Along each row (neighbours 1 apart), then along each column (`width` apart).
        convolve_1d(plane, &mut rows, (height, width), &taps, (0, 1));
        convolve_1d(&rows, result, (height, width), &taps, (1, 0));
    }
    out
}

const BLUR_RADIUS: isize = 5;

/// `dst = taps ∗ src` along one axis of an `H × W` plane: tap `k` reads the pixel
/// `(k − radius) · (dy, dx)` away, zero outside the plane.
fn convolve_1d(
    src: &[f32],
    dst: &mut [f32],
    (height, width): (usize, usize),
    taps: &[f32],
    (dy, dx): (isize, isize),
) {
    for y in 0..height {
        for x in 0..width {
            let mut s = 0f32;
            for (k, &t) in taps.iter().enumerate() {
                let offset = k as isize - BLUR_RADIUS;
                let (yy, xx) = (y as isize + offset * dy, x as isize + offset * dx);
                if (0..height as isize).contains(&yy) && (0..width as isize).contains(&xx) {
                    s += t * src[yy as usize * width + xx as usize];
                }
            }
            dst[y * width + x] = s;
        }
    }
}

/// The deletion or insertion curve of `map` (`H × W`) in `steps` steps, `chunk` perturbed
/// inputs per forward pass. Step `i` changes the ⌊i·H·W/S⌋ most relevant pixels.
///
/// # Shapes
/// - `input`, `baseline`: `[1, 3, H, W]`
#[allow(clippy::too_many_arguments)]
pub async fn curve<M: StagedClassifier + ?Sized>(
    model: &M,
    input: &Tensor<4>,
    baseline: &Tensor<4>,
    map: &[f32],
    class: usize,
    kind: CurveKind,
    steps: usize,
    chunk: usize,
) -> Result<Curve, TrustError> {
    if steps == 0 {
        return Err(TrustError::ZeroSteps);
    }
    let [_, _, h, w] = input.dims();
    let n = h * w;
    let device = input.device();
    let rank: Vec<f32> = relevance_rank(map).into_iter().map(|r| r as f32).collect();
    let rank = Tensor::<4>::from_data(TensorData::new(rank, [1, 1, h, w]), &device);
    let (start, finish) = match kind {
        CurveKind::Deletion => (input, baseline),
        CurveKind::Insertion => (baseline, input),
    };
    let mut probabilities_all = Vec::with_capacity(steps + 1);
    let chunk = chunk.max(1);
    for first in (0..=steps).step_by(chunk) {
        let len = chunk.min(steps + 1 - first);
        let counts: Vec<f32> = (first..first + len)
            .map(|i| (i * n / steps) as f32)
            .collect();
        let counts = Tensor::<4>::from_data(TensorData::new(counts, [len, 1, 1, 1]), &device);
        let changed = rank
            .clone()
            .expand([len, 1, h, w])
            .lower(counts.expand([len, 1, h, w]))
            .float();
        let kept = changed.clone().neg().add_scalar(1.0);
        let batch = start.clone() * kept + finish.clone() * changed;
        probabilities_all.extend(probabilities(model, batch, class, len).await?);
    }
    let auc = trapezoid_auc(&probabilities_all);
    Ok(Curve {
        probabilities: probabilities_all,
        auc,
    })
}
