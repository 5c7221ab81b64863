//! The network's input: the whole photo resized (never cropped) and normalised.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::resize::resize_triangle;

/// Side of the square network input, as in torchvision's ImageNet evaluation.
pub const INPUT_SIZE: u32 = 224;

/// Per-channel normalisation of RGB values scaled to 0..1: `(x / 255 − mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Channel means (R, G, B) on the 0..1 scale.
    pub mean: [f32; 3],
    /// Channel standard deviations (R, G, B) on the 0..1 scale.
    pub std: [f32; 3],
}

impl Normalization {
    /// torchvision's ImageNet statistics (the ResNets).
    pub const IMAGENET: Self = Self {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };

    /// TensorFlow EfficientNet-Lite's `(x − 127) / 128` on 0..255 values.
    pub const CENTRED_127: Self = Self {
        mean: [127.0 / 255.0; 3],
        std: [128.0 / 255.0; 3],
    };
}

/// Resizes the whole photo to `size × size` (bilinear, so the heatmap covers every pixel of
/// the photo) and returns CHW floats in RGB order: `(x / 255 − mean) / std`.
///
/// # Shapes
/// - output: `3 × size × size` values, channel-major
pub fn preprocess(photo: &RgbImage, size: u32, norm: &Normalization) -> Vec<f32> {
    let resized = if photo.dimensions() == (size, size) {
        photo.clone()
    } else {
        resize_triangle(photo, size, size)
    };
    let plane = (size * size) as usize;
    let mut out = vec![0.0; 3 * plane];
    for (i, pixel) in resized.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (f32::from(pixel.0[c]) / 255.0 - norm.mean[c]) / norm.std[c];
        }
    }
    out
}
