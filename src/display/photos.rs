//! The photo at display size: an area-averaged copy per size, a few kept per photo.

use core::ops::AddAssign;

use image::RgbImage;

/// Display sizes kept per photo (the overlay, the side-by-side panes, grid cells, one spare).
const KEPT: usize = 4;

/// Downscaled copies of one photo, the most recently used last. The photo itself is never
/// copied: a picture at the photo's own size is the photo.
#[derive(Debug, Default)]
pub struct DisplayPhotos {
    copies: Vec<RgbImage>,
}

impl DisplayPhotos {
    /// Forgets every copy (a new photo).
    pub fn clear(&mut self) {
        self.copies.clear();
    }

    /// `photo` at `size` (`(width, height)`, at most the photo's): the photo itself, a kept
    /// copy, or a new area-averaged one (the least recently used is dropped beyond four).
    pub fn picture<'a>(&'a mut self, photo: &'a RgbImage, size: (u32, u32)) -> &'a RgbImage {
        if photo.dimensions() == size {
            return photo;
        }
        let copy = match self.copies.iter().position(|c| c.dimensions() == size) {
            Some(i) => self.copies.remove(i),
            None => downscale_area(photo, size),
        };
        if self.copies.len() == KEPT {
            self.copies.remove(0);
        }
        self.copies.push(copy);
        self.copies.last().expect("just pushed")
    }

    /// Bytes held by the copies.
    pub fn bytes(&self) -> usize {
        self.copies.iter().map(|c| c.as_raw().len()).sum()
    }
}

/// `photo` shrunk to `(width, height)` (each between 1 and the photo's side) by averaging,
/// per channel and rounded, the photo pixels whose index falls in each picture pixel's span
/// (`[i·W/w, (i+1)·W/w)` on each axis): every photo pixel counts once, so fine detail is
/// averaged rather than aliased.
///
/// # Panics
///
/// If a side is 0 or larger than the photo's.
pub fn downscale_area(photo: &RgbImage, (width, height): (u32, u32)) -> RgbImage {
    let (pw, ph) = photo.dimensions();
    assert!(
        (1..=pw).contains(&width) && (1..=ph).contains(&height),
        "{width}×{height} is not a downscale of {pw}×{ph}"
    );
    // A band of rows is at most ⌈H/h⌉ rows: its column sums fit 32 bits (twice as fast to
    // add as 64) unless it is over 16 million rows tall.
    if u64::from(ph.div_ceil(height)) * 255 <= u64::from(u32::MAX) {
        average::<u32>(photo, (width, height))
    } else {
        average::<u64>(photo, (width, height))
    }
}

/// [`downscale_area`] with column sums of type `S`, wide enough for a band's.
fn average<S>(photo: &RgbImage, (width, height): (u32, u32)) -> RgbImage
where
    S: Copy + Default + AddAssign + From<u8> + Into<u64>,
{
    let (pw, ph) = photo.dimensions();
    let cols = spans(pw, width);
    let rows = spans(ph, height);
    let src = photo.as_raw();
    let row_len = pw as usize * 3;
    let mut sums = vec![S::default(); row_len];
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for &(y0, y1) in &rows {
        sums.fill(S::default());
        for line in src[y0 * row_len..y1 * row_len].chunks_exact(row_len) {
            for (s, &v) in sums.iter_mut().zip(line) {
                *s += S::from(v);
            }
        }
        let n_rows = (y1 - y0) as u64;
        for &(x0, x1) in &cols {
            let n = n_rows * (x1 - x0) as u64;
            let mut total = [0u64; 3];
            for px in sums[x0 * 3..x1 * 3].chunks_exact(3) {
                for (t, &v) in total.iter_mut().zip(px) {
                    *t += v.into();
                }
            }
            out.extend(total.iter().map(|t| ((t + n / 2) / n) as u8));
        }
    }
    RgbImage::from_raw(width, height, out).expect("three bytes per pixel")
}

/// The source index range of each of `dst` output indices over `src` (`dst ≤ src`).
fn spans(src: u32, dst: u32) -> Vec<(usize, usize)> {
    let at = |i: u32| (u64::from(i) * u64::from(src) / u64::from(dst)) as usize;
    (0..dst).map(|i| (at(i), at(i + 1))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_too_tall_for_32_bit_sums_is_averaged_in_64() {
        // 17 million rows into one: 255 · 17e6 overflows 32 bits.
        let rows = 17_000_000u32;
        let photo = RgbImage::from_fn(1, rows, |_, y| {
            image::Rgb([255, if y % 2 == 0 { 255 } else { 0 }, 3])
        });
        assert_eq!(downscale_area(&photo, (1, 1)).as_raw(), &[255, 128, 3]);
    }

    #[test]
    fn both_sum_widths_give_the_same_picture() {
        let photo = RgbImage::from_fn(301, 203, |x, y| {
            image::Rgb([(x * 7 + y) as u8, (x ^ y) as u8, (x * y) as u8])
        });
        for size in [(1, 1), (97, 64), (300, 203), (150, 101)] {
            assert_eq!(
                average::<u32>(&photo, size),
                average::<u64>(&photo, size),
                "{size:?}"
            );
        }
    }
}
