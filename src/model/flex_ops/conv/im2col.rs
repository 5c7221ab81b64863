//! The general path: im2col `[C·kh·kw, OH·OW]` from the NCHW input, then one product
//! `[O, C·kh·kw] · im2col` per image, written into the output plane by blocks of output
//! channels × pixels, each prefilled and finished by the epilogue around its product.

use core::ops::Range;

use super::{Epilogue, Geometry};
use crate::model::flex_ops::{scratch, threads};

/// `output = conv(x)` with `epilogue`, for every image of the batch: `x` is `[N, C, H, W]`,
/// `weight` `[O, C·kh·kw]`, `output` `[N, O, OH, OW]`.
pub(super) fn convolve(
    x: &[f32],
    weight: &[f32],
    g: &Geometry,
    epilogue: Epilogue<'_>,
    output: &mut [f32],
) {
    let out_plane = g.channels_out * g.out_pixels();
    let in_plane = g.channels_in * g.in_hw[0] * g.in_hw[1];
    let bands = bands(g);
    for (image, out) in output.chunks_exact_mut(out_plane).enumerate() {
        let input = &x[image * in_plane..(image + 1) * in_plane];
        let epilogue = epilogue.for_image(image, out_plane);
        let out = OutPtr(out.as_mut_ptr());
        let job = |rows: Range<usize>, threaded| {
            // SAFETY: each band writes only its own output columns (`rows` × OW) of the
            // `[O, OH·OW]` plane `out` points to, and the bands do not overlap.
            unsafe { band(input, weight, g, rows, out, epilogue, threaded) }
        };
        match bands.as_slice() {
            [rows] => job(rows.clone(), threads::count() > 1),
            _ => threads::for_each_range(&bands, |rows| job(rows, false)),
        }
    }
}

/// The output plane of one image, shared by the bands writing disjoint columns of it.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);

// SAFETY: bands write disjoint parts of the plane (see `band`).
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// The element `offset` past the plane's start.
    ///
    /// # Safety
    /// `offset` lies inside the plane.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller's promise.
        unsafe { self.0.add(offset) }
    }
}

/// Output pixels per band when a large output is split among threads (burn-flex's tile).
const BAND_PIXELS: usize = 512;

/// The output rows of each band: one band, threaded inside, below four bands' worth of
/// pixels (ResNet's layer2 to layer4: one product large enough to share); otherwise bands of
/// about [`BAND_PIXELS`] whose im2col stays in cache, one thread each (one after the other
/// in a build without threads). Where a few rows fewer per band make the bands share out
/// evenly among the threads, they do (ResNet's layer1, 56 rows: 8 bands of 7 rather than 7
/// of 9 on 2 threads).
pub(super) fn bands(g: &Geometry) -> Vec<Range<usize>> {
    let [out_h, out_w] = g.out_hw;
    if g.out_pixels() < 4 * BAND_PIXELS {
        return core::iter::once(0..out_h).collect();
    }
    let target = (BAND_PIXELS / out_w).max(1);
    let threads = threads::count();
    let even = |rows: &usize| out_h.div_ceil(*rows).is_multiple_of(threads);
    let rows = (target.div_ceil(2)..=target)
        .rev()
        .find(even)
        .unwrap_or(target);
    (0..out_h)
        .step_by(rows)
        .map(|first| first..(first + rows).min(out_h))
        .collect()
}

/// Computes output rows `rows` of one image: im2col of those rows, then
/// `out[:, rows] (+)= weight · col`, with threads inside when `threaded`.
///
/// # Safety
/// `out` points to this image's `[O, OH·OW]` output plane, and nothing else writes its
/// columns for `rows` meanwhile.
unsafe fn band(
    input: &[f32],
    weight: &[f32],
    g: &Geometry,
    rows: Range<usize>,
    out: OutPtr,
    epilogue: Epilogue<'_>,
    threaded: bool,
) {
    let out_w = g.out_hw[1];
    let (first, pixels) = (rows.start * out_w, rows.len() * out_w);
    let columns = first..first + pixels;
    if g.is_pointwise() {
        let rhs = &input[first..];
        // SAFETY: the caller's promise.
        return unsafe {
            multiply(
                weight,
                (rhs, g.out_pixels()),
                g,
                columns.clone(),
                out,
                epilogue,
                threaded,
            )
        };
    }
    scratch::with(g.col_rows() * pixels, |col| {
        let fill = |(row, dst): (usize, &mut [f32])| col_row(input, g, row, rows.clone(), dst);
        if threaded {
            threads::for_each_chunk(col, pixels, fill);
        } else {
            col.chunks_exact_mut(pixels).enumerate().for_each(fill);
        }
        // SAFETY: the caller's promise.
        unsafe {
            multiply(
                weight,
                (col, pixels),
                g,
                columns.clone(),
                out,
                epilogue,
                threaded,
            )
        }
    })
}

/// `out[:, columns] = weight · rhs` with the image's epilogue, `rhs` being
/// `[C·kh·kw, columns.len()]` with the given row stride: each block of output channels is
/// prefilled, multiplied onto and finished on the thread that computes it.
///
/// # Safety
/// As for [`band`]: `out` is the image's output plane, `columns` written by no one else.
unsafe fn multiply(
    weight: &[f32],
    (rhs, rhs_stride): (&[f32], usize),
    g: &Geometry,
    columns: Range<usize>,
    out: OutPtr,
    epilogue: Epilogue<'_>,
    threaded: bool,
) {
    let (first, pixels) = (columns.start, columns.len());
    let (m, k) = (g.channels_out, g.col_rows());
    assert!(weight.len() >= m * k && rhs.len() >= (k - 1) * rhs_stride + pixels);
    let share = threaded && shares_work(m, pixels, k);
    let plane = g.out_pixels();
    // SAFETY: `channel`'s columns of the band: inside the plane, and written by no one else
    // (the caller's promise); no other reference to them lives while the one returned does.
    let run = |channel: usize| unsafe {
        core::slice::from_raw_parts_mut(out.at(first + channel * plane), pixels)
    };
    let product = |channels: Range<usize>, parallelism| {
        for channel in channels.clone() {
            epilogue.prefill(run(channel), first + channel * plane, channel);
        }
        // SAFETY: `weight` is `[m, k]` and `rhs` `[k, pixels]` with row stride `rhs_stride`
        // (checked above); `out + first` with row stride OH·OW is this band's part of the
        // plane (the caller's promise), of which `channels` are written here; it aliases
        // neither operand.
        unsafe {
            gemm::gemm(
                channels.len(),
                pixels,
                k,
                out.at(first + channels.start * plane),
                1,
                plane as isize,
                true,
                weight.as_ptr().add(channels.start * k),
                1,
                k as isize,
                rhs.as_ptr(),
                1,
                rhs_stride as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        for channel in channels {
            epilogue.finish(run(channel));
        }
    };
    match share.then(|| channel_split(m)).flatten() {
        Some(split) => threads::for_each_range(&split, |channels| {
            product(channels, gemm::Parallelism::None)
        }),
        None => product(0..m, threads::gemm_parallelism(share)),
    }
}

/// Whether a product `[m, k] · [k, n]` is worth sharing among threads: burn-flex's threshold,
/// `m·n·k ≥ 192³`.
pub(super) fn shares_work(m: usize, n: usize, k: usize) -> bool {
    m * n * k >= 192 * 192 * 192
}

/// The output channels cut into one block per thread (16-channel multiples: gemm's AVX-512
/// register height), each block multiplied on its thread without gemm's own threads. Where
/// there are at least 16 channels per thread this beats handing the whole product to gemm's
/// threads (ResNet-101's layer3 ≈ 75 → 66 ms on 2 cores, BENCHMARKS.md); otherwise `None`.
pub(super) fn channel_split(m: usize) -> Option<Vec<Range<usize>>> {
    threads::blocks(m, 16)
}

/// One im2col row for output rows `rows`: input channel `c` shifted by kernel offset
/// `(i, j)` and strided, zero where the kernel hangs over the padding.
fn col_row(input: &[f32], g: &Geometry, row: usize, rows: Range<usize>, dst: &mut [f32]) {
    let [kh, kw] = g.kernel;
    let (c, offset) = (row / (kh * kw), row % (kh * kw));
    let (i, j) = (offset / kw, offset % kw);
    let [in_h, in_w] = g.in_hw;
    let out_w = g.out_hw[1];
    let [stride_h, stride_w] = g.stride;
    let [pad_h, pad_w] = g.pad;
    let plane = &input[c * in_h * in_w..(c + 1) * in_h * in_w];
    // Output columns whose input column `ow·s + j − pad` lies inside the row.
    let first_ow = pad_w.saturating_sub(j).div_ceil(stride_w).min(out_w);
    let end_ow = (in_w + pad_w)
        .checked_sub(j + 1)
        .map_or(0, |last| (last / stride_w + 1).min(out_w))
        .max(first_ow);
    if g.stride == [1, 1] && out_w == in_w {
        let shift = (i, j as isize - pad_w as isize);
        return shifted_rows(plane, g, shift, rows, first_ow..end_ow, dst);
    }
    for (out_row, oh) in dst.chunks_exact_mut(out_w).zip(rows) {
        let ih = (oh * stride_h + i)
            .checked_sub(pad_h)
            .filter(|&ih| ih < in_h);
        let Some(ih) = ih else {
            out_row.fill(0.0);
            continue;
        };
        let src = &plane[ih * in_w..(ih + 1) * in_w];
        out_row[..first_ow].fill(0.0);
        out_row[end_ow..].fill(0.0);
        let inside = &mut out_row[first_ow..end_ow];
        let start = first_ow * stride_w + j - pad_w;
        if stride_w == 1 {
            inside.copy_from_slice(&src[start..start + inside.len()]);
        } else {
            for (k, value) in inside.iter_mut().enumerate() {
                *value = src[start + k * stride_w];
            }
        }
    }
}

/// [`col_row`] for stride 1 where output rows are as wide as input rows (ResNet's 3×3 with
/// padding 1): the output rows that read the input are one run of the plane shifted by
/// `j − pad` columns, copied at once, then the columns over the left and right padding
/// (outside `inside`) zeroed in each row; rows over the top and bottom padding are zero.
fn shifted_rows(
    plane: &[f32],
    g: &Geometry,
    (i, shift): (usize, isize),
    rows: Range<usize>,
    inside: Range<usize>,
    dst: &mut [f32],
) {
    let [in_h, w] = g.in_hw;
    let pad_h = g.pad[0];
    // Output rows whose input row `oh + i − pad` exists.
    let first = pad_h.saturating_sub(i).clamp(rows.start, rows.end);
    let end = (in_h + pad_h).saturating_sub(i).clamp(first, rows.end);
    let (before, rest) = dst.split_at_mut((first - rows.start) * w);
    let (run, after) = rest.split_at_mut((end - first) * w);
    before.fill(0.0);
    after.fill(0.0);
    if run.is_empty() {
        return;
    }
    // `run[q]` reads `plane[start + q]`; the ends that would fall outside the plane are
    // padding columns, zeroed below.
    let start = ((first + i - pad_h) * w) as isize + shift;
    let skip = (-start).max(0) as usize;
    let from = start.max(0) as usize;
    let len = (run.len() - skip.min(run.len())).min(plane.len().saturating_sub(from));
    run[skip..skip + len].copy_from_slice(&plane[from..from + len]);
    for row in run.chunks_exact_mut(w) {
        row[..inside.start].fill(0.0);
        row[inside.end..].fill(0.0);
    }
}
