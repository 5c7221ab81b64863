//! Configurable rendering of a CAM over its photo: colour map, scaling, a threshold that
//! keeps only the hot region (outlined, with the largest region boxed), overlay or heatmap.
//!
//! The default view (JET, min-max, overlay, no threshold) is pytorch-grad-cam's picture:
//! `show_cam_on_image(photo / 255, mask, use_rgb=True, image_weight=w)` on the mask its
//! `BaseCAM` makes for one layer at the photo's size, bit for bit (pinned by
//! `tests/fixtures/overlay/`). The other choices keep the same steps where they apply: the
//! colour index truncates `255 · v`, and overlays blend with [`CamOnImage`].

use image::RgbImage;

use super::region::HotMask;
use super::{
    CamOnImage, Colormap, DEFAULT_PHOTO_WEIGHT, Normalized, normalize_like_pytorch_grad_cam,
    resize_bilinear,
};

/// Colour of the hot region's outline.
const CONTOUR: [u8; 3] = [255, 255, 255];
/// Colour of the largest hot region's bounding box.
const BOX: [u8; 3] = [255, 230, 0];

/// How raw map values become `[0, 1]` before colouring.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Scale {
    /// By the map's own minimum and maximum, as pytorch-grad-cam scales
    /// ([`normalize_like_pytorch_grad_cam`]).
    #[default]
    MinMax,
    /// `v / max`, clamped to `[0, 1]`: a fixed scale shared by several maps. A `max` that is
    /// not finite and positive, or a map with no positive value, counts as flat.
    Absolute {
        /// The raw value drawn at full intensity.
        max: f32,
    },
}

impl Scale {
    /// Where a raw map value sits on the colour scale, 0–1: by the drawn map's `range`
    /// (min-max; 0 without one, a flat map) or by the fixed maximum (absolute; 0 when it is
    /// not finite and positive). What the page's read-out calls "% of the colour scale".
    pub fn share(self, value: f32, range: Option<(f32, f32)>) -> f32 {
        let share = match self {
            Scale::MinMax => match range {
                Some((lo, hi)) if hi > lo => (value - lo) / (hi - lo),
                _ => 0.0,
            },
            Scale::Absolute { max } if max.is_finite() && max > 0.0 => value / max,
            Scale::Absolute { .. } => 0.0,
        };
        if share.is_finite() {
            share.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// What is drawn under the colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewMode {
    /// The heatmap blended over the photo.
    #[default]
    Overlay,
    /// The colours alone, no photo.
    Heatmap,
}

/// How [`render_view`] draws a map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewOptions {
    /// Colour map for the scaled values.
    pub colormap: Colormap,
    /// Share of the photo in the overlay blend (ignored in [`ViewMode::Heatmap`]).
    pub photo_weight: f32,
    /// How raw values are brought to `[0, 1]`.
    pub scale: Scale,
    /// Only scaled values `≥ t` (for min-max scaling: `≥ t ×` the scaled peak, which is
    /// 1 − 1e-7) are coloured, outlined in white, the largest 8-connected such region boxed
    /// in yellow; `None` colours everything.
    pub threshold: Option<f32>,
    /// Overlay on the photo or the heatmap alone.
    pub mode: ViewMode,
}

impl ViewOptions {
    /// The options as a user states them, in the page and on the command line alike: the
    /// opacity of the heatmap in `[0, 1]` (clamped; the photo's share of the blend,
    /// pytorch-grad-cam's `image_weight`, is `1 −` it), an optional fixed scale maximum, and
    /// an optional threshold (a share of the range: `0` means none, values above `1` are `1`).
    pub fn chosen(
        colormap: Colormap,
        opacity: f32,
        absolute_max: Option<f32>,
        threshold: Option<f32>,
        mode: ViewMode,
    ) -> Self {
        ViewOptions {
            colormap,
            photo_weight: 1.0 - opacity.clamp(0.0, 1.0),
            scale: absolute_max.map_or(Scale::MinMax, |max| Scale::Absolute { max }),
            threshold: threshold.filter(|t| *t > 0.0).map(|t| t.min(1.0)),
            mode,
        }
    }
}

impl Default for ViewOptions {
    /// JET, [`DEFAULT_PHOTO_WEIGHT`], min-max scaling, no threshold, overlay: the pixels of
    /// pytorch-grad-cam's `show_cam_on_image`.
    fn default() -> Self {
        ViewOptions {
            colormap: Colormap::Jet,
            photo_weight: DEFAULT_PHOTO_WEIGHT,
            scale: Scale::MinMax,
            threshold: None,
            mode: ViewMode::Overlay,
        }
    }
}

/// A rectangle in photo pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HotBox {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width in pixels (at least 1).
    pub width: u32,
    /// Height in pixels (at least 1).
    pub height: u32,
}

/// The rendered picture at the photo's resolution, with what the read-outs need.
#[derive(Debug, Clone)]
pub struct View {
    /// Width in pixels (the photo's).
    pub width: u32,
    /// Height in pixels (the photo's).
    pub height: u32,
    /// RGBA pixels, row-major, alpha always 255.
    pub rgba: Vec<u8>,
    /// Raw minimum and maximum of the upsampled map (for min-max scaling, the raw values of
    /// colour 0 and colour 1, to float rounding); `None` when it is flat.
    pub range: Option<(f32, f32)>,
    /// How the map was scaled: `Flat` means nothing to show; for [`Scale::Absolute`] it is
    /// `Scaled { min: 0, max }` with the scale's `max`.
    pub normalized: Normalized,
    /// Bounding box of the largest hot region; `None` without a threshold or hot pixels.
    pub hot_box: Option<HotBox>,
}

/// Upsamples a feature-resolution CAM (`cam_h × cam_w`, row-major) to the photo, scales and
/// colours it as `options` say. A flat map shows the plain photo (overlay) or colour 0
/// (heatmap), with no threshold applied.
///
/// # Panics
///
/// If `cam.len() != cam_h × cam_w` or the map is empty (as [`resize_bilinear`]).
pub fn render_view(
    photo: &RgbImage,
    cam: &[f32],
    cam_shape: (usize, usize),
    options: &ViewOptions,
) -> View {
    let (width, height) = photo.dimensions();
    let (w, h) = (width as usize, height as usize);
    let (map, normalized, range) = scaled_map(cam, cam_shape, (h, w), options.scale);
    let flat = normalized == Normalized::Flat;
    let thickness = line_thickness(width, height);
    let mask = match options.threshold {
        Some(t) if !flat => Some(HotMask::new(
            &map,
            w,
            t * top_of(&map, options.scale),
            thickness,
        )),
        _ => None,
    };
    let hot_box = mask.as_ref().and_then(HotMask::largest_box);
    let colormap = options.colormap;
    let heatmap = options.mode == ViewMode::Heatmap;
    let photo_px = photo.as_raw();
    // Each pixel's colour, looked up once (a flat map draws none); the values are not
    // needed after that.
    let heat = if flat {
        Vec::new()
    } else {
        colormap.colours(&map)
    };
    drop(map);
    let blend =
        (!heatmap && !flat).then(|| CamOnImage::over(&heat, photo_px, options.photo_weight));
    let rgba = match &mask {
        // A mask exists only for a map with something to show.
        Some(mask) => {
            let on_box = |x: u32, y: u32| {
                hot_box.is_some_and(|b| {
                    let inside = x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height;
                    inside
                        && (x < b.x + thickness
                            || x + thickness >= b.x + b.width
                            || y < b.y + thickness
                            || y + thickness >= b.y + b.height)
                })
            };
            let mut rgba = Vec::with_capacity(w * h * 4);
            for y in 0..height {
                for x in 0..width {
                    let i = y as usize * w + x as usize;
                    let pixel = [photo_px[3 * i], photo_px[3 * i + 1], photo_px[3 * i + 2]];
                    let rgb = if on_box(x, y) {
                        BOX
                    } else if mask.is_contour(i) {
                        CONTOUR
                    } else if !mask.is_hot(i) {
                        if heatmap { [0, 0, 0] } else { pixel }
                    } else {
                        let colour = [heat[3 * i], heat[3 * i + 1], heat[3 * i + 2]];
                        match &blend {
                            Some(blend) => blend.pixel(colour, pixel),
                            None => colour,
                        }
                    };
                    rgba.extend_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
                }
            }
            rgba
        }
        None if flat && heatmap => rgba_from(photo_px, |_| colormap.color(0.0)),
        None if flat => photo_rgba(photo),
        // The common case (no threshold): one pass, blending through a look-up table.
        None => match &blend {
            Some(blend) => blend.picture(&heat, photo_px),
            None => rgba_from(&heat, |colour| colour),
        },
    };
    View {
        width,
        height,
        rgba,
        range,
        normalized,
        hot_box,
    }
}

/// The photo itself as RGBA (alpha 255), ready for a canvas.
pub fn photo_rgba(photo: &RgbImage) -> Vec<u8> {
    rgba_from(photo.as_raw(), |pixel| pixel)
}

/// RGBA (alpha 255) with `colour(pixel)` for each pixel of `rgb` (RGB8).
fn rgba_from(rgb: &[u8], colour: impl Fn([u8; 3]) -> [u8; 3]) -> Vec<u8> {
    let mut rgba = vec![255u8; rgb.len() / 3 * 4];
    for (out, pixel) in rgba.chunks_exact_mut(4).zip(rgb.chunks_exact(3)) {
        out[..3].copy_from_slice(&colour([pixel[0], pixel[1], pixel[2]]));
    }
    rgba
}

/// The scaled value a threshold of 1 stands for: min-max scaling à la pytorch-grad-cam
/// leaves the peak at 1 − 1e-7 (its `1e-7 + max` divisor), so thresholds are shares of the
/// actual peak there; an absolute scale keeps 1.
fn top_of(map: &[f32], scale: Scale) -> f32 {
    match scale {
        Scale::MinMax => map.iter().copied().fold(0.0, f32::max),
        Scale::Absolute { .. } => 1.0,
    }
}

/// Width of the outline and box lines: `max(1, min(w, h) / 250)` pixels.
fn line_thickness(width: u32, height: u32) -> u32 {
    (width.min(height) / 250).max(1)
}

/// The map at photo resolution (`size` = `(height, width)`) scaled to `[0, 1]`; how, and the
/// raw range unless flat.
fn scaled_map(
    cam: &[f32],
    cam_shape: (usize, usize),
    size: (usize, usize),
    scale: Scale,
) -> (Vec<f32>, Normalized, Option<(f32, f32)>) {
    match scale {
        Scale::MinMax => {
            let (map, normalized) = normalize_like_pytorch_grad_cam(cam, cam_shape, size);
            let range = match normalized {
                Normalized::Scaled { min, max } => Some((min, max)),
                Normalized::Flat => None,
            };
            (map, normalized, range)
        }
        Scale::Absolute { max } => {
            let mut map = resize_bilinear(cam, cam_shape, size);
            let (lo, hi) = map
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            if !(max.is_finite() && max > 0.0 && hi > 0.0) {
                map.fill(0.0);
                return (map, Normalized::Flat, None);
            }
            for v in map.iter_mut() {
                *v = (*v / max).clamp(0.0, 1.0);
            }
            (map, Normalized::Scaled { min: 0.0, max }, Some((lo, hi)))
        }
    }
}
