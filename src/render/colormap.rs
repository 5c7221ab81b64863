//! OpenCV's `COLORMAP_JET`, rebuilt from its piecewise-linear definition.
//!
//! OpenCV's 8-bit table is four ramps of slope 4 per step: blue rises from 128 to 255 over
//! indices 0–32, green rises over 32–96, blue falls and red rises over 96–160, green falls over
//! 160–224 and red falls to 128 over 224–255. The table rounds one entry differently from the
//! ramp (index 159, blue 1 rather than 2); we keep OpenCV's value so heatmaps are identical.

/// `JET[v]` is the RGB colour OpenCV's `applyColorMap(v, COLORMAP_JET)` gives (after its BGR
/// output is reordered to RGB).
pub const JET: [[u8; 3]; 256] = build_jet();

/// Colour of a value in `[0, 1]` (clamped), quantised to 8 bits as OpenCV does (`v × 255`,
/// rounded) before the table look-up.
pub fn jet(value: f32) -> [u8; 3] {
    let index = (value.clamp(0.0, 1.0) * 255.0).round() as usize;
    JET[index]
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
