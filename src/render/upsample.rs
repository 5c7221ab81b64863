//! Bilinear resampling and min-max normalisation of a scalar map, alone or chained as
//! pytorch-grad-cam chains them.

/// Resizes a row-major `src_h × src_w` map to `dst_h × dst_w` with bilinear interpolation and
/// half-pixel centres, bit for bit as OpenCV's own `cv2.resize(…, INTER_LINEAR)` does on
/// float32 when upsampling (see [`Tap`]). opencv-python's x86 wheels call Intel IPP instead
/// by default, which differs from OpenCV's code by a few ulp in many pixels; OpenCV's code is
/// what `cv2.ipp.setUseIPP(False)` runs.
pub fn resize_bilinear(src: &[f32], src_shape: (usize, usize), size: (usize, usize)) -> Vec<f32> {
    let sampler = RowSampler::new(src, src_shape, size);
    let mut out = Vec::with_capacity(size.0 * size.1);
    for y in 0..size.0 {
        sampler.extend_row(y, &mut out);
    }
    out
}

/// Where destination index `i` of `dst` samples a source axis of length `src`: the two
/// neighbouring source indices and the weight of the second, as OpenCV computes them
/// (`resize.cpp`, `resizeGeneric`): position `(float)((i + 0.5) · scale − 0.5)` with
/// `scale = 1 / (dst / src)` in double, split into its floor and fraction in float.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tap {
    lo: usize,
    hi: usize,
    frac: f32,
}

impl Tap {
    fn position(i: usize, dst: usize, src: usize) -> (isize, f32) {
        let scale = 1.0 / (dst as f64 / src as f64);
        let x = ((i as f64 + 0.5) * scale - 0.5) as f32;
        let floor = x.floor();
        (floor as isize, x - floor)
    }

    /// A tap of the horizontal pass: past either edge OpenCV takes the edge column with
    /// weight 0 for its neighbour.
    pub(super) fn column(i: usize, dst: usize, src: usize) -> Tap {
        let (x, frac) = Self::position(i, dst, src);
        let last = src - 1;
        match x {
            x if x < 0 => Tap::at(0, last, 0.0),
            x if x as usize >= last => Tap::at(last, last, 0.0),
            x => Tap::at(x as usize, last, frac),
        }
    }

    /// A tap of the vertical pass: OpenCV clamps both rows to the map but keeps the fraction.
    pub(super) fn row(i: usize, dst: usize, src: usize) -> Tap {
        let (y, frac) = Self::position(i, dst, src);
        let clamp = |r: isize| r.clamp(0, src as isize - 1) as usize;
        Tap {
            lo: clamp(y),
            hi: clamp(y + 1),
            frac,
        }
    }

    /// A column tap's horizontal blend of one source row.
    fn across(&self, row: &[f32]) -> f32 {
        row[self.lo] * (1.0 - self.frac) + row[self.hi] * self.frac
    }

    /// A row tap's vertical blend of the two source rows' horizontal blends.
    fn down(&self, top: f32, bottom: f32) -> f32 {
        top * (1.0 - self.frac) + bottom * self.frac
    }

    fn at(lo: usize, last: usize, frac: f32) -> Tap {
        Tap {
            lo,
            hi: (lo + 1).min(last),
            frac,
        }
    }
}

/// The bilinear value at one destination pixel (row tap, column tap) of a row-major map:
/// each row's horizontal blend, then the vertical one, in OpenCV's order of float operations.
pub(super) fn interpolate(src: &[f32], src_w: usize, row: &Tap, col: &Tap) -> f32 {
    let line = |y: usize| col.across(&src[y * src_w..][..src_w]);
    row.down(line(row.lo), line(row.hi))
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

/// The map's `(min, max)`, or `None` when it is flat: every value equal to float rounding
/// (for the CAM methods, all zero after their ReLU: no positive evidence for the class). The
/// one flatness rule: the renderer draws a flat map as the plain photo, and the CLI and the
/// page say so.
pub fn spread(map: &[f32]) -> Option<(f32, f32)> {
    let (min, max) = map
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let range = max - min;
    (range.is_finite() && range > f32::EPSILON * max.abs().max(1e-30)).then_some((min, max))
}

/// Scales `map` in place to `[0, 1]` by its own minimum and maximum.
pub fn min_max_normalize(map: &mut [f32]) -> Normalized {
    let Some((min, max)) = spread(map) else {
        map.fill(0.0);
        return Normalized::Flat;
    };
    let range = max - min;
    for v in map.iter_mut() {
        *v = (*v - min) / range;
    }
    Normalized::Scaled { min, max }
}

/// pytorch-grad-cam's `scale_cam_image` on one map: `(x − min) / (1e-7 + max(x − min))`, in
/// float32.
pub fn scale_like_pytorch_grad_cam(map: &mut [f32]) {
    let min = map.iter().copied().fold(f32::INFINITY, f32::min);
    map.iter_mut().for_each(|v| *v -= min);
    let max = map.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    map.iter_mut().for_each(|v| *v /= 1e-7 + max);
}

/// A feature-resolution map brought to `size` (`(height, width)`) as pytorch-grad-cam brings
/// one layer's map to the input for `show_cam_on_image` (base_cam.py,
/// `compute_cam_per_layer` and `aggregate_multi_layers`): [`scale_like_pytorch_grad_cam`],
/// [`resize_bilinear`], then [`scale_like_pytorch_grad_cam`] again (their `np.maximum(·, 0)`
/// in between changes nothing: bilinear weights are non-negative). Returns the map and, as
/// `Scaled`, the raw values that 0 and 1 now stand for (the upsampled map's range).
///
/// Where pytorch-grad-cam would divide a flat map by 1e-7 (a uniform colour-0 tint), this
/// returns zeros and [`Normalized::Flat`] (by [`min_max_normalize`]'s test), so the caller
/// can say there is nothing to show.
///
/// # Panics
///
/// If `cam.len() != cam_h × cam_w` or the map is empty (as [`resize_bilinear`]).
pub fn normalize_like_pytorch_grad_cam(
    cam: &[f32],
    cam_shape: (usize, usize),
    size: (usize, usize),
) -> (Vec<f32>, Normalized) {
    let flat = || (vec![0.0; size.0 * size.1], Normalized::Flat);
    let Normalized::Scaled { min, max } = min_max_normalize(&mut cam.to_vec()) else {
        return flat();
    };
    let mut scaled = cam.to_vec();
    scale_like_pytorch_grad_cam(&mut scaled);
    let mut map = resize_bilinear(&scaled, cam_shape, size);
    let (lo, hi) = map
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if hi <= lo {
        return flat();
    }
    // scale_like_pytorch_grad_cam in one pass: its minimum is `lo`, and as rounding keeps
    // order, the largest `v − lo` is `hi − lo` rounded.
    let divisor = 1e-7 + (hi - lo);
    map.iter_mut().for_each(|v| *v = (*v - lo) / divisor);
    // The first scaling is affine and bilinear weights sum to 1: raw = min + v · (1e-7 + span).
    let unit = 1e-7 + (max - min);
    let normalized = Normalized::Scaled {
        min: min + lo * unit,
        max: min + hi * unit,
    };
    (map, normalized)
}

/// The rows of [`resize_bilinear`]'s output one at a time, bit for bit the same values, so a
/// full-resolution map can be streamed without holding it whole. Each source row's
/// horizontal blend is computed once for every destination column (what [`interpolate`]
/// computes first, the same float operations), so a destination row is one vertical blend
/// of two of them.
#[derive(Debug, Clone)]
pub struct RowSampler {
    src_h: usize,
    dst_h: usize,
    dst_w: usize,
    /// `[src_h, dst_w]`: each source row resampled across.
    across: Vec<f32>,
}

impl RowSampler {
    /// Samples a row-major `src_h × src_w` map at `dst_h × dst_w`.
    ///
    /// # Panics
    ///
    /// As [`resize_bilinear`]: a length that does not match the shape, or an empty map.
    pub fn new(
        src: &[f32],
        (src_h, src_w): (usize, usize),
        (dst_h, dst_w): (usize, usize),
    ) -> Self {
        assert_eq!(
            src.len(),
            src_h * src_w,
            "map length does not match its shape"
        );
        assert!(src_h > 0 && src_w > 0, "cannot resize an empty map");
        let cols: Vec<Tap> = (0..dst_w).map(|i| Tap::column(i, dst_w, src_w)).collect();
        let across = src
            .chunks_exact(src_w)
            .flat_map(|row| cols.iter().map(|col| col.across(row)))
            .collect();
        RowSampler {
            src_h,
            dst_h,
            dst_w,
            across,
        }
    }

    /// Writes destination row `y` into `out` (replacing its contents).
    pub fn row(&self, y: usize, out: &mut Vec<f32>) {
        out.clear();
        self.extend_row(y, out);
    }

    /// Appends destination row `y` to `out`.
    fn extend_row(&self, y: usize, out: &mut Vec<f32>) {
        let row = Tap::row(y, self.dst_h, self.src_h);
        let top = &self.across[row.lo * self.dst_w..][..self.dst_w];
        let bottom = &self.across[row.hi * self.dst_w..][..self.dst_w];
        out.extend(
            top.iter()
                .zip(bottom)
                .map(|(&top, &bottom)| row.down(top, bottom)),
        );
    }
}
