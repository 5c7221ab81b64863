//! Full-resolution pictures for Save and Copy, streamed row by row into a PNG: the overlay
//! (the same pixels as [`render_view`](crate::render::render_view) at the photo's size) and
//! the 16-bit map (the same as [`map_png16`](crate::render::map_png16)). Neither the
//! upsampled map nor the picture is ever held whole: memory is a few rows (a band of
//! `2 × (line thickness + 1)` rows with a threshold), whatever the photo's size.

use std::io::Write;

use image::RgbImage;
use png::{BitDepth, ColorType, Compression, Encoder};

use crate::render::{
    BlendMax, CamOnImage, Colormap, HotBox, HotRegions, Normalized, RowSampler, Scale, ViewMode,
    ViewOptions, min_max_normalize, scale_like_pytorch_grad_cam,
};

/// Colour of the hot region's outline (as the renderer draws it).
const CONTOUR: [u8; 3] = [255, 255, 255];
/// Colour of the largest hot region's bounding box (as the renderer draws it).
const BOX: [u8; 3] = [255, 230, 0];

/// Why a picture could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The PNG encoder or the output failed.
    #[error("the PNG could not be written: {0}")]
    Png(#[from] png::EncodingError),
    /// A photo without pixels has no PNG.
    #[error("a {width}×{height} photo has no pixels to save")]
    EmptyPhoto {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The map does not have the values its shape says, or is empty.
    #[error("the map has {len} values, which is not a non-empty {height}×{width} map")]
    MapShape {
        /// Values given.
        len: usize,
        /// Rows claimed.
        height: usize,
        /// Columns claimed.
        width: usize,
    },
}

/// What a streamed overlay showed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saved {
    /// Width in pixels (the photo's).
    pub width: u32,
    /// Height in pixels (the photo's).
    pub height: u32,
    /// How the map was scaled (`Flat`: the plain photo or colour 0).
    pub normalized: Normalized,
    /// The largest hot region's box, as the renderer finds it; `None` without a threshold.
    pub hot_box: Option<HotBox>,
}

/// Writes the overlay of `cam` over `photo` at the photo's resolution as an 8-bit RGB PNG
/// into `out`, drawn as [`render_view`](crate::render::render_view) draws it.
pub fn write_overlay_png<W: Write>(
    out: W,
    photo: &RgbImage,
    cam: &[f32],
    cam_shape: (usize, usize),
    options: &ViewOptions,
) -> Result<Saved, SaveError> {
    check_shape(cam, cam_shape)?;
    let (width, height) = photo.dimensions();
    if width == 0 || height == 0 {
        return Err(SaveError::EmptyPhoto { width, height });
    }
    let (w, h) = (width as usize, height as usize);
    let source = sampled_source(cam, options.scale);
    let rows = ScaledRows::new(&source, cam, cam_shape, (h, w), options.scale);
    let scaling = rows.scaling;
    let thickness = (width.min(height) / 250).max(1);
    // As the renderer: a share of the scaled map's peak (under min-max, 1 − 1e-7).
    let threshold = options
        .threshold
        .filter(|_| !scaling.is_flat())
        .map(|t| t * scaling.top());
    let hot_box = threshold.and_then(|t| largest_box(&rows, w, h, t));
    let mut encoder = Encoder::new(out, width, height);
    encoder.set_color(ColorType::Rgb);
    encoder.set_depth(BitDepth::Eight);
    encoder.set_compression(Compression::Fast);
    let mut writer = encoder.write_header()?;
    let mut stream = writer.stream_writer_with_size(1 << 20)?;
    let painter = Painter::new(options, &rows, photo);
    let mut values = Vec::with_capacity(w);
    let mut line = vec![0u8; w * 3];
    let photo_rows = photo.as_raw().chunks_exact(w * 3);
    match threshold {
        None => {
            for (y, photo_row) in photo_rows.enumerate() {
                rows.row(y, &mut values);
                painter.plain_row(&values, photo_row, &mut line);
                stream.write_all(&line).map_err(png::EncodingError::from)?;
            }
        }
        Some(t) => {
            let mut result = Ok(());
            let photo_px = photo.as_raw();
            distance_rows(&rows, (w, h), t, thickness, |y, distance| {
                if result.is_err() {
                    return;
                }
                rows.row(y, &mut values);
                let photo_row = &photo_px[y * w * 3..(y + 1) * w * 3];
                let mark = Marks {
                    y: y as u32,
                    distance,
                    thickness,
                    hot_box,
                };
                painter.masked_row(&values, photo_row, &mark, &mut line);
                result = stream.write_all(&line);
            });
            result.map_err(png::EncodingError::from)?;
        }
    }
    stream.finish()?;
    writer.finish()?;
    Ok(Saved {
        width,
        height,
        normalized: scaling.normalized(),
        hot_box,
    })
}

/// Writes `cam` upsampled to `photo_size` (`(width, height)`; a zero side counts as one
/// pixel), min-max normalised, as a 16-bit greyscale PNG into `out`: the same levels as
/// [`map_png16`](crate::render::map_png16), 0 → 0, maximum → 65535, a flat map all 0.
pub fn write_map_png16<W: Write>(
    out: W,
    cam: &[f32],
    cam_shape: (usize, usize),
    photo_size: (u32, u32),
) -> Result<(), SaveError> {
    check_shape(cam, cam_shape)?;
    let (width, height) = (photo_size.0.max(1), photo_size.1.max(1));
    let (w, h) = (width as usize, height as usize);
    let source = sampled_source(cam, Scale::MinMax);
    let rows = ScaledRows::new(&source, cam, cam_shape, (h, w), Scale::MinMax);
    let mut encoder = Encoder::new(out, width, height);
    encoder.set_color(ColorType::Grayscale);
    encoder.set_depth(BitDepth::Sixteen);
    encoder.set_compression(Compression::Fast);
    let mut writer = encoder.write_header()?;
    let mut stream = writer.stream_writer_with_size(1 << 20)?;
    let mut values = Vec::with_capacity(w);
    let mut line = Vec::with_capacity(w * 2);
    for y in 0..h {
        rows.row(y, &mut values);
        line.clear();
        for v in &values {
            let level = (v.clamp(0.0, 1.0) * 65535.0).round() as u16;
            line.extend_from_slice(&level.to_be_bytes());
        }
        stream.write_all(&line).map_err(png::EncodingError::from)?;
    }
    stream.finish()?;
    writer.finish()?;
    Ok(())
}

fn check_shape(cam: &[f32], (height, width): (usize, usize)) -> Result<(), SaveError> {
    if cam.is_empty() || cam.len() != height * width {
        return Err(SaveError::MapShape {
            len: cam.len(),
            height,
            width,
        });
    }
    Ok(())
}

/// What is upsampled: under min-max scaling pytorch-grad-cam scales the feature-resolution
/// map first (min-max → resize → min-max, as `normalize_like_pytorch_grad_cam`); absolute
/// scaling upsamples the raw map.
fn sampled_source(cam: &[f32], scale: Scale) -> Vec<f32> {
    let mut source = cam.to_vec();
    if scale == Scale::MinMax {
        scale_like_pytorch_grad_cam(&mut source);
    }
    source
}

/// How upsampled values become `[0, 1]`, found from the whole upsampled map (one streamed
/// pass), by the renderer's rules.
#[derive(Debug, Clone, Copy)]
enum Scaling {
    Flat,
    /// pytorch-grad-cam's second `scale_cam_image`: `(v − lo) / (1e-7 + (hi − lo))` over the
    /// upsampled map's range; `raw` is the raw range that 0 and 1 stand for.
    MinMax {
        lo: f32,
        span: f32,
        raw: (f32, f32),
    },
    Absolute {
        max: f32,
    },
}

impl Scaling {
    fn measure(sampler: &RowSampler, height: usize, scale: Scale, cam: &[f32]) -> Scaling {
        let mut row = Vec::new();
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for y in 0..height {
            sampler.row(y, &mut row);
            for &v in &row {
                (lo, hi) = (lo.min(v), hi.max(v));
            }
        }
        match scale {
            // The renderer's flatness tests: the raw map's extremes, then the upsampled one's.
            Scale::MinMax => match min_max_normalize(&mut cam.to_vec()) {
                Normalized::Scaled { min, max } if hi > lo => {
                    let unit = 1e-7 + (max - min);
                    Scaling::MinMax {
                        lo,
                        span: hi - lo,
                        raw: (min + lo * unit, min + hi * unit),
                    }
                }
                _ => Scaling::Flat,
            },
            Scale::Absolute { max } if max.is_finite() && max > 0.0 && hi > 0.0 => {
                Scaling::Absolute { max }
            }
            Scale::Absolute { .. } => Scaling::Flat,
        }
    }

    fn is_flat(&self) -> bool {
        matches!(self, Scaling::Flat)
    }

    fn normalized(&self) -> Normalized {
        match *self {
            Scaling::Flat => Normalized::Flat,
            Scaling::MinMax {
                raw: (min, max), ..
            } => Normalized::Scaled { min, max },
            Scaling::Absolute { max } => Normalized::Scaled { min: 0.0, max },
        }
    }

    fn apply(&self, v: f32) -> f32 {
        match *self {
            Scaling::Flat => 0.0,
            Scaling::MinMax { lo, span, .. } => (v - lo) / (1e-7 + span),
            Scaling::Absolute { max } => (v / max).clamp(0.0, 1.0),
        }
    }

    /// The scaled map's peak (the renderer's threshold is a share of it).
    fn top(&self) -> f32 {
        match *self {
            Scaling::MinMax { lo, span, .. } => self.apply(lo + span).max(0.0),
            _ => 1.0,
        }
    }
}

/// Rows of the upsampled map, scaled.
struct ScaledRows {
    sampler: RowSampler,
    scaling: Scaling,
}

impl ScaledRows {
    /// `source` (see `sampled_source`) upsampled to `size` (`(h, w)`), scaled as `scale` says
    /// for the raw map `cam`.
    fn new(
        source: &[f32],
        cam: &[f32],
        cam_shape: (usize, usize),
        size: (usize, usize),
        scale: Scale,
    ) -> Self {
        let sampler = RowSampler::new(source, cam_shape, size);
        let scaling = Scaling::measure(&sampler, size.0, scale, cam);
        ScaledRows { sampler, scaling }
    }

    fn row(&self, y: usize, out: &mut Vec<f32>) {
        self.sampler.row(y, out);
        for v in out.iter_mut() {
            *v = self.scaling.apply(*v);
        }
    }
}

/// Colours pixels as the renderer does.
struct Painter {
    colormap: Colormap,
    heatmap: bool,
    flat: bool,
    /// pytorch-grad-cam's blend of every (heat, photo) byte pair, divided by the picture's
    /// brightest blended value (found in one more streamed pass), for the overlay.
    blend: Option<CamOnImage>,
}

/// What the threshold marks on one row.
struct Marks<'a> {
    y: u32,
    /// 0 for cold pixels, else the capped distance to the nearest cold one.
    distance: &'a [u16],
    thickness: u32,
    hot_box: Option<HotBox>,
}

impl Marks<'_> {
    fn on_box(&self, x: u32) -> bool {
        let (y, t) = (self.y, self.thickness);
        self.hot_box.is_some_and(|b| {
            let inside = x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height;
            inside
                && (x < b.x + t || x + t >= b.x + b.width || y < b.y + t || y + t >= b.y + b.height)
        })
    }
}

impl Painter {
    fn new(options: &ViewOptions, rows: &ScaledRows, photo: &RgbImage) -> Painter {
        let heatmap = options.mode == ViewMode::Heatmap;
        let flat = rows.scaling.is_flat();
        let colormap = options.colormap;
        let blend = (!heatmap && !flat).then(|| {
            let mut brightest = BlendMax::new(options.photo_weight);
            let mut values = Vec::new();
            let width = photo.width() as usize;
            for (y, photo_row) in photo.as_raw().chunks_exact(width * 3).enumerate() {
                rows.row(y, &mut values);
                for (&v, p) in values.iter().zip(photo_row.chunks_exact(3)) {
                    brightest.see(colormap.color(v), [p[0], p[1], p[2]]);
                }
            }
            brightest.finish()
        });
        Painter {
            colormap,
            heatmap,
            flat,
            blend,
        }
    }

    fn overlay(&self, heat: [u8; 3], photo: &[u8]) -> [u8; 3] {
        let blend = self
            .blend
            .as_ref()
            .expect("an overlay of a map with something to show");
        blend.pixel(heat, [photo[0], photo[1], photo[2]])
    }

    /// A row without a threshold.
    fn plain_row(&self, values: &[f32], photo: &[u8], out: &mut [u8]) {
        let pixels = out
            .chunks_exact_mut(3)
            .zip(values)
            .zip(photo.chunks_exact(3));
        for ((px, &v), p) in pixels {
            let rgb = match (self.flat, self.heatmap) {
                (true, true) => self.colormap.color(0.0),
                (true, false) => [p[0], p[1], p[2]],
                (false, true) => self.colormap.color(v),
                (false, false) => self.overlay(self.colormap.color(v), p),
            };
            px.copy_from_slice(&rgb);
        }
    }

    /// A row of a thresholded map: box, outline, cold and hot pixels.
    fn masked_row(&self, values: &[f32], photo: &[u8], marks: &Marks<'_>, out: &mut [u8]) {
        let pixels = out
            .chunks_exact_mut(3)
            .zip(values)
            .zip(photo.chunks_exact(3));
        let thickness = marks.thickness.min(u32::from(u16::MAX) - 2) as u16;
        for (x, ((px, &v), p)) in pixels.enumerate() {
            let d = marks.distance[x];
            let rgb = if marks.on_box(x as u32) {
                BOX
            } else if d > 0 && d <= thickness {
                CONTOUR
            } else if d == 0 {
                if self.heatmap {
                    [0, 0, 0]
                } else {
                    [p[0], p[1], p[2]]
                }
            } else if self.heatmap {
                self.colormap.color(v)
            } else {
                self.overlay(self.colormap.color(v), p)
            };
            px.copy_from_slice(&rgb);
        }
    }
}

/// Hot flags of row `y` as horizontal distances: 0 where cold, else the distance along the
/// row to the nearest cold pixel, capped at `cap` (the row's ends are not cold).
fn horizontal(values: &[f32], threshold: f32, cap: u16, out: &mut Vec<u16>) {
    out.clear();
    let mut run = cap;
    for &v in values {
        run = if v >= threshold {
            run.saturating_add(1).min(cap)
        } else {
            0
        };
        out.push(run);
    }
    let mut run = cap;
    for d in out.iter_mut().rev() {
        run = if *d == 0 {
            0
        } else {
            run.saturating_add(1).min(cap)
        };
        *d = (*d).min(run);
    }
}

/// Calls `emit(y, distance)` for every row in order, `distance` being, per pixel, 0 where
/// cold and otherwise the city-block distance to the nearest cold pixel capped at
/// `thickness + 1`: the same numbers as the renderer's two-pass transform over the whole map.
/// It is `min` over rows `r` of `|y − r| + horizontal_r(x)`: a top-down pass carried from row
/// to row, and a bottom-up pass over each band of `cap` rows plus the `cap − 1` rows below
/// it (rows further down are at least `cap` away).
fn distance_rows(
    rows: &ScaledRows,
    (w, h): (usize, usize),
    threshold: f32,
    thickness: u32,
    mut emit: impl FnMut(usize, &[u16]),
) {
    let cap = thickness.min(u32::from(u16::MAX) - 2) as u16 + 1;
    let band = usize::from(cap);
    let mut values = Vec::with_capacity(w);
    let mut from_above = vec![cap; w];
    let mut distance = vec![0u16; w];
    let mut y0 = 0;
    while y0 < h {
        let end = (y0 + band).min(h);
        let look = (end + band - 1).min(h);
        let along: Vec<Vec<u16>> = (y0..look)
            .map(|y| {
                rows.row(y, &mut values);
                let mut line = Vec::with_capacity(w);
                horizontal(&values, threshold, cap, &mut line);
                line
            })
            .collect();
        let mut from_below = along.clone();
        for r in (0..from_below.len() - 1).rev() {
            let (upper, lower) = from_below.split_at_mut(r + 1);
            for (a, b) in upper[r].iter_mut().zip(&lower[0]) {
                *a = (*a).min(b.saturating_add(1));
            }
        }
        for y in y0..end {
            let r = y - y0;
            for (f, &a) in from_above.iter_mut().zip(&along[r]) {
                *f = a.min(f.saturating_add(1)).min(cap);
            }
            for ((d, &f), &b) in distance.iter_mut().zip(&from_above).zip(&from_below[r]) {
                *d = f.min(b);
            }
            emit(y, &distance);
        }
        y0 = end;
    }
}

/// One horizontal stretch of hot pixels, `x0..x1` in row `y`.
/// Bounding box of the largest 8-connected hot region (most pixels; the first in raster
/// order on a tie), as the renderer finds it, rows streamed.
fn largest_box(rows: &ScaledRows, w: usize, h: usize, threshold: f32) -> Option<HotBox> {
    let mut regions = HotRegions::default();
    let mut values = Vec::with_capacity(w);
    for y in 0..h {
        rows.row(y, &mut values);
        regions.add_row(w, |x| values[x] >= threshold);
    }
    regions.largest_box()
}
