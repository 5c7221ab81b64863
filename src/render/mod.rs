//! From a feature-resolution CAM to coloured pixels: upsampling, normalisation, colour map,
//! overlay and thresholded views, plus raw-map read-outs. Pure functions over plain buffers;
//! the web layer only copies the result.

mod colormap;
mod colormap_tables;
mod export;
mod overlay;
mod region;
mod upsample;
mod view;

pub use colormap::{Colormap, JET, UnknownColormap, jet};
pub use export::{map_png16, map_value_at};
pub use overlay::{BlendMax, CamOnImage, DEFAULT_OPACITY, DEFAULT_PHOTO_WEIGHT};
pub use region::HotRegions;
pub use upsample::{
    Normalized, RowSampler, min_max_normalize, normalize_like_pytorch_grad_cam, resize_bilinear,
    scale_like_pytorch_grad_cam, spread,
};
pub use view::{HotBox, Scale, View, ViewMode, ViewOptions, photo_rgba, render_view};
