//! The first principal component of a layer's channels, per position: Eigen-CAM's map and
//! the `eigen_smooth` option. Computed on the host (the matrix is small: positions × channels).

/// Projects each spatial position onto the first principal component of the channels.
///
/// `values` is channel-major (`channels × positions`, the layout of a `[1, C, h, w]` tensor).
/// Channels are centred over positions, the first right singular vector is found by power
/// iteration, and the sign is chosen so that the larger-magnitude extreme is positive
/// (SVD leaves the sign arbitrary; pytorch-grad-cam's `get_2d_projection` keeps whatever
/// LAPACK returns, its `..._with_sign_correction` variant uses this same rule).
pub fn first_component_projection(values: &[f32], channels: usize) -> Vec<f32> {
    let positions = values.len() / channels;
    let mut centred = vec![0f64; values.len()];
    for c in 0..channels {
        let row = &values[c * positions..(c + 1) * positions];
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / positions as f64;
        for (p, &v) in row.iter().enumerate() {
            centred[c * positions + p] = f64::from(v) - mean;
        }
    }
    // Power iteration on MᵀM where M = centredᵀ (positions × channels): v ← Mᵀ(M v).
    let project = |v: &[f64]| -> Vec<f64> {
        let mut out = vec![0f64; positions];
        for c in 0..channels {
            let row = &centred[c * positions..(c + 1) * positions];
            for (o, &m) in out.iter_mut().zip(row) {
                *o += m * v[c];
            }
        }
        out
    };
    let back = |u: &[f64]| -> Vec<f64> {
        (0..channels)
            .map(|c| {
                let row = &centred[c * positions..(c + 1) * positions];
                row.iter().zip(u).map(|(m, x)| m * x).sum()
            })
            .collect()
    };
    // Start from the channel sums of squares: never orthogonal to the top component unless
    // the data is degenerate.
    let mut v: Vec<f64> = (0..channels)
        .map(|c| {
            let row = &centred[c * positions..(c + 1) * positions];
            row.iter().map(|x| x * x).sum::<f64>() + 1e-12
        })
        .collect();
    normalise(&mut v);
    for _ in 0..1000 {
        let mut next = back(&project(&v));
        if normalise(&mut next) == 0.0 {
            break;
        }
        let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = next;
        if change < 1e-10 {
            break;
        }
    }
    let mut projection = project(&v);
    let (min, max) = projection
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    if min.abs() > max.abs() {
        projection.iter_mut().for_each(|x| *x = -*x);
    }
    projection.into_iter().map(|x| x as f32).collect()
}

fn normalise(v: &mut [f64]) -> f64 {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}
