//! Colour maps: OpenCV's `COLORMAP_JET`, rebuilt from its piecewise-linear definition, and
//! the [`Colormap`] choice (matplotlib's tables live in `colormap_tables.rs`).
//!
//! OpenCV's 8-bit table is four ramps of slope 4 per step: blue rises from 128 to 255 over
//! indices 0–32, green rises over 32–96, blue falls and red rises over 96–160, green falls over
//! 160–224 and red falls to 128 over 224–255. The table rounds one entry differently from the
//! ramp (index 159, blue 1 rather than 2); we keep OpenCV's value so heatmaps are identical.

use super::colormap_tables::{INFERNO, TURBO, VIRIDIS};

/// `JET[v]` is the RGB colour OpenCV's `applyColorMap(v, COLORMAP_JET)` gives (after its BGR
/// output is reordered to RGB).
pub const JET: [[u8; 3]; 256] = build_jet();

/// Colour of a value in `[0, 1]` (clamped), quantised to 8 bits as OpenCV does (`v × 255`,
/// rounded) before the table look-up.
pub fn jet(value: f32) -> [u8; 3] {
    JET[table_index(value)]
}

/// `round(clamp(value, 0, 1) × 255)`, rounding halves up as `f32::round` does. `round` is a
/// library call in wasm; `floor` of the exact f64 sum is one instruction and gives the same
/// index for every non-negative input (NaN gives 0 either way).
fn table_index(value: f32) -> usize {
    (f64::from(value.clamp(0.0, 1.0) * 255.0) + 0.5).floor() as usize
}

const fn ramp_up(i: i32, start: i32) -> i32 {
    clamp_u8(4 * (i - start))
}

const fn clamp_u8(v: i32) -> i32 {
    if v < 0 {
        0
    } else if v > 255 {
        255
    } else {
        v
    }
}

const fn build_jet() -> [[u8; 3]; 256] {
    let mut table = [[0u8; 3]; 256];
    let mut i = 0;
    while i < 256 {
        let x = i as i32;
        let (r, g, b) = if x < 32 {
            (0, 0, 128 + 4 * x)
        } else if x < 96 {
            (0, ramp_up(x, 32), 255)
        } else if x < 160 {
            // Red climbs 2, 6, …, 254 while blue falls 254, 250, …, 2.
            (2 + 4 * (x - 96), 255, 254 - 4 * (x - 96))
        } else if x < 224 {
            (255, 252 - 4 * (x - 160), 0)
        } else {
            (252 - 4 * (x - 224), 0, 0)
        };
        table[i] = [clamp_u8(r) as u8, clamp_u8(g) as u8, clamp_u8(b) as u8];
        i += 1;
    }
    // OpenCV's table rounds this entry down (1 instead of the ramp's 2).
    table[159][2] = 1;
    table
}

/// A colour map for the heatmap: OpenCV's JET (the default, as pytorch-grad-cam draws),
/// matplotlib's turbo, viridis and inferno, or plain grey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Colormap {
    /// OpenCV's `COLORMAP_JET` ([`JET`]).
    #[default]
    Jet,
    /// Matplotlib's turbo: a smoother rainbow.
    Turbo,
    /// Matplotlib's viridis: perceptually uniform, colour-blind friendly.
    Viridis,
    /// Matplotlib's inferno: perceptually uniform, black to pale yellow.
    Inferno,
    /// Grey ramp, `v → (v, v, v)`.
    Grey,
}

/// A colour-map name [`Colormap::from_str`](std::str::FromStr) does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown colour map {0:?} (expected jet, turbo, viridis, inferno or grey)")]
pub struct UnknownColormap(pub String);

const GREY: [[u8; 3]; 256] = build_grey();

const fn build_grey() -> [[u8; 3]; 256] {
    let mut table = [[0u8; 3]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [i as u8; 3];
        i += 1;
    }
    table
}

impl Colormap {
    /// Every colour map, default first.
    pub const ALL: [Colormap; 5] = [
        Colormap::Jet,
        Colormap::Turbo,
        Colormap::Viridis,
        Colormap::Inferno,
        Colormap::Grey,
    ];

    /// Lower-case name, as [`FromStr`](std::str::FromStr) accepts it.
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Jet => "jet",
            Colormap::Turbo => "turbo",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Grey => "grey",
        }
    }

    /// The 256-entry RGB table.
    pub fn table(self) -> &'static [[u8; 3]; 256] {
        match self {
            Colormap::Jet => &JET,
            Colormap::Turbo => &TURBO,
            Colormap::Viridis => &VIRIDIS,
            Colormap::Inferno => &INFERNO,
            Colormap::Grey => &GREY,
        }
    }

    /// Colour of a value in `[0, 1]` (clamped; NaN gives entry 0), quantised like [`jet`].
    pub fn color(self, value: f32) -> [u8; 3] {
        self.table()[table_index(value)]
    }
}

impl std::fmt::Display for Colormap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Colormap {
    type Err = UnknownColormap;

    /// Parses a name, case-insensitively; `gray` is accepted for `grey`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "gray" {
            return Ok(Colormap::Grey);
        }
        Colormap::ALL
            .into_iter()
            .find(|c| c.name() == lower)
            .ok_or_else(|| UnknownColormap(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::table_index;

    #[test]
    fn table_index_rounds_exactly_like_f32_round() {
        // Every f32 in [0, 1] would take too long; all 2^23 steps of [0.5, 1) and a sweep of
        // the rest, halves included, cover the rounding boundaries.
        let check = |v: f32| {
            let expected = (v.clamp(0.0, 1.0) * 255.0).round() as usize;
            assert_eq!(table_index(v), expected, "{v}");
        };
        (0..=(1u32 << 23)).for_each(|i| check(0.5 + i as f32 / (1u32 << 24) as f32));
        (0..=1_000_000u32).for_each(|i| check(i as f32 / 1_000_000.0));
        (0..=510u32).for_each(|i| check(i as f32 / 510.0));
        [f32::NAN, -1.0, 2.0, f32::INFINITY, f32::NEG_INFINITY]
            .into_iter()
            .for_each(check);
    }
}
