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
#[derive(Debug, Clone)]
pub struct BlendMax {
    /// `(1 − w)·heat + w·photo` in float32 for every (heat, photo) byte pair.
    blended: Vec<f32>,
    max: f32,
}

impl BlendMax {
    /// For photo weight `w`.
    pub fn new(photo_weight: f32) -> Self {
        // numpy turns the Python floats 1 − w and w into float32 before multiplying.
        let (heat_share, photo_share) = ((1.0 - f64::from(photo_weight)) as f32, photo_weight);
        let unit = |b: usize| b as f32 / 255.0;
        let blended = (0..256 * 256)
            .map(|i| heat_share * unit(i / 256) + photo_share * unit(i % 256))
            .collect();
        BlendMax { blended, max: 0.0 }
    }

    /// Takes one pixel's heat colour and photo colour into the maximum.
    pub fn see(&mut self, heat: [u8; 3], photo: [u8; 3]) {
        for (h, q) in heat.into_iter().zip(photo) {
            self.max = self
                .max
                .max(self.blended[usize::from(h) * 256 + usize::from(q)]);
        }
    }

    /// The blend, divided by the brightest value seen and truncated to bytes.
    pub fn finish(self) -> CamOnImage {
        let max = self.max;
        let table = self
            .blended
            .iter()
            .map(|v| (v / max * 255.0) as u8)
            .collect();
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
    /// Output byte for `heat · 256 + photo`.
    table: Vec<u8>,
}

impl CamOnImage {
    /// The blend for `mask` (values in `[0, 1]`, one per pixel) over `photo` (RGB8,
    /// row-major) with `colormap`; the normalising maximum is taken over all of them.
    pub fn new(mask: &[f32], photo: &[u8], colormap: Colormap, photo_weight: f32) -> Self {
        let mut brightest = BlendMax::new(photo_weight);
        for (&v, p) in mask.iter().zip(photo.chunks_exact(3)) {
            brightest.see(colormap.color(v), [p[0], p[1], p[2]]);
        }
        brightest.finish()
    }

    /// One pixel of the result from its heat colour and photo colour.
    pub fn pixel(&self, heat: [u8; 3], photo: [u8; 3]) -> [u8; 3] {
        let at = |c: usize| self.table[usize::from(heat[c]) * 256 + usize::from(photo[c])];
        [at(0), at(1), at(2)]
    }
}
