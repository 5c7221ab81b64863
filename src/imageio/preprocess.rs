//! The network's input: the whole photo resized (never cropped) and normalised.

use image::RgbImage;
use image::imageops::{FilterType, resize};

/// Side of the square network input, as in torchvision's ImageNet evaluation.
pub const INPUT_SIZE: u32 = 224;
/// ImageNet channel means (RGB), as torchvision normalises.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Resizes the whole photo to `size × size` (bilinear, so the heatmap covers every pixel of
/// the photo) and returns CHW floats in RGB order: `(x / 255 − mean) / std`.
///
/// # Shapes
/// - output: `3 × size × size` values, channel-major
pub fn preprocess(photo: &RgbImage, size: u32) -> Vec<f32> {
    let resized = if photo.dimensions() == (size, size) {
        photo.clone()
    } else {
        resize(photo, size, size, FilterType::Triangle)
    };
    let plane = (size * size) as usize;
    let mut out = vec![0.0; 3 * plane];
    for (i, pixel) in resized.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] =
                (f32::from(pixel.0[c]) / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        }
    }
    out
}
