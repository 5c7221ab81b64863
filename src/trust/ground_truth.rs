//! Ground truth the user drew: how much of the map falls on the object inside a box. The
//! pointing game (Zhang et al. 2018, "Top-down neural attention by excitation backprop"),
//! the energy-based pointing game (Wang et al. 2020, "Score-CAM") and relevance mass
//! accuracy (Arras et al. 2022, "CLEVR-XAI"), all on the map upsampled to the photo exactly
//! as it is drawn, streamed a row at a time (no full-resolution map is held).

use serde::Serialize;

use crate::render::{HotBox, RowSampler, spread};

/// The pointing game's tolerance in photo pixels (Zhang et al. 2018): a peak at most this
/// far outside the box still counts as a hit.
pub const POINTING_TOLERANCE: u32 = 15;

/// How the map sits on a box in photo pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Localisation {
    /// The box, in photo pixels (clipped to the photo).
    #[serde(rename = "box")]
    pub region: HotBox,
    /// The map's strongest photo pixel `[x, y]` (the first in raster order on a tie);
    /// `None` for a flat map, which points nowhere.
    pub peak: Option<[u32; 2]>,
    /// Pointing game: the peak lies in the box, or within [`POINTING_TOLERANCE`] of it.
    pub hit: bool,
    /// Energy-based pointing game: the share of the min-max normalised map's sum inside the
    /// box; `None` for a flat map.
    pub energy: Option<f64>,
    /// Relevance mass accuracy: the share of the map's positive mass inside the box; `None`
    /// when nothing is positive.
    pub relevance_mass: Option<f64>,
    /// The share of the photo the box covers: what a map spread evenly would score as
    /// energy and relevance mass.
    pub box_share: f64,
}

/// Scores a row-major `cam_shape` map against `region` (photo pixels) of a `photo`
/// `(width, height)`; the map is upsampled to the photo as the renderer draws it.
///
/// # Panics
///
/// As [`RowSampler::new`]: a map whose length does not match its shape, or an empty map.
pub fn localise(
    map: &[f32],
    cam_shape: (usize, usize),
    (photo_w, photo_h): (u32, u32),
    region: HotBox,
) -> Localisation {
    let region = clip(region, (photo_w, photo_h));
    let inside = |x: u32, y: u32| {
        (region.x..region.x + region.width).contains(&x)
            && (region.y..region.y + region.height).contains(&y)
    };
    let sampler = RowSampler::new(map, cam_shape, (photo_h as usize, photo_w as usize));
    let mut sums = Sums::default();
    let mut row = Vec::with_capacity(photo_w as usize);
    for y in 0..photo_h {
        sampler.row(y as usize, &mut row);
        for (x, &v) in (0u32..).zip(&row) {
            sums.add(v, (x, y), inside(x, y));
        }
    }
    let pixels = f64::from(photo_w) * f64::from(photo_h);
    let in_box = f64::from(region.width) * f64::from(region.height);
    let flat = spread(&[sums.min, sums.max]).is_none();
    let peak = (!flat).then_some([sums.peak.0, sums.peak.1]);
    let energy = (!flat).then(|| {
        let min = f64::from(sums.min);
        (sums.inside - in_box * min) / (sums.total - pixels * min)
    });
    Localisation {
        region,
        peak,
        hit: peak.is_some_and(|[x, y]| near(region, x, y, POINTING_TOLERANCE)),
        energy,
        relevance_mass: (sums.positive > 0.0).then(|| sums.positive_inside / sums.positive),
        box_share: in_box / pixels,
    }
}

/// Running sums over the upsampled map.
struct Sums {
    min: f32,
    max: f32,
    peak: (u32, u32),
    total: f64,
    inside: f64,
    positive: f64,
    positive_inside: f64,
}

impl Default for Sums {
    fn default() -> Self {
        Sums {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            peak: (0, 0),
            total: 0.0,
            inside: 0.0,
            positive: 0.0,
            positive_inside: 0.0,
        }
    }
}

impl Sums {
    fn add(&mut self, v: f32, at: (u32, u32), inside: bool) {
        if v > self.max {
            self.max = v;
            self.peak = at;
        }
        self.min = self.min.min(v);
        let (v, positive) = (f64::from(v), f64::from(v.max(0.0)));
        self.total += v;
        self.positive += positive;
        if inside {
            self.inside += v;
            self.positive_inside += positive;
        }
    }
}

/// `b` clipped to a `(width, height)` photo, at least one pixel.
fn clip(b: HotBox, (w, h): (u32, u32)) -> HotBox {
    let x = b.x.min(w.saturating_sub(1));
    let y = b.y.min(h.saturating_sub(1));
    HotBox {
        x,
        y,
        width: b.width.clamp(1, w.saturating_sub(x).max(1)),
        height: b.height.clamp(1, h.saturating_sub(y).max(1)),
    }
}

/// Whether `(x, y)` is in `b` grown by `margin` on every side.
fn near(b: HotBox, x: u32, y: u32, margin: u32) -> bool {
    let within = |v: u32, start: u32, len: u32| {
        v + margin >= start && v <= start.saturating_add(len - 1).saturating_add(margin)
    };
    within(x, b.x, b.width) && within(y, b.y, b.height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::resize_bilinear;

    fn region(x: u32, y: u32, width: u32, height: u32) -> HotBox {
        HotBox {
            x,
            y,
            width,
            height,
        }
    }

    /// The same scores the slow way: the whole map upsampled by the renderer's
    /// `resize_bilinear` (OpenCV-exact), then plain sums over it.
    fn reference(map: &[f32], shape: (usize, usize), photo: (u32, u32), b: HotBox) -> [f64; 3] {
        let (w, h) = (photo.0 as usize, photo.1 as usize);
        let up = resize_bilinear(map, shape, (h, w));
        let (min, max) = up
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let mut sums = [0.0f64; 4];
        for (i, &v) in up.iter().enumerate() {
            let (x, y) = ((i % w) as u32, (i / w) as u32);
            let n = f64::from((v - min) / (max - min));
            let inside = x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height;
            sums[0] += n;
            sums[2] += f64::from(v.max(0.0));
            if inside {
                sums[1] += n;
                sums[3] += f64::from(v.max(0.0));
            }
        }
        let share = f64::from(b.width * b.height) / (w * h) as f64;
        [sums[1] / sums[0], sums[3] / sums[2], share]
    }

    #[test]
    fn scores_equal_the_sums_over_the_whole_upsampled_map() {
        // A 4×5 map with negatives, on a 37×29 photo, against a box off-centre.
        let map: Vec<f32> = (0..20).map(|i| ((i * 7) % 11) as f32 - 3.0).collect();
        let b = region(5, 3, 17, 12);
        let got = localise(&map, (4, 5), (37, 29), b);
        let [energy, mass, share] = reference(&map, (4, 5), (37, 29), b);
        assert!(
            (got.energy.unwrap() - energy).abs() < 1e-5,
            "{got:?} vs {energy}"
        );
        assert!(
            (got.relevance_mass.unwrap() - mass).abs() < 1e-9,
            "{got:?} vs {mass}"
        );
        assert!((got.box_share - share).abs() < 1e-12);
        assert_eq!(got.region, b);
    }

    #[test]
    fn the_peak_decides_the_pointing_game_with_its_tolerance() {
        // One hot cell of a 4×4 map on a 400×400 photo: its centre is photo pixel ≈ (250, 150).
        let mut map = vec![0.0f32; 16];
        map[4 + 2] = 1.0; // row 1, column 2
        let on = localise(&map, (4, 4), (400, 400), region(200, 100, 100, 100));
        let peak = on.peak.unwrap();
        assert!(on.hit, "{on:?}");
        assert!(
            (200..300).contains(&peak[0]) && (100..200).contains(&peak[1]),
            "{peak:?}"
        );
        // Just outside, within the tolerance: still a hit; further away: a miss.
        let beside = region(peak[0] + POINTING_TOLERANCE, peak[1] - 10, 50, 20);
        assert!(localise(&map, (4, 4), (400, 400), beside).hit);
        let away = region(peak[0] + POINTING_TOLERANCE + 1, peak[1] - 10, 50, 20);
        let missed = localise(&map, (4, 4), (400, 400), away);
        assert!(!missed.hit, "{missed:?}");
        assert!(on.energy.unwrap() > on.box_share, "{on:?}");
        let corner = localise(&map, (4, 4), (400, 400), region(0, 300, 100, 100));
        assert!(corner.energy.unwrap() < corner.box_share, "{corner:?}");
    }

    #[test]
    fn an_even_map_scores_the_box_share_and_a_flat_one_points_nowhere() {
        // A map that varies down the photo only, and a box of its whole height and a quarter
        // of its width: every column holds the same mass, so both shares are the box's.
        let ramp = [1.0f32, 1.0, 2.0, 3.0];
        let b = region(0, 0, 10, 40);
        let got = localise(&ramp, (4, 1), (40, 40), b);
        assert!((got.energy.unwrap() - 0.25).abs() < 1e-9, "{got:?}");
        assert!((got.relevance_mass.unwrap() - 0.25).abs() < 1e-9, "{got:?}");
        let flat = localise(&[0.5; 4], (2, 2), (40, 40), b);
        assert_eq!((flat.peak, flat.hit, flat.energy), (None, false, None));
        assert_eq!(flat.relevance_mass, Some(0.25));
        assert_eq!(flat.box_share, 0.25);
        let zero = localise(&[0.0; 4], (2, 2), (40, 40), b);
        assert_eq!(
            zero.relevance_mass, None,
            "nothing positive: no mass to share"
        );
    }

    #[test]
    fn a_box_past_the_photo_is_clipped() {
        let got = localise(&[1.0, 2.0], (1, 2), (10, 10), region(8, 9, 50, 50));
        assert_eq!(got.region, region(8, 9, 2, 1));
        let got = localise(&[1.0, 2.0], (1, 2), (10, 10), region(30, 30, 0, 0));
        assert_eq!(got.region, region(9, 9, 1, 1));
    }
}
