//! Decoding a user's file into an upright 8-bit RGB photo.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use super::colour::convert_to_srgb;

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
    #[error("the image could not be decoded: {problem}")]
    Corrupt {
        /// What is wrong, in words a person can act on.
        problem: String,
        /// The decoder's own report, for logs and `--verbose` (may hold raw bytes).
        detail: String,
    },
    /// Too many pixels.
    #[error("the image is too large ({width}×{height}); the limit is {MAX_PIXELS} pixels")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

impl DecodeError {
    /// The decoder's own report behind a `Corrupt` error, for logs (not for the user).
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Corrupt { detail, .. } if !detail.is_empty() => Some(detail),
            _ => None,
        }
    }

    fn corrupt(problem: impl Into<String>) -> Self {
        Self::Corrupt {
            problem: problem.into(),
            detail: String::new(),
        }
    }
}

/// The `image` crate's error in words: its `Display` can hold decoder internals and the
/// raw bytes of a damaged chunk name, so those go to `detail` only.
impl From<image::ImageError> for DecodeError {
    fn from(error: image::ImageError) -> Self {
        use image::ImageError as E;
        use image::error::ImageFormatHint;
        let format = |hint: &ImageFormatHint| match hint {
            ImageFormatHint::Exact(format) => format!("{format:?}").to_uppercase(),
            _ => "image".to_owned(),
        };
        let problem = match &error {
            E::Decoding(e) => format!("the {} data is damaged", format(&e.format_hint())),
            E::Unsupported(e) => format!(
                "this kind of {} file is not supported",
                format(&e.format_hint())
            ),
            E::Limits(_) => "it needs more memory than a photo is allowed".to_owned(),
            E::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                "the file is truncated (it ends too early)".to_owned()
            }
            E::IoError(_) | E::Parameter(_) | E::Encoding(_) => "the file is malformed".to_owned(),
        };
        Self::Corrupt {
            problem,
            detail: error.to_string(),
        }
    }
}

/// Decodes an image file, applies its EXIF orientation, flattens transparency onto white,
/// converts grayscale or 16-bit images to 8-bit RGB and an embedded ICC profile's colours to
/// sRGB.
pub fn decode_photo(bytes: &[u8]) -> Result<Photo, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::from(image::ImageError::IoError(e)))?;
    match reader.format() {
        None if looks_like_svg(bytes) => return Err(DecodeError::Svg),
        None if looks_like_heif(bytes) => return Err(DecodeError::Heif),
        None => return Err(DecodeError::UnknownFormat),
        Some(ImageFormat::Avif) => return Err(DecodeError::Heif),
        Some(ImageFormat::Jpeg) if !jpeg_is_complete(bytes) => {
            return Err(DecodeError::corrupt(
                "the JPEG file is truncated (its first image has no end-of-image marker)",
            ));
        }
        Some(_) => {}
    }
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DecodeError::TooLarge { width, height });
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    decoder.set_limits(limits)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    if width == 0 || height == 0 {
        return Err(DecodeError::corrupt("the image has no pixels"));
    }
    let mut rgb = flatten_on_white(image);
    if let Some(icc) = icc {
        convert_to_srgb(&mut rgb, &icc);
    }
    Ok(Photo { rgb })
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

/// Whether a JPEG's first image is whole: its marker segments, walked from the start, reach
/// an end-of-image marker (`FF D9`) after its scans. The decoder fills a truncated scan with
/// grey instead of failing, which would show a half-grey photo as if it were whole. Anything
/// after that marker (a Motion Photo's video, an MPF preview) is not the photo and may hold
/// any bytes. Segments that make no sense are left for the decoder to report.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut pos = 2; // past SOI
    loop {
        if pos >= bytes.len() {
            return false;
        }
        if bytes[pos] != 0xFF {
            return true;
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1; // fill bytes before the marker code
        }
        let Some(&code) = bytes.get(pos) else {
            return false;
        };
        pos += 1;
        match code {
            0xD9 => return true,
            0x01 | 0xD0..=0xD8 => continue, // markers without a length
            _ => {}
        }
        let Some(length) = bytes.get(pos..pos + 2) else {
            return false;
        };
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return true;
        }
        pos += length;
        if code == 0xDA {
            match end_of_entropy_data(bytes, pos) {
                Some(end) => pos = end,
                None => return false,
            }
        }
    }
}

/// Where a scan's entropy-coded data, starting at `pos`, ends: at the first `FF` that
/// begins a marker (not a stuffed `FF 00`, a restart marker or a fill byte); `None` when the
/// file ends first.
fn end_of_entropy_data(bytes: &[u8], mut pos: usize) -> Option<usize> {
    while pos + 1 < bytes.len() {
        if bytes[pos] == 0xFF {
            match bytes[pos + 1] {
                0x00 | 0xD0..=0xD7 => pos += 2,
                0xFF => pos += 1,
                _ => return Some(pos),
            }
        } else {
            pos += 1;
        }
    }
    None
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
