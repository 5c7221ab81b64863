//! Which size a picture is drawn at for the screen, and how its pixels map back to the
//! photo's.

use std::str::FromStr;

use serde::Serialize;

use crate::render::HotBox;

/// Most pixels one display picture gets (a 4K screen's worth), whatever the box asks: it
/// bounds the memory of a picture of an extremely tall or wide photo.
pub const MAX_DISPLAY_PIXELS: u64 = 3840 * 2160;

/// Why a display size or point was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayError {
    /// A box with no width, or one that is not `W` or `WxH`.
    #[error("a display box is WIDTH or WIDTHxHEIGHT in device pixels, at least 1 wide (got `{0}`)")]
    BadBox(String),
    /// A picture size that cannot be a display picture of this photo.
    #[error(
        "a {width}×{height} picture is not a display size of a {photo_width}×{photo_height} photo"
    )]
    BadPicture {
        /// Picture width.
        width: u32,
        /// Picture height.
        height: u32,
        /// Photo width.
        photo_width: u32,
        /// Photo height.
        photo_height: u32,
    },
}

/// The space a picture is shown in, in device pixels (CSS size × `devicePixelRatio`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayBox {
    /// Width available (at least 1).
    pub width: u32,
    /// Height available; `None` where the page lets the picture grow downwards.
    pub height: Option<u32>,
}

impl DisplayBox {
    /// A box `width` wide and `height` high (`None`: unbounded); a zero width is refused.
    pub fn new(width: u32, height: Option<u32>) -> Result<Self, DisplayError> {
        if width == 0 || height == Some(0) {
            return Err(DisplayError::BadBox(format!("{width}x{height:?}")));
        }
        Ok(DisplayBox { width, height })
    }
}

impl FromStr for DisplayBox {
    type Err = DisplayError;

    /// `864` (no height limit) or `864x600`.
    fn from_str(text: &str) -> Result<Self, DisplayError> {
        let bad = || DisplayError::BadBox(text.to_owned());
        let (w, h) = match text.split_once(['x', '×']) {
            Some((w, h)) => (w, Some(h)),
            None => (text, None),
        };
        let width = w.trim().parse().map_err(|_| bad())?;
        let height = h.map(|h| h.trim().parse()).transpose().map_err(|_| bad())?;
        DisplayBox::new(width, height).map_err(|_| bad())
    }
}

/// A photo and the size it is drawn at: the largest that fits the box, never enlarged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fit {
    /// The photo's `(width, height)`.
    pub photo: (u32, u32),
    /// The picture's `(width, height)`: at most the photo's, each at least 1.
    pub display: (u32, u32),
}

impl Fit {
    /// The size a `photo` (`(width, height)`, each ≥ 1) is drawn at in `target`: scaled by
    /// `min(1, box / photo)` on each axis (aspect kept, sides rounded), and to at most
    /// [`MAX_DISPLAY_PIXELS`].
    pub fn new(photo: (u32, u32), target: DisplayBox) -> Fit {
        let (pw, ph) = (photo.0.max(1), photo.1.max(1));
        let mut scale = (f64::from(target.width) / f64::from(pw)).min(1.0);
        if let Some(h) = target.height {
            scale = scale.min(f64::from(h) / f64::from(ph));
        }
        let pixels = f64::from(pw) * f64::from(ph);
        scale = scale.min((MAX_DISPLAY_PIXELS as f64 / pixels).sqrt());
        let side = |n: u32| ((f64::from(n) * scale).round() as u32).clamp(1, n);
        let (w, mut h) = (side(pw), side(ph));
        // Only an absurd aspect ratio gets here (a side clamped up to 1 pixel).
        if u64::from(w) * u64::from(h) > MAX_DISPLAY_PIXELS {
            h = (MAX_DISPLAY_PIXELS / u64::from(w)).max(1) as u32;
        }
        Fit {
            photo: (pw, ph),
            display: (w, h),
        }
    }

    /// A picture of `display` size said to show `photo`: checked to be a possible fit.
    pub fn of_picture(photo: (u32, u32), display: (u32, u32)) -> Result<Fit, DisplayError> {
        let ok = display.0 >= 1 && display.1 >= 1 && display.0 <= photo.0 && display.1 <= photo.1;
        if !ok {
            return Err(DisplayError::BadPicture {
                width: display.0,
                height: display.1,
                photo_width: photo.0,
                photo_height: photo.1,
            });
        }
        Ok(Fit { photo, display })
    }

    /// Whether the picture is at the photo's own resolution.
    pub fn is_full(&self) -> bool {
        self.photo == self.display
    }

    /// The photo pixel under the centre of picture pixel `(x, y)` (clamped to the picture).
    pub fn photo_pixel(&self, x: u32, y: u32) -> (u32, u32) {
        let axis = |i: u32, display: u32, photo: u32| {
            let i = u64::from(i.min(display - 1));
            ((2 * i + 1) * u64::from(photo) / (2 * u64::from(display))) as u32
        };
        (
            axis(x, self.display.0, self.photo.0),
            axis(y, self.display.1, self.photo.1),
        )
    }

    /// A box in picture pixels as the photo pixels it covers: every photo pixel whose area
    /// overlaps the box, so the box is exact to within one picture pixel on each side.
    pub fn photo_box(&self, b: HotBox) -> HotBox {
        let floor = |i: u32, display: u32, photo: u32| {
            (u64::from(i) * u64::from(photo) / u64::from(display)) as u32
        };
        let ceil = |i: u32, display: u32, photo: u32| {
            (u64::from(i) * u64::from(photo))
                .div_ceil(u64::from(display))
                .min(u64::from(photo)) as u32
        };
        let (dw, dh) = self.display;
        let (pw, ph) = self.photo;
        let x = floor(b.x, dw, pw);
        let y = floor(b.y, dh, ph);
        let x1 = ceil(b.x + b.width, dw, pw).max(x + 1);
        let y1 = ceil(b.y + b.height, dh, ph).max(y + 1);
        HotBox {
            x,
            y,
            width: x1 - x,
            height: y1 - y,
        }
    }
}
