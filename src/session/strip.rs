//! The Trust panel's sanity-check strip: the map under test beside the maps the sanity
//! checks compared with it (another class, re-initialised weights), each drawn over a small
//! copy of the photo as the page draws its overlay, with its similarity to the original.

use serde::Serialize;

use crate::display::{DisplayBox, Fit, downscale_area};
use crate::imageio::Photo;
use crate::model::labels::Labels;
use crate::render::{ViewOptions, render_view};
use crate::trust::SanityMap;

/// The largest width and height of a strip picture, in pixels.
pub const STRIP_PICTURE_SIZE: u32 = 160;

/// One picture of the strip. The pixels travel beside the JSON (as bitmaps in the page).
#[derive(Debug, Clone, Serialize)]
pub struct StripPicture {
    /// What the picture shows ("this map", "every weight random", …).
    pub label: String,
    /// Spearman rank correlation with the map under test (`None` for that map itself; NaN,
    /// written as `null`, when a map is flat).
    pub spearman: Option<f64>,
    /// Mean SSIM with the map under test.
    pub ssim: Option<f64>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA pixels, row-major.
    #[serde(skip)]
    pub rgba: Vec<u8>,
}

/// The strip for `original` (the map under test at the input's resolution `size`, as
/// `trust::map_at_input` gives it) and the sanity `maps` of the same size, drawn over
/// `photo` with the default view (JET overlay, min-max). Empty without sanity maps.
pub fn sanity_strip(
    photo: &Photo,
    original: &[f32],
    size: (usize, usize),
    maps: &[SanityMap],
    labels: &Labels,
) -> Vec<StripPicture> {
    if maps.is_empty() {
        return Vec::new();
    }
    let target = DisplayBox::new(STRIP_PICTURE_SIZE, Some(STRIP_PICTURE_SIZE))
        .expect("the strip's box is not empty");
    let fit = Fit::new((photo.width(), photo.height()), target);
    let small = downscale_area(&photo.rgb, fit.display);
    let options = ViewOptions::default();
    let picture = |label: String, map: &[f32], similarity: Option<(f64, f64)>| {
        let view = render_view(&small, map, size, &options);
        StripPicture {
            label,
            spearman: similarity.map(|s| s.0),
            ssim: similarity.map(|s| s.1),
            width: view.width,
            height: view.height,
            rgba: view.rgba,
        }
    };
    let mut strip = vec![picture("this map".to_owned(), original, None)];
    strip.extend(maps.iter().map(|m| {
        let s = m.similarity;
        picture(m.check.describe(labels), &m.map, Some((s.spearman, s.ssim)))
    }));
    strip
}

#[cfg(test)]
mod tests {
    use image::RgbImage;

    use super::*;
    use crate::trust::{SanityCheck, Similarity};

    fn photo(width: u32, height: u32) -> Photo {
        Photo {
            rgb: RgbImage::from_pixel(width, height, image::Rgb([90, 90, 90])),
        }
    }

    /// A map hot at the left edge (`left`) or at the right edge.
    fn ramp(left: bool) -> Vec<f32> {
        (0..16 * 16)
            .map(|i| {
                let x = (i % 16) as f32 / 15.0;
                if left { 1.0 - x } else { x }
            })
            .collect()
    }

    #[test]
    fn each_map_is_drawn_over_the_fitted_photo_with_its_numbers() {
        let maps = [SanityMap {
            check: SanityCheck::Randomised,
            similarity: Similarity {
                spearman: -1.0,
                ssim: 0.25,
            },
            map: ramp(false),
        }];
        let strip = sanity_strip(
            &photo(640, 320),
            &ramp(true),
            (16, 16),
            &maps,
            &Labels::for_classes(10),
        );
        assert_eq!(strip.len(), 2);
        assert_eq!(strip[0].label, "this map");
        assert_eq!((strip[0].spearman, strip[0].ssim), (None, None));
        assert_eq!(strip[1].label, "every weight random");
        assert_eq!((strip[1].spearman, strip[1].ssim), (Some(-1.0), Some(0.25)));
        for p in &strip {
            assert_eq!((p.width, p.height), (160, 80));
            assert_eq!(p.rgba.len(), 160 * 80 * 4);
        }
        // JET: the hot side is red, the cold side blue, mirrored between the two maps.
        let px = |p: &StripPicture, x: usize| p.rgba[(40 * 160 + x) * 4..][..3].to_vec();
        let (hot, cold) = (px(&strip[0], 2), px(&strip[0], 157));
        assert!(hot[0] > hot[2] && cold[2] > cold[0], "{hot:?} {cold:?}");
        let mirrored = px(&strip[1], 157);
        assert!(hot.iter().zip(&mirrored).all(|(a, b)| a.abs_diff(*b) <= 1));
    }

    #[test]
    fn no_sanity_maps_no_strip() {
        let strip = sanity_strip(
            &photo(8, 8),
            &ramp(true),
            (16, 16),
            &[],
            &Labels::for_classes(2),
        );
        assert!(strip.is_empty());
    }
}
