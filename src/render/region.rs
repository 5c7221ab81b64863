//! The hot region of a thresholded map: its inner outline (by a capped city-block distance
//! to the nearest cold pixel) and the bounding box of its largest 8-connected part (by
//! union-find over row runs, so memory grows with runs, not pixels, and nothing recurses).

use super::HotBox;

/// Which pixels are hot and how far (city-block, capped) each is from a cold one.
pub(super) struct HotMask {
    width: usize,
    /// 0 for cold pixels; for hot ones, the distance to the nearest cold pixel, capped at
    /// `thickness + 1` (the image edge does not count as cold).
    distance: Vec<u16>,
    thickness: u16,
}

/// One horizontal stretch of hot pixels, `x0..x1` in row `y`.
struct Run {
    y: u32,
    x0: u32,
    x1: u32,
}

impl HotMask {
    /// Marks values `≥ threshold` of a row-major map `width` wide; the outline is the hot
    /// pixels within `thickness` steps of a cold one.
    pub(super) fn new(map: &[f32], width: usize, threshold: f32, thickness: u32) -> HotMask {
        let thickness = thickness.min(u32::from(u16::MAX) - 2) as u16;
        let cap = thickness + 1;
        let mut distance: Vec<u16> = map
            .iter()
            .map(|&v| if v >= threshold { cap } else { 0 })
            .collect();
        if width > 0 {
            two_pass_distance(&mut distance, width);
        }
        HotMask {
            width,
            distance,
            thickness,
        }
    }

    /// Whether pixel `i` (row-major) is hot.
    pub(super) fn is_hot(&self, i: usize) -> bool {
        self.distance[i] > 0
    }

    /// Whether pixel `i` is hot and on the outline.
    pub(super) fn is_contour(&self, i: usize) -> bool {
        let d = self.distance[i];
        d > 0 && d <= self.thickness
    }

    /// Bounding box of the largest 8-connected hot region (most pixels; the first in raster
    /// order on a tie), or `None` when nothing is hot.
    pub(super) fn largest_box(&self) -> Option<HotBox> {
        if self.width == 0 {
            return None;
        }
        let mut regions = HotRegions::default();
        for row in self.distance.chunks(self.width) {
            regions.add_row(row.len(), |x| row[x] > 0);
        }
        regions.largest_box()
    }
}

/// The 8-connected hot regions of a map fed one row at a time (union-find over row runs,
/// so memory grows with runs, not pixels, and a streamed map need not be held whole).
#[derive(Default)]
pub struct HotRegions {
    runs: Vec<Run>,
    parent: Vec<usize>,
    /// The previous row's runs.
    previous: std::ops::Range<usize>,
    rows: u32,
}

impl HotRegions {
    /// Adds the next row, `width` pixels, `hot(x)` saying which are hot.
    pub fn add_row(&mut self, width: usize, hot: impl Fn(usize) -> bool) {
        let (runs, parent) = (&mut self.runs, &mut self.parent);
        let y = self.rows;
        self.rows += 1;
        let start = runs.len();
        let mut x = 0;
        while x < width {
            if !hot(x) {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < width && hot(x) {
                x += 1;
            }
            parent.push(runs.len());
            runs.push(Run {
                y,
                x0: x0 as u32,
                x1: x as u32,
            });
        }
        // Runs touch (8-connected) when their column spans overlap or meet diagonally.
        let mut j = self.previous.start;
        for i in start..runs.len() {
            while j < self.previous.end && runs[j].x1 < runs[i].x0 {
                j += 1;
            }
            let mut k = j;
            while k < self.previous.end && runs[k].x0 <= runs[i].x1 {
                union(parent, i, k);
                k += 1;
            }
        }
        self.previous = start..runs.len();
    }

    /// Bounding box of the largest region (most pixels; the first in raster order on a
    /// tie), or `None` when nothing was hot.
    pub fn largest_box(mut self) -> Option<HotBox> {
        let (runs, parent) = (&self.runs, &mut self.parent);
        // Roots are each region's first run (union keeps the smaller index).
        let mut area = vec![0u64; runs.len()];
        let mut bounds = vec![[u32::MAX, u32::MAX, 0, 0]; runs.len()];
        for (i, run) in runs.iter().enumerate() {
            let root = find(parent, i);
            area[root] += u64::from(run.x1 - run.x0);
            let b = &mut bounds[root];
            *b = [
                b[0].min(run.x0),
                b[1].min(run.y),
                b[2].max(run.x1),
                b[3].max(run.y + 1),
            ];
        }
        let best =
            (0..runs.len())
                .filter(|&i| parent[i] == i)
                .fold(None, |best: Option<usize>, i| match best {
                    Some(b) if area[b] >= area[i] => Some(b),
                    _ => Some(i),
                })?;
        let [x0, y0, x1, y1] = bounds[best];
        Some(HotBox {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        })
    }
}

/// Exact city-block distance transform (capped at the initial hot value) in two raster
/// passes: from above and the left, then from below and the right.
fn two_pass_distance(distance: &mut [u16], width: usize) {
    let len = distance.len();
    for i in 0..len {
        if distance[i] == 0 {
            continue;
        }
        let mut d = distance[i];
        if i >= width {
            d = d.min(distance[i - width] + 1);
        }
        if i % width > 0 {
            d = d.min(distance[i - 1] + 1);
        }
        distance[i] = d;
    }
    for i in (0..len).rev() {
        if distance[i] == 0 {
            continue;
        }
        let mut d = distance[i];
        if i + width < len {
            d = d.min(distance[i + width] + 1);
        }
        if i % width + 1 < width {
            d = d.min(distance[i + 1] + 1);
        }
        distance[i] = d;
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    let (lo, hi) = (ra.min(rb), ra.max(rb));
    parent[hi] = lo;
}
