//! How alike two maps are: Spearman's rank correlation and SSIM (Wang et al. 2004).

/// Ranks from 1, ties given their average rank (as `scipy.stats.rankdata`).
fn average_ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0f64; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        order[i..=j].iter().for_each(|&k| ranks[k] = rank);
        i = j + 1;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Spearman's rank correlation of two maps of the same size; NaN when either is constant.
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "maps of different sizes");
    pearson(&average_ranks(a), &average_ranks(b))
}

/// Mean SSIM of two `height × width` maps with values in [0, 1]: 7 × 7 uniform windows
/// inside the map, sample covariances, C1 = (0.01)², C2 = (0.03)² (scikit-image's
/// `structural_similarity` defaults with `data_range = 1`).
pub fn ssim(a: &[f32], b: &[f32], (height, width): (usize, usize)) -> f64 {
    assert_eq!(a.len(), height * width);
    assert_eq!(b.len(), height * width);
    const WIN: usize = 7;
    let (c1, c2) = (0.01f64 * 0.01, 0.03f64 * 0.03);
    if height < WIN || width < WIN {
        return f64::NAN;
    }
    let np = (WIN * WIN) as f64;
    let mut total = 0.0;
    let mut count = 0usize;
    for y in 0..=height - WIN {
        for x in 0..=width - WIN {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for yy in y..y + WIN {
                for xx in x..x + WIN {
                    let (u, v) = (f64::from(a[yy * width + xx]), f64::from(b[yy * width + xx]));
                    sa += u;
                    sb += v;
                    saa += u * u;
                    sbb += v * v;
                    sab += u * v;
                }
            }
            let (ma, mb) = (sa / np, sb / np);
            let cov = np / (np - 1.0);
            let va = (saa / np - ma * ma) * cov;
            let vb = (sbb / np - mb * mb) * cov;
            let vab = (sab / np - ma * mb) * cov;
            total += ((2.0 * ma * mb + c1) * (2.0 * vab + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    total / count as f64
}
