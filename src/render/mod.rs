//! From a feature-resolution CAM to coloured pixels: upsampling, normalisation, colour map
//! and overlay. Pure functions over plain buffers; the web layer only copies the result.

mod colormap;
mod overlay;
mod upsample;

pub use colormap::{JET, jet};
pub use overlay::{DEFAULT_PHOTO_WEIGHT, Overlay, blend, render_overlay};
pub use upsample::{Normalized, min_max_normalize, resize_bilinear};
