//! Image I/O and preprocessing: bytes → upright RGB photo → normalised network input.

mod decode;
mod preprocess;

pub use decode::{DecodeError, MAX_PIXELS, Photo, decode_photo};
pub use preprocess::{IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE, preprocess};
