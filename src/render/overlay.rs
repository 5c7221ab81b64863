//! Blending the coloured heatmap over the photo.

use image::RgbImage;

use super::{Normalized, ViewOptions, render_view};

/// Share of the photo in the blend (pytorch-grad-cam's `image_weight` default).
pub const DEFAULT_PHOTO_WEIGHT: f32 = 0.5;

/// The finished picture at the photo's resolution.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Width in pixels (the photo's).
    pub width: u32,
    /// Height in pixels (the photo's).
    pub height: u32,
    /// RGBA pixels, row-major, alpha always 255 (ready for a canvas `ImageData`).
    pub rgba: Vec<u8>,
    /// How the map was normalised; `Flat` means there was no positive evidence to show.
    pub normalized: Normalized,
}

/// One pixel: `(1 − w)·heat + w·photo`, per RGB channel, rounded.
pub fn blend(heat: [u8; 3], photo: [u8; 3], photo_weight: f32) -> [u8; 3] {
    let mix = |h: u8, p: u8| {
        let v = (1.0 - photo_weight) * f32::from(h) + photo_weight * f32::from(p);
        v.round().clamp(0.0, 255.0) as u8
    };
    [
        mix(heat[0], photo[0]),
        mix(heat[1], photo[1]),
        mix(heat[2], photo[2]),
    ]
}

/// Upsamples a feature-resolution CAM (`cam_h × cam_w`, row-major) to the photo, normalises
/// it to `[0, 1]`, colours it with JET and blends it over the photo. A flat map (no positive
/// evidence) is drawn as the plain photo. Same as [`render_view`] with default options.
pub fn render_overlay(
    photo: &RgbImage,
    cam: &[f32],
    cam_shape: (usize, usize),
    photo_weight: f32,
) -> Overlay {
    let options = ViewOptions {
        photo_weight,
        ..ViewOptions::default()
    };
    let view = render_view(photo, cam, cam_shape, &options);
    Overlay {
        width: view.width,
        height: view.height,
        rgba: view.rgba,
        normalized: view.normalized,
    }
}
