//! Read-outs of the raw map at photo resolution: one value under the pointer, or the whole
//! upsampled map as a 16-bit PNG for download.

use std::io::Cursor;

use image::{ImageBuffer, ImageFormat, Luma};

use super::normalize_like_pytorch_grad_cam;
use super::upsample::{Tap, interpolate};

/// Value of the upsampled (bilinear, same as [`resize_bilinear`](super::resize_bilinear)) raw map at
/// photo pixel `(x, y)`, without upsampling the whole map. `photo_size` is `(width, height)`;
/// a point outside the photo is clamped to its edge, a zero side counts as one pixel.
///
/// # Panics
///
/// If `cam.len() != cam_h × cam_w` or the map is empty.
pub fn map_value_at(
    cam: &[f32],
    cam_shape: (usize, usize),
    photo_size: (u32, u32),
    x: u32,
    y: u32,
) -> f32 {
    let (cam_h, cam_w) = cam_shape;
    assert_eq!(
        cam.len(),
        cam_h * cam_w,
        "map length does not match its shape"
    );
    assert!(cam_h > 0 && cam_w > 0, "cannot sample an empty map");
    let width = photo_size.0.max(1) as usize;
    let height = photo_size.1.max(1) as usize;
    let row = Tap::row((y as usize).min(height - 1), height, cam_h);
    let col = Tap::column((x as usize).min(width - 1), width, cam_w);
    interpolate(cam, cam_w, &row, &col)
}

/// The map upsampled to `photo_size` (`(width, height)`; a zero side counts as one pixel) and
/// normalised as drawn ([`normalize_like_pytorch_grad_cam`]), as a 16-bit greyscale PNG:
/// 0 → 0, maximum → 65535, a flat map all 0.
///
/// # Panics
///
/// If `cam.len() != cam_h × cam_w` or the map is empty.
pub fn map_png16(cam: &[f32], cam_shape: (usize, usize), photo_size: (u32, u32)) -> Vec<u8> {
    let width = photo_size.0.max(1);
    let height = photo_size.1.max(1);
    let (map, _) =
        normalize_like_pytorch_grad_cam(cam, cam_shape, (height as usize, width as usize));
    let levels = map
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16)
        .collect();
    let image: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_raw(width, height, levels).expect("one level per pixel");
    let mut png = Cursor::new(Vec::new());
    image
        .write_to(&mut png, ImageFormat::Png)
        .expect("PNG encoding into memory does not fail");
    png.into_inner()
}
