//! One photo of an audit: explained with the page's method and layer, then kept small — its
//! row, its map at feature resolution (at most [`AUDIT_MAP_SIDE`] a side) and a thumbnail —
//! so that memory stays that of the rows however many photos there are. The full-size
//! overlay is drawn again from the kept map when exported ([`overlay_png`]).

use std::collections::BTreeMap;
use std::io::Write;

use crate::cam::CamRequest;
use crate::display::{
    DisplayBox, DisplayPhotos, SaveError, Saved, render_display, write_overlay_png,
};
use crate::engine::{ExplainJob, Explainer};
use crate::imageio::{DecodeError, decode_photo};
use crate::render::ViewOptions;
use crate::trust::{Metric, MetricsRequest, TrustReport, evaluate};

use super::{AuditRow, class_folder};

/// The longest side of a thumbnail, in pixels.
pub const AUDIT_THUMBNAIL_SIZE: u32 = 160;
/// The box the hot region is found in (as `gradcam explain --display-box 512` finds it):
/// exact to a pixel of a photo up to this size, to a 512th of the side above.
pub const AUDIT_HOT_BOX_SIZE: u32 = 512;
/// The hot region's threshold (share of the range) when the view sets none.
pub const AUDIT_HOT_THRESHOLD: f32 = 0.5;
/// The longest side of a kept map: a larger one (pixel methods, early layers of a large
/// input) is kept box-averaged down to it.
pub const AUDIT_MAP_SIDE: usize = 64;

/// One audited photo.
#[derive(Debug, Clone)]
pub struct AuditedPhoto {
    /// What was found (or why the photo failed).
    pub row: AuditRow,
    /// The map kept for it, row-major (empty when it failed).
    pub map: Vec<f32>,
    /// The kept map's `(height, width)`.
    pub map_shape: (usize, usize),
    /// The overlay at thumbnail size: `(width, height, RGBA)`; `None` when it failed.
    pub thumbnail: Option<(u32, u32, Vec<u8>)>,
}

/// Audits the photo file `bytes` found at `file` (a `/`-separated path whose folder may name
/// its class): explains it as `request` asks, scores the map with `scoring`'s metrics when
/// given (as `gradcam evaluate` scores it) and draws its thumbnail with `options`. A photo
/// that cannot be decoded, explained or scored gives a failed row, not an error: one bad
/// file does not stop a folder.
pub async fn audit_photo(
    explainer: &Explainer,
    bytes: &[u8],
    file: &str,
    request: CamRequest,
    options: &ViewOptions,
    scoring: Option<&MetricsRequest>,
) -> AuditedPhoto {
    let failed = |why: String| AuditedPhoto {
        row: AuditRow::failed(file, why),
        map: Vec::new(),
        map_shape: (0, 0),
        thumbnail: None,
    };
    let photo = match decode_photo(bytes) {
        Ok(photo) => photo,
        Err(e) => return failed(decode_message(&e)),
    };
    // Preprocessed once: the explanation and the scoring read the same input.
    let input = explainer.input_tensor(&photo);
    let job = ExplainJob::tensor(input.clone(), 0.0, request);
    let explanation = match explainer.explain(job).await {
        Ok(explanation) => explanation,
        Err(e) => return failed(e.to_string()),
    };
    let scores = match scoring {
        None => BTreeMap::new(),
        Some(scoring) => match evaluate(explainer, &input, &explanation, scoring, &|_| {}).await {
            Ok(report) => headline_scores(&report, &scoring.metrics),
            Err(e) => return failed(format!("its map could not be scored: {e}")),
        },
    };
    let cam = &explanation.cam;
    let shape = (cam.height, cam.width);
    let mut photos = DisplayPhotos::default();
    let hot_options = ViewOptions {
        threshold: options.threshold.or(Some(AUDIT_HOT_THRESHOLD)),
        ..*options
    };
    let hot_box = render_display(
        &mut photos,
        &photo.rgb,
        &cam.map,
        shape,
        &hot_options,
        square(AUDIT_HOT_BOX_SIZE),
    )
    .hot_box;
    let thumbnail = render_display(
        &mut photos,
        &photo.rgb,
        &cam.map,
        shape,
        options,
        square(AUDIT_THUMBNAIL_SIZE),
    )
    .view;
    let folder = class_folder(file);
    let (map, map_shape) = shrink_map(&cam.map, shape, AUDIT_MAP_SIDE);
    AuditedPhoto {
        row: AuditRow {
            file: file.to_owned(),
            folder: folder.map(str::to_owned),
            expected: folder.and_then(|f| explainer.labels().index_of(f)),
            top5: explanation.top5.clone(),
            method: cam.method.name().to_owned(),
            layer: explanation.layer_label(),
            hot_box,
            width: photo.width(),
            height: photo.height(),
            scores,
            error: None,
        },
        map,
        map_shape,
        thumbnail: Some((thumbnail.width, thumbnail.height, thumbnail.rgba)),
    }
}

/// The headline number of each of `metrics` in `report` (NaN as `None`).
fn headline_scores(report: &TrustReport, metrics: &[Metric]) -> BTreeMap<String, Option<f64>> {
    metrics
        .iter()
        .filter_map(|m| m.headline())
        .filter_map(|h| {
            let v = report.get(h.key)?;
            Some((h.key.to_owned(), v.is_finite().then_some(v)))
        })
        .collect()
}

fn square(side: u32) -> DisplayBox {
    DisplayBox::new(side, Some(side)).expect("the audit's boxes are not empty")
}

fn decode_message(e: &DecodeError) -> String {
    format!("not a usable photo: {e}")
}

/// The overlay of a kept `map` (`shape` = `(height, width)`) over the photo file `bytes` at
/// the photo's full resolution, streamed as a PNG into `sink` (the export's overlays).
pub fn overlay_png(
    bytes: &[u8],
    map: &[f32],
    shape: (usize, usize),
    options: &ViewOptions,
    sink: impl Write,
) -> Result<Saved, OverlayError> {
    let photo = decode_photo(bytes)?;
    Ok(write_overlay_png(sink, &photo.rgb, map, shape, options)?)
}

/// Why an exported overlay could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    /// The photo file changed or went since it was audited.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Save(#[from] SaveError),
}

/// `map` (`shape` = `(height, width)`) box-averaged by the smallest whole factor that brings
/// its longest side to at most `side` (a ragged last block averages what it has); the map
/// itself when it already fits.
pub fn shrink_map(map: &[f32], (h, w): (usize, usize), side: usize) -> (Vec<f32>, (usize, usize)) {
    let factor = h.max(w).div_ceil(side.max(1)).max(1);
    if factor == 1 {
        return (map.to_vec(), (h, w));
    }
    let (sh, sw) = (h.div_ceil(factor), w.div_ceil(factor));
    let mut out = Vec::with_capacity(sh * sw);
    for by in 0..sh {
        for bx in 0..sw {
            let (y0, y1) = (by * factor, ((by + 1) * factor).min(h));
            let (x0, x1) = (bx * factor, ((bx + 1) * factor).min(w));
            let sum: f32 = (y0..y1)
                .flat_map(|y| map[y * w + x0..y * w + x1].iter())
                .sum();
            out.push(sum / ((y1 - y0) * (x1 - x0)) as f32);
        }
    }
    (out, (sh, sw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_map_is_averaged_down_and_a_small_one_kept() {
        let map: Vec<f32> = (0..16).map(|v| v as f32).collect();
        assert_eq!(shrink_map(&map, (4, 4), 4), (map.clone(), (4, 4)));
        let (small, shape) = shrink_map(&map, (4, 4), 2);
        assert_eq!(shape, (2, 2));
        assert_eq!(small, [2.5, 4.5, 10.5, 12.5]);
        // 5 wide by 3: factor 3 → 1×2, the ragged last block averages its 3×2 values.
        let map: Vec<f32> = (0..15).map(|v| v as f32).collect();
        let (small, shape) = shrink_map(&map, (3, 5), 2);
        assert_eq!(shape, (1, 2));
        assert_eq!(small, [6.0, 8.5]);
    }
}
