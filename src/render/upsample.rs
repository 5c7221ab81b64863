//! Bilinear resampling and min-max normalisation of a scalar map.

/// Resizes a row-major `src_h × src_w` map to `dst_h × dst_w` with bilinear interpolation and
/// half-pixel centres (OpenCV's `INTER_LINEAR`, PyTorch's `align_corners=False`), clamping
/// at the borders.
pub fn resize_bilinear(
    src: &[f32],
    (src_h, src_w): (usize, usize),
    (dst_h, dst_w): (usize, usize),
) -> Vec<f32> {
    assert_eq!(
        src.len(),
        src_h * src_w,
        "map length does not match its shape"
    );
    assert!(src_h > 0 && src_w > 0, "cannot resize an empty map");
    let axis =
        |dst: usize, src: usize| -> Vec<Tap> { (0..dst).map(|i| Tap::new(i, dst, src)).collect() };
    let rows = axis(dst_h, src_h);
    let cols = axis(dst_w, src_w);
    let mut out = Vec::with_capacity(dst_h * dst_w);
    for row in &rows {
        for col in &cols {
            out.push(interpolate(src, src_w, row, col));
        }
    }
    out
}

/// Where destination index `i` of `dst` samples a source axis of length `src`: the two
/// neighbouring source indices and the weight of the second.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tap {
    lo: usize,
    hi: usize,
    frac: f32,
}

impl Tap {
    pub(super) fn new(i: usize, dst: usize, src: usize) -> Tap {
        let scale = src as f32 / dst as f32;
        let x = ((i as f32 + 0.5) * scale - 0.5).max(0.0);
        let lo = (x.floor() as usize).min(src - 1);
        let hi = (lo + 1).min(src - 1);
        Tap {
            lo,
            hi,
            frac: x - lo as f32,
        }
    }
}

/// The bilinear value at one destination pixel (row tap, column tap) of a row-major map.
pub(super) fn interpolate(src: &[f32], src_w: usize, row: &Tap, col: &Tap) -> f32 {
    let (y0, y1, fy) = (row.lo, row.hi, row.frac);
    let (x0, x1, fx) = (col.lo, col.hi, col.frac);
    let top = src[y0 * src_w + x0] * (1.0 - fx) + src[y0 * src_w + x1] * fx;
    let bottom = src[y1 * src_w + x0] * (1.0 - fx) + src[y1 * src_w + x1] * fx;
    top * (1.0 - fy) + bottom * fy
}

/// What min-max normalisation found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Normalized {
    /// Values now span `[0, 1]`; the original range is kept for read-outs.
    Scaled {
        /// Smallest value before scaling.
        min: f32,
        /// Largest value before scaling.
        max: f32,
    },
    /// Every value was equal (for Grad-CAM: all zero, no positive evidence for the class);
    /// the map is set to zero instead of dividing by zero.
    Flat,
}

/// Scales `map` in place to `[0, 1]` by its own minimum and maximum.
pub fn min_max_normalize(map: &mut [f32]) -> Normalized {
    let (min, max) = map
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let range = max - min;
    if !range.is_finite() || range <= f32::EPSILON * max.abs().max(1e-30) {
        map.fill(0.0);
        return Normalized::Flat;
    }
    for v in map.iter_mut() {
        *v = (*v - min) / range;
    }
    Normalized::Scaled { min, max }
}

/// The rows of [`resize_bilinear`]'s output one at a time, bit for bit the same values, so a
/// full-resolution map can be streamed without holding it whole.
#[derive(Debug, Clone)]
pub struct RowSampler<'a> {
    src: &'a [f32],
    src_shape: (usize, usize),
    dst_h: usize,
    cols: Vec<Tap>,
}

impl<'a> RowSampler<'a> {
    /// Samples a row-major `src_h × src_w` map at `dst_h × dst_w`.
    ///
    /// # Panics
    ///
    /// As [`resize_bilinear`]: a length that does not match the shape, or an empty map.
    pub fn new(
        src: &'a [f32],
        (src_h, src_w): (usize, usize),
        (dst_h, dst_w): (usize, usize),
    ) -> Self {
        assert_eq!(
            src.len(),
            src_h * src_w,
            "map length does not match its shape"
        );
        assert!(src_h > 0 && src_w > 0, "cannot resize an empty map");
        let cols = (0..dst_w).map(|i| Tap::new(i, dst_w, src_w)).collect();
        RowSampler {
            src,
            src_shape: (src_h, src_w),
            dst_h,
            cols,
        }
    }

    /// Writes destination row `y` into `out` (replacing its contents).
    pub fn row(&self, y: usize, out: &mut Vec<f32>) {
        let (src_h, src_w) = self.src_shape;
        let row = Tap::new(y, self.dst_h, src_h);
        out.clear();
        out.extend(
            self.cols
                .iter()
                .map(|col| interpolate(self.src, src_w, &row, col)),
        );
    }
}
