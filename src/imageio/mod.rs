//! Image I/O and preprocessing: bytes → upright sRGB photo → normalised network input.

mod colour;
mod decode;
mod npy;
mod preprocess;
mod resize;

pub use decode::{DecodeError, MAX_PIXELS, Photo, decode_photo};
pub use npy::{NpyArray, NpyError, read_npy_f32, write_npy_f32};
pub use preprocess::{INPUT_SIZE, Normalization, preprocess};
