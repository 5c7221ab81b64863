//! Decoding a user's file into an upright 8-bit RGB photo.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

/// Largest photo we decode, in pixels (width × height): 100 megapixels. Larger files are
/// refused before their pixels are allocated, so a decompression bomb cannot exhaust memory.
pub const MAX_PIXELS: u64 = 100_000_000;

/// A decoded photo, upright (EXIF orientation applied), RGB, 8 bits per channel.
#[derive(Debug, Clone)]
pub struct Photo {
    /// Pixels, row-major, 3 bytes per pixel.
    pub rgb: RgbImage,
}

impl Photo {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.rgb.width()
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.rgb.height()
    }
}

/// Why a file could not become a photo. Each message names the problem for the user.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Zero bytes.
    #[error("the file is empty")]
    Empty,
    /// Not a format we recognise.
    #[error("this is not an image we can read (supported: JPEG, PNG, GIF, WebP, BMP, TIFF)")]
    UnknownFormat,
    /// A vector drawing, not a photo.
    #[error("SVG drawings are not supported: export it as PNG or JPEG first")]
    Svg,
    /// An iPhone-style HEIC/HEIF or an AVIF photo (no decoder here).
    #[error("HEIC/HEIF and AVIF photos are not supported: export it as JPEG or PNG first")]
    Heif,
    /// Recognised but damaged or unsupported inside.
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
    /// Too many pixels.
    #[error("the image is too large ({width}×{height}); the limit is {MAX_PIXELS} pixels")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// Decodes an image file, applies its EXIF orientation, flattens transparency onto white
/// and converts grayscale or 16-bit images to 8-bit RGB.
pub fn decode_photo(bytes: &[u8]) -> Result<Photo, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    match reader.format() {
        None if looks_like_svg(bytes) => return Err(DecodeError::Svg),
        None if looks_like_heif(bytes) => return Err(DecodeError::Heif),
        None => return Err(DecodeError::UnknownFormat),
        Some(ImageFormat::Avif) => return Err(DecodeError::Heif),
        Some(ImageFormat::Jpeg) if !jpeg_is_complete(bytes) => {
            return Err(DecodeError::Corrupt(
                "the JPEG file is truncated (no end-of-image marker)".into(),
            ));
        }
        Some(_) => {}
    }
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DecodeError::TooLarge { width, height });
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    decoder
        .set_limits(limits)
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    image.apply_orientation(orientation);
    if width == 0 || height == 0 {
        return Err(DecodeError::Corrupt("the image has no pixels".into()));
    }
    Ok(Photo {
        rgb: flatten_on_white(image),
    })
}

/// 8-bit RGB; transparent pixels are composited over white, as a viewer would show them.
fn flatten_on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8(); // no copy when already RGB8
    }
    let rgba = image.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| {
            let alpha = u32::from(a);
            ((u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255) as u8
        };
        image::Rgb([over(r), over(g), over(b)])
    })
}

/// A JPEG's compressed data ends with an end-of-image marker (`FF D9`) after its last
/// start-of-scan (`FF DA`). The decoder fills a truncated scan with grey instead of failing,
/// which would show a half-grey photo as if it were whole.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let last_end = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((last_scan, last_end), (Some(scan), Some(end)) if end > scan)
}

/// An SVG file starts (after optional whitespace, a BOM or an XML declaration) with markup
/// that names `<svg` within its first kilobyte.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
        && text.contains("<svg")
}

/// ISO base media files (HEIC, HEIF, AVIF) start with an `ftyp` box naming their brand.
fn looks_like_heif(bytes: &[u8]) -> bool {
    const BRANDS: [&[u8]; 8] = [
        b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif",
    ];
    bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && BRANDS.contains(&&bytes[8..12])
}
