//! ROAD's noisy linear imputation (Rong et al. 2022): every removed pixel becomes the
//! weighted mean of its eight neighbours (weight 1/6 for the four sharing an edge, 1/12 for
//! the diagonals; neighbours outside the image are left out and their weight with them),
//! removed neighbours being unknowns themselves, plus Gaussian noise. That is one sparse,
//! symmetric positive definite system per channel, solved here by conjugate gradients
//! (pytorch-grad-cam solves the same system directly, `spsolve`).

use super::random::Rng;

/// (row offset, column offset, weight) of the eight neighbours.
const NEIGHBOURS: [(isize, isize, f64); 8] = [
    (1, 1, 1.0 / 12.0),
    (0, 1, 1.0 / 6.0),
    (-1, 1, 1.0 / 12.0),
    (1, -1, 1.0 / 12.0),
    (0, -1, 1.0 / 6.0),
    (-1, -1, 1.0 / 12.0),
    (1, 0, 1.0 / 6.0),
    (-1, 0, 1.0 / 6.0),
];

/// Relative residual at which conjugate gradients stops.
const TOLERANCE: f64 = 1e-9;

/// Fills the pixels where `keep` is false of a `[C, H, W]` image, adding `noise`·N(0, 1)
/// to each filled value. Returns the image unchanged if every pixel is kept; a pixel with
/// no kept pixel anywhere in its connected region becomes 0 (+ noise).
pub fn impute(
    image: &[f32],
    keep: &[bool],
    (height, width): (usize, usize),
    noise: f32,
    rng: &mut Rng,
) -> Vec<f32> {
    let n = height * width;
    let unknown: Vec<usize> = (0..n).filter(|&p| !keep[p]).collect();
    let mut index = vec![usize::MAX; n];
    for (i, &p) in unknown.iter().enumerate() {
        index[p] = i;
    }
    // Row i of the system: diag[i]·x_i − Σ w·x_j (removed neighbours j) = Σ w·v_j (kept).
    let mut diag = vec![0f64; unknown.len()];
    let mut links: Vec<Vec<(usize, f64)>> = vec![Vec::new(); unknown.len()];
    let mut known: Vec<Vec<(usize, f64)>> = vec![Vec::new(); unknown.len()];
    for (i, &p) in unknown.iter().enumerate() {
        let (y, x) = ((p / width) as isize, (p % width) as isize);
        for (dy, dx, weight) in NEIGHBOURS {
            let (yy, xx) = (y + dy, x + dx);
            if yy < 0 || xx < 0 || yy >= height as isize || xx >= width as isize {
                continue;
            }
            let q = yy as usize * width + xx as usize;
            diag[i] += weight;
            if keep[q] {
                known[i].push((q, weight));
            } else {
                links[i].push((index[q], weight));
            }
        }
    }
    let mut out = image.to_vec();
    for (plane, filled) in image.chunks(n).zip(out.chunks_mut(n)) {
        let b: Vec<f64> = known
            .iter()
            .map(|k| k.iter().map(|&(q, w)| w * f64::from(plane[q])).sum())
            .collect();
        let x = conjugate_gradients(&diag, &links, &b);
        for (&p, v) in unknown.iter().zip(x) {
            filled[p] = v as f32 + noise * rng.normal();
        }
    }
    out
}

/// Solves (D − W)x = b with Jacobi-preconditioned conjugate gradients.
fn conjugate_gradients(diag: &[f64], links: &[Vec<(usize, f64)>], b: &[f64]) -> Vec<f64> {
    let apply = |v: &[f64], out: &mut [f64]| {
        for (i, o) in out.iter_mut().enumerate() {
            *o = diag[i] * v[i] - links[i].iter().map(|&(j, w)| w * v[j]).sum::<f64>();
        }
    };
    let dot = |a: &[f64], c: &[f64]| a.iter().zip(c).map(|(x, y)| x * y).sum::<f64>();
    let n = b.len();
    let mut x: Vec<f64> = b.iter().zip(diag).map(|(b, d)| b / d).collect();
    let mut r = vec![0f64; n];
    apply(&x, &mut r);
    r.iter_mut().zip(b).for_each(|(r, b)| *r = b - *r);
    let b_norm = dot(b, b).sqrt().max(1e-30);
    let mut z: Vec<f64> = r.iter().zip(diag).map(|(r, d)| r / d).collect();
    let mut p = z.clone();
    let mut rz = dot(&r, &z);
    let mut ap = vec![0f64; n];
    for _ in 0..20 * n.max(1) {
        if dot(&r, &r).sqrt() <= TOLERANCE * b_norm {
            break;
        }
        apply(&p, &mut ap);
        let pap = dot(&p, &ap);
        if pap <= 0.0 {
            break;
        }
        let alpha = rz / pap;
        x.iter_mut().zip(&p).for_each(|(x, p)| *x += alpha * p);
        r.iter_mut().zip(&ap).for_each(|(r, a)| *r -= alpha * a);
        z.iter_mut()
            .zip(&r)
            .zip(diag)
            .for_each(|((z, r), d)| *z = r / d);
        let rz_next = dot(&r, &z);
        let beta = rz_next / rz;
        rz = rz_next;
        p.iter_mut().zip(&z).for_each(|(p, z)| *p = z + beta * *p);
    }
    x
}
