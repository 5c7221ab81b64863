//! Colour management: a photo tagged with an ICC profile (Display P3 from phones, Adobe RGB
//! from cameras) is converted to sRGB, the space the networks were trained in and the page
//! shows, before anything looks at its pixels.

use image::RgbImage;
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

/// Converts `rgb`, whose values are in the colour space of the ICC profile `icc`, to sRGB in
/// place, one row at a time (no second copy of a large photo). Returns whether it converted:
/// a profile that cannot be read, or that does not describe RGB (a grey or CMYK profile on a
/// photo the decoder already turned into RGB), leaves the pixels as they are, as browsers do.
pub fn convert_to_srgb(rgb: &mut RgbImage, icc: &[u8]) -> bool {
    let Ok(source) = ColorProfile::new_from_slice(icc) else {
        return false;
    };
    if source.color_space != DataColorSpace::Rgb {
        return false;
    }
    let srgb = ColorProfile::new_srgb();
    let Ok(transform) =
        source.create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, TransformOptions::default())
    else {
        return false;
    };
    let row_bytes = rgb.width() as usize * 3;
    let mut row = vec![0u8; row_bytes];
    for pixels in rgb.chunks_exact_mut(row_bytes) {
        row.copy_from_slice(pixels);
        if transform.transform(&row, pixels).is_err() {
            return false;
        }
    }
    true
}
