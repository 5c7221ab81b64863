//! Pictures at the size they are shown. The page asks for a box in device pixels; the
//! picture is drawn at the largest size that fits it (never above the photo's own), from a
//! cached area-averaged copy of the photo, so a redraw costs what the screen shows, not what
//! the camera took. Read-outs map picture pixels back to photo pixels; Save and Copy stream
//! the full resolution ([`write_overlay_png`], [`write_map_png16`]).

mod fit;
mod photos;
mod save;

use image::RgbImage;

pub use fit::{DisplayBox, DisplayError, Fit, MAX_DISPLAY_PIXELS};
pub use photos::{DisplayPhotos, downscale_area};
pub use save::{SaveError, Saved, write_map_png16, write_overlay_png};

use crate::render::{HotBox, View, ViewOptions, photo_rgba, render_view};

/// A picture drawn for the screen.
#[derive(Debug, Clone)]
pub struct DisplayView {
    /// The picture at display size (its `hot_box` in picture pixels).
    pub view: View,
    /// The photo's size and the picture's.
    pub fit: Fit,
    /// The largest hot region's box in photo pixels (exact to one picture pixel).
    pub hot_box: Option<HotBox>,
}

/// Renders `cam` over `photo` as [`render_view`] does, at the size `photo` is shown in
/// `target`: over the photo's display copy from `photos`, the map upsampled straight to that
/// size. At the photo's own size it is exactly [`render_view`]'s picture.
pub fn render_display(
    photos: &mut DisplayPhotos,
    photo: &RgbImage,
    cam: &[f32],
    cam_shape: (usize, usize),
    options: &ViewOptions,
    target: DisplayBox,
) -> DisplayView {
    let fit = Fit::new(photo.dimensions(), target);
    let view = render_view(photos.picture(photo, fit.display), cam, cam_shape, options);
    let hot_box = view.hot_box.map(|b| fit.photo_box(b));
    DisplayView { view, fit, hot_box }
}

/// The plain photo as RGBA at the size it is shown in `target`.
pub fn photo_display(
    photos: &mut DisplayPhotos,
    photo: &RgbImage,
    target: DisplayBox,
) -> (Fit, Vec<u8>) {
    let fit = Fit::new(photo.dimensions(), target);
    (fit, photo_rgba(photos.picture(photo, fit.display)))
}
