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

/// Colour of a value in `[0, 1]` (clamped), quantised to 8 bits as pytorch-grad-cam's
/// `show_cam_on_image` does before OpenCV's table look-up: `np.uint8(255 · v)`, which
/// truncates.
pub fn jet(value: f32) -> [u8; 3] {
    JET[table_index(value)]
}

/// `⌊clamp(value, 0, 1) × 255⌋` with the product in float32, as `np.uint8(255 * mask)` on a
/// float32 mask (NaN gives 0).
fn table_index(value: f32) -> usize {
    (value.clamp(0.0, 1.0) * 255.0) as usize
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

    /// The colour of the strongest values in words, for a caption ("red = strongest").
    pub fn strongest(self) -> &'static str {
        match self {
            Colormap::Jet | Colormap::Turbo => "dark red",
            Colormap::Viridis => "yellow",
            Colormap::Inferno => "pale yellow",
            Colormap::Grey => "white",
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

    /// Colour of a value in `[0, 1]` (clamped; NaN gives entry 0), quantised like [`jet`]
    /// (truncated, as pytorch-grad-cam does).
    pub fn color(self, value: f32) -> [u8; 3] {
        self.table()[table_index(value)]
    }

    /// [`Colormap::color`] of every value, as RGB8 (three bytes per value).
    pub fn colours(self, values: &[f32]) -> Vec<u8> {
        let table = self.table();
        let mut rgb = vec![0u8; values.len() * 3];
        for (out, &v) in rgb.chunks_exact_mut(3).zip(values) {
            out.copy_from_slice(&table[table_index(v)]);
        }
        rgb
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
    fn table_index_truncates_like_numpy_uint8() {
        assert_eq!(table_index(0.5), 127, "127.5 truncates");
        assert_eq!(table_index(1.0), 255);
        assert_eq!(
            table_index(1.0 / (1.0 + 1e-7)),
            254,
            "scale_cam_image's peak"
        );
        // k/255 in float32, times 255, lands on k for every byte (as in numpy).
        (0..=255u8).for_each(|k| assert_eq!(table_index(f32::from(k) / 255.0), usize::from(k)));
        [f32::NAN, -1.0, f32::NEG_INFINITY]
            .into_iter()
            .for_each(|v| assert_eq!(table_index(v), 0, "{v}"));
        assert_eq!(table_index(f32::INFINITY), 255);
    }
}
