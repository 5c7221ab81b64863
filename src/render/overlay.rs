//! Blending the coloured heatmap over the photo, as pytorch-grad-cam's `show_cam_on_image`
//! does.

use super::Colormap;

/// Share of the photo in the blend (pytorch-grad-cam's `image_weight` default).
pub const DEFAULT_PHOTO_WEIGHT: f32 = 0.5;

/// The heatmap's share of the blend by default: what the page's opacity and the CLI's
/// `--opacity` start at (the photo gets the rest).
pub const DEFAULT_OPACITY: f32 = 1.0 - DEFAULT_PHOTO_WEIGHT;

/// `show_cam_on_image`'s blend before its division, gathering the brightest blended value
/// pixel by pixel, so that a picture too large to hold (a streamed Save) can be measured
/// row by row: `see` every pixel, then `finish`.
///
/// For a heat byte, the blend rises with the photo byte (falls, for a negative photo weight),
/// so the brightest value is the blend of each heat byte with the brightest (darkest) photo
/// byte seen beside it: `see` keeps those (per channel), and `finish` blends only them (a
/// float per pixel and channel looked up in a 256 KB table took twice as long).
#[derive(Debug, Clone)]
pub struct BlendMax {
    shares: Shares,
    /// `[channel][heat]`: 1 + the photo byte that blends brightest with that heat byte seen
    /// so far, XOR `flip`; 0 if none.
    brightest: [[u16; 256]; 3],
    /// `0xFF` where the blend falls with the photo byte (a negative photo weight), else 0:
    /// the largest `photo ^ flip` is then the photo byte that blends brightest.
    flip: u8,
}

/// `(1 − w)·heat/255` and `w·photo/255` in float32 for each byte: the two terms of the blend.
#[derive(Debug, Clone)]
struct Shares {
    heat: [f32; 256],
    photo: [f32; 256],
}

impl Shares {
    fn new(photo_weight: f32) -> Self {
        // numpy turns the Python floats 1 − w and w into float32 before multiplying.
        let (heat_share, photo_share) = ((1.0 - f64::from(photo_weight)) as f32, photo_weight);
        let unit = |b: usize| b as f32 / 255.0;
        Shares {
            heat: core::array::from_fn(|b| heat_share * unit(b)),
            photo: core::array::from_fn(|b| photo_share * unit(b)),
        }
    }

    /// `(1 − w)·heat + w·photo`, before the division by the brightest value.
    fn blend(&self, heat: u8, photo: u8) -> f32 {
        self.heat[usize::from(heat)] + self.photo[usize::from(photo)]
    }
}

impl BlendMax {
    /// For photo weight `w`.
    pub fn new(photo_weight: f32) -> Self {
        BlendMax {
            shares: Shares::new(photo_weight),
            brightest: [[0; 256]; 3],
            flip: if photo_weight < 0.0 { 0xFF } else { 0 },
        }
    }

    /// Takes one pixel's heat colour and photo colour into the maximum.
    pub fn see(&mut self, heat: [u8; 3], photo: [u8; 3]) {
        for ((brightest, h), q) in self.brightest.iter_mut().zip(heat).zip(photo) {
            let seen = &mut brightest[usize::from(h)];
            *seen = (*seen).max(u16::from(q ^ self.flip) + 1);
        }
    }

    /// The blend, divided by the brightest value seen and truncated to bytes.
    pub fn finish(self) -> CamOnImage {
        let mut max = 0.0f32;
        for brightest in &self.brightest {
            for (heat, &seen) in brightest.iter().enumerate() {
                if seen > 0 {
                    let photo = (seen - 1) as u8 ^ self.flip;
                    max = max.max(self.shares.blend(heat as u8, photo));
                }
            }
        }
        let mut table = Box::new([0u8; 256 * 256]);
        for (heat, row) in table.chunks_exact_mut(256).enumerate() {
            for (photo, out) in row.iter_mut().enumerate() {
                *out = (self.shares.blend(heat as u8, photo as u8) / max * 255.0) as u8;
            }
        }
        CamOnImage { table }
    }
}

/// pytorch-grad-cam's `show_cam_on_image(photo / 255, mask, use_rgb=True, colormap,
/// image_weight)` (utils/image.py), with every step in float32 as numpy takes it:
/// `heat = table[np.uint8(255 · mask)] / 255`, `cam = (1 − w) · heat + w · photo / 255`,
/// `cam / max(cam)` over every pixel and channel, then `np.uint8(255 · cam)` (truncated).
/// The blend of a (heat, photo) byte pair depends on nothing else, so it is tabulated.
#[derive(Debug, Clone)]
pub struct CamOnImage {
    /// Output byte for `heat · 256 + photo` (a fixed size: no index is out of bounds).
    table: Box<[u8; 256 * 256]>,
}

impl CamOnImage {
    /// The blend for `mask` (values in `[0, 1]`, one per pixel) over `photo` (RGB8,
    /// row-major) with `colormap`; the normalising maximum is taken over all of them.
    pub fn new(mask: &[f32], photo: &[u8], colormap: Colormap, photo_weight: f32) -> Self {
        Self::over(&colormap.colours(mask), photo, photo_weight)
    }

    /// The blend of `heat` (the mask's colours, RGB8) over `photo` (RGB8, the same size).
    pub fn over(heat: &[u8], photo: &[u8], photo_weight: f32) -> Self {
        let mut brightest = BlendMax::new(photo_weight);
        for (h, p) in heat.chunks_exact(3).zip(photo.chunks_exact(3)) {
            brightest.see([h[0], h[1], h[2]], [p[0], p[1], p[2]]);
        }
        brightest.finish()
    }

    /// The whole picture: `heat` blended over `photo` (both RGB8), as RGBA with alpha 255.
    pub fn picture(&self, heat: &[u8], photo: &[u8]) -> Vec<u8> {
        let mut rgba = vec![255u8; heat.len() / 3 * 4];
        let pixels = rgba.chunks_exact_mut(4).zip(heat.chunks_exact(3));
        for ((out, h), p) in pixels.zip(photo.chunks_exact(3)) {
            for c in 0..3 {
                out[c] = self.table[usize::from(h[c]) * 256 + usize::from(p[c])];
            }
        }
        rgba
    }

    /// One pixel of the result from its heat colour and photo colour.
    pub fn pixel(&self, heat: [u8; 3], photo: [u8; 3]) -> [u8; 3] {
        let at = |c: usize| self.table[usize::from(heat[c]) * 256 + usize::from(photo[c])];
        [at(0), at(1), at(2)]
    }
}

#[cfg(test)]
mod tests {
    use super::BlendMax;

    /// One channel of `show_cam_on_image`'s blend before its division, as numpy computes it
    /// in float32.
    fn numpy_blend(heat: u8, photo: u8, photo_weight: f32) -> f32 {
        let (heat_share, photo_share) = ((1.0 - f64::from(photo_weight)) as f32, photo_weight);
        let unit = |b: u8| f32::from(b) / 255.0;
        heat_share * unit(heat) + photo_share * unit(photo)
    }

    #[test]
    fn the_brightest_blend_is_found_for_any_photo_weight() {
        // Pseudo-random pixels, each heat byte seen beside many photo bytes.
        let pixels: Vec<([u8; 3], [u8; 3])> = (0u32..4000)
            .map(|i| {
                let r = i.wrapping_mul(2_654_435_761);
                let byte = |shift: u32| (r >> shift) as u8;
                (
                    [byte(0) & 0xF0, byte(8), byte(16) | 3],
                    [byte(4), byte(12), byte(20)],
                )
            })
            .collect();
        let channels = || {
            pixels
                .iter()
                .flat_map(|(h, q)| h.iter().copied().zip(q.iter().copied()))
        };
        for weight in [0.0, 0.3, 0.5, 1.0, -0.4, 1.7] {
            let mut blend = BlendMax::new(weight);
            pixels
                .iter()
                .for_each(|&(heat, photo)| blend.see(heat, photo));
            let table = blend.finish();
            let max = channels()
                .map(|(h, q)| numpy_blend(h, q, weight))
                .fold(0.0, f32::max);
            for &(heat, photo) in &pixels {
                for c in 0..3 {
                    let expected = (numpy_blend(heat[c], photo[c], weight) / max * 255.0) as u8;
                    assert_eq!(table.pixel(heat, photo)[c], expected, "weight {weight}");
                }
            }
        }
    }
}
