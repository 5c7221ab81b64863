//! Convolution on the CPU backend (burn-flex) as one matrix product per image, written
//! straight into the output.
//!
//! burn-flex's general convolution re-lays the weights out and copies the input to NHWC on one
//! thread on every call, builds im2col on one thread when a layer has a single 512-pixel tile
//! (ResNet's layer3 and layer4 do), multiplies into a temporary and copies it out, then adds
//! the bias in another pass. Here, for `groups = 1` and `dilation = 1`:
//!
//! - the weights `[O, C, kh, kw]` are already the `[O, C·kh·kw]` matrix the product needs;
//! - im2col is built from the NCHW input as `[C·kh·kw, OH·OW]` (a row per weight column, each
//!   row a run of shifted input rows); a 1×1, stride-1, unpadded convolution skips it (the
//!   input plane already is that matrix);
//! - gemm writes `[O, OH·OW]`, which is the image's NCHW output, onto the bias it was filled
//!   with;
//! - a small output (ResNet's layer2 to layer4) is one product, its output channels cut into
//!   one block per thread, and im2col's rows shared among the threads; a large one (the stem,
//!   layer1) is cut into bands of output rows, one thread per band, so that each band's
//!   im2col stays in cache.
//!
//! Anything else (another backend, autodiff tensors, groups, dilation, other dtypes) goes
//! through burn's own `Conv2d::forward`, so gradients are untouched.

use core::ops::Range;

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::{Bytes, DType, Shape, Tensor};

/// `conv.forward(x)`, on flex's plain tensors by the product above.
pub(crate) fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match plan(conv, &x) {
        Some(plan) => plan.run(),
        None => conv.forward(x),
    }
}

/// The flex tensors and sizes of one eligible convolution.
struct Plan {
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    geometry: Geometry,
}

/// Sizes of a convolution with `groups = 1` and `dilation = 1`.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    channels_in: usize,
    channels_out: usize,
    in_hw: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    /// Top and left padding (bottom and right follow from the output size).
    pad: [usize; 2],
    out_hw: [usize; 2],
}

impl Geometry {
    /// Rows of the im2col matrix: one per weight column.
    fn col_rows(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    fn out_pixels(&self) -> usize {
        self.out_hw[0] * self.out_hw[1]
    }

    /// A 1×1, stride-1, unpadded convolution: the input plane is the im2col matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.pad == [0, 0]
    }
}

/// The flex primitives of `x` and `conv`'s parameters when the fast path applies.
fn plan(conv: &Conv2d, x: &Tensor<4>) -> Option<Plan> {
    if conv.groups != 1 || conv.dilation != [1, 1] {
        return None;
    }
    let x = flex_f32(x.clone())?;
    let weight = flex_f32(conv.weight.val())?;
    let bias = match &conv.bias {
        Some(bias) => Some(flex_f32(bias.val())?),
        None => None,
    };
    let [batch, channels_in, in_h, in_w] = dims(&x)?;
    let [channels_out, weight_in, kh, kw] = dims(&weight)?;
    if weight_in != channels_in {
        return None;
    }
    let [stride_h, stride_w] = conv.stride;
    let (top, bottom) = padding(&conv.padding, Axis::Height, in_h, kh, stride_h);
    let (left, right) = padding(&conv.padding, Axis::Width, in_w, kw, stride_w);
    let out = |size: usize, before: usize, after: usize, k: usize, s: usize| {
        (size + before + after)
            .checked_sub(k)
            .map(|span| span / s + 1)
    };
    let geometry = Geometry {
        batch,
        channels_in,
        channels_out,
        in_hw: [in_h, in_w],
        kernel: [kh, kw],
        stride: conv.stride,
        pad: [top, left],
        out_hw: [
            out(in_h, top, bottom, kh, stride_h)?,
            out(in_w, left, right, kw, stride_w)?,
        ],
    };
    Some(Plan {
        x,
        weight,
        bias,
        geometry,
    })
}

enum Axis {
    Height,
    Width,
}

/// Padding before and after along `axis`, as `Conv2d::forward` computes it (`Same`: the
/// output is `⌈size / stride⌉` long, the odd pixel of padding after).
fn padding(
    config: &PaddingConfig2d,
    axis: Axis,
    size: usize,
    kernel: usize,
    stride: usize,
) -> (usize, usize) {
    match (config, axis) {
        (PaddingConfig2d::Valid, _) => (0, 0),
        (PaddingConfig2d::Explicit(top, _, bottom, _), Axis::Height) => (*top, *bottom),
        (PaddingConfig2d::Explicit(_, left, _, right), Axis::Width) => (*left, *right),
        (PaddingConfig2d::Same, _) => {
            let out = size.div_ceil(stride);
            let total = if out == 0 {
                0
            } else {
                ((out - 1) * stride + kernel).saturating_sub(size)
            };
            (total / 2, total - total / 2)
        }
    }
}

/// `tensor` as a plain (not autodiff) f32 flex primitive, or `None`.
fn flex_f32<const D: usize>(tensor: Tensor<D>) -> Option<FlexTensor> {
    let tensor = tensor.try_into_primitive::<Flex>().ok()?;
    (tensor.dtype() == DType::F32).then_some(tensor)
}

fn dims(tensor: &FlexTensor) -> Option<[usize; 4]> {
    <[usize; 4]>::try_from(&tensor.layout().shape()[..]).ok()
}

/// The tensor's elements in row-major order (copied only when its layout is not).
fn row_major(tensor: &FlexTensor) -> FlexTensor {
    if tensor.is_contiguous() && tensor.layout().start_offset() == 0 {
        tensor.clone()
    } else {
        tensor.to_contiguous()
    }
}

impl Plan {
    fn run(self) -> Tensor<4> {
        let g = self.geometry;
        let x = row_major(&self.x);
        let weight = row_major(&self.weight);
        let bias = self.bias.as_ref().map(row_major);
        let x: &[f32] = &x.storage()[..g.batch * g.channels_in * g.in_hw[0] * g.in_hw[1]];
        let weight: &[f32] = &weight.storage()[..g.channels_out * g.col_rows()];
        let bias: Option<&[f32]> = bias.as_ref().map(|b| &b.storage()[..g.channels_out]);

        let out_plane = g.channels_out * g.out_pixels();
        let mut output = vec![0.0f32; g.batch * out_plane];
        let in_plane = g.channels_in * g.in_hw[0] * g.in_hw[1];
        let bands = bands(&g);
        for (image, out) in output.chunks_exact_mut(out_plane).enumerate() {
            let input = &x[image * in_plane..(image + 1) * in_plane];
            if let Some(bias) = bias {
                for (plane, &b) in out.chunks_exact_mut(g.out_pixels()).zip(bias) {
                    plane.fill(b);
                }
            }
            let out = OutPtr(out.as_mut_ptr());
            let job = |rows: Range<usize>, threaded| {
                // SAFETY: each band writes only its own output columns (`rows` × OW) of the
                // `[O, OH·OW]` plane `out` points to, and the bands do not overlap.
                unsafe { band(input, weight, &g, rows, out, bias.is_some(), threaded) }
            };
            match bands.as_slice() {
                [rows] => job(rows.clone(), PARALLEL),
                _ => for_each_range(&bands, |rows| job(rows, false)),
            }
        }
        let shape = Shape::from(vec![g.batch, g.channels_out, g.out_hw[0], g.out_hw[1]]);
        let tensor = FlexTensor::new(
            Bytes::from_elems(output),
            Layout::contiguous(shape),
            DType::F32,
        );
        Tensor::from_primitive::<Flex>(tensor)
    }
}

/// Whether this build has rayon's threads (natively, and in the page's threaded build).
const PARALLEL: bool = cfg!(any(not(target_arch = "wasm32"), feature = "threads"));

/// Output pixels per band when a large output is split among threads (burn-flex's tile).
const BAND_PIXELS: usize = 512;

/// The output rows of each band: one band, threaded inside, below four bands' worth of
/// pixels (ResNet's layer2 to layer4: one product large enough to share); otherwise bands of
/// about [`BAND_PIXELS`] whose im2col stays in cache, one thread each (one after the other
/// in a build without threads).
fn bands(g: &Geometry) -> Vec<Range<usize>> {
    let [out_h, out_w] = g.out_hw;
    if g.out_pixels() < 4 * BAND_PIXELS {
        return core::iter::once(0..out_h).collect();
    }
    let rows = (BAND_PIXELS / out_w).max(1);
    (0..out_h)
        .step_by(rows)
        .map(|first| first..(first + rows).min(out_h))
        .collect()
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
    accumulate: bool,
    threaded: bool,
) {
    let out_w = g.out_hw[1];
    let (first, pixels) = (rows.start * out_w, rows.len() * out_w);
    let col;
    let (rhs, rhs_stride) = if g.is_pointwise() {
        (&input[first..], g.out_pixels())
    } else {
        let mut rows_of_col = vec![0.0f32; g.col_rows() * pixels];
        let fill = |(row, dst): (usize, &mut [f32])| col_row(input, g, row, rows.clone(), dst);
        if threaded {
            for_each_chunk(&mut rows_of_col, pixels, fill);
        } else {
            rows_of_col
                .chunks_exact_mut(pixels)
                .enumerate()
                .for_each(fill);
        }
        col = rows_of_col;
        (&col[..], pixels)
    };
    let (m, k) = (g.channels_out, g.col_rows());
    assert!(weight.len() >= m * k && rhs.len() >= (k - 1) * rhs_stride + pixels);
    let share = threaded && shares_work(m, pixels, k);
    let product = |channels: Range<usize>, parallelism| {
        // SAFETY: `weight` is `[m, k]` and `rhs` `[k, pixels]` with row stride `rhs_stride`
        // (checked above); `out + first` with row stride OH·OW is this band's part of the
        // plane (the caller's promise), of which `channels` are written here; it aliases
        // neither operand.
        unsafe {
            gemm::gemm(
                channels.len(),
                pixels,
                k,
                out.at(first + channels.start * g.out_pixels()),
                1,
                g.out_pixels() as isize,
                accumulate,
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
    };
    match channel_split(m).filter(|_| share) {
        Some(split) => for_each_range(&split, |channels| {
            product(channels, gemm::Parallelism::None)
        }),
        None => product(0..m, parallelism(share)),
    }
}

/// Whether a product `[m, k] · [k, n]` is worth sharing among threads: burn-flex's threshold,
/// `m·n·k ≥ 192³`.
fn shares_work(m: usize, n: usize, k: usize) -> bool {
    m * n * k >= 192 * 192 * 192
}

/// The output channels cut into one block per thread (16-channel multiples: gemm's AVX-512
/// register height), each block multiplied on its thread without gemm's own threads. Where
/// there are at least 16 channels per thread this beats handing the whole product to gemm's
/// threads (ResNet-101's layer3 ≈ 75 → 66 ms on 2 cores, BENCHMARKS.md); otherwise `None`.
fn channel_split(m: usize) -> Option<Vec<Range<usize>>> {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        let threads = rayon::current_num_threads();
        if threads > 1 && m >= 16 * threads {
            let per = m.div_ceil(threads).next_multiple_of(16);
            return Some((0..m).step_by(per).map(|c| c..(c + per).min(m)).collect());
        }
    }
    let _ = m;
    None
}

/// gemm's threads (rayon's pool) for a product worth sharing.
fn parallelism(share: bool) -> gemm::Parallelism {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    if share {
        return gemm::Parallelism::Rayon(0);
    }
    let _ = share;
    gemm::Parallelism::None
}

/// `f((index, chunk))` for each `len`-long chunk of `data`, on rayon's threads where the build
/// has them.
fn for_each_chunk(data: &mut [f32], len: usize, f: impl Fn((usize, &mut [f32])) + Send + Sync) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        data.par_chunks_exact_mut(len).enumerate().for_each(f);
    }
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    data.chunks_exact_mut(len).enumerate().for_each(f);
}

/// `f(range)` for each range (bands of rows, blocks of channels), on rayon's threads where
/// the build has them.
fn for_each_range(ranges: &[Range<usize>], f: impl Fn(Range<usize>) + Send + Sync) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        ranges.par_iter().cloned().for_each(f);
    }
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    ranges.iter().cloned().for_each(f);
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

#[cfg(test)]
mod tests {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution};

    use super::*;

    type Case = (
        [usize; 2],
        [usize; 2],
        [usize; 2],
        PaddingConfig2d,
        [usize; 2],
    );

    /// `(channels [in, out], kernel, stride, padding, input [h, w])`: ResNet's and
    /// EfficientNet's shapes, odd sizes, asymmetric padding and kernels wider than the input.
    fn cases() -> Vec<Case> {
        use PaddingConfig2d::{Explicit, Same, Valid};
        vec![
            ([3, 8], [7, 7], [2, 2], Explicit(3, 3, 3, 3), [33, 29]),
            ([16, 16], [3, 3], [1, 1], Explicit(1, 1, 1, 1), [14, 14]),
            ([16, 24], [3, 3], [2, 2], Explicit(1, 1, 1, 1), [15, 12]),
            ([8, 12], [1, 1], [1, 1], Valid, [7, 9]),
            ([8, 12], [1, 1], [2, 2], Valid, [7, 9]),
            ([3, 5], [3, 3], [2, 2], Same, [17, 16]),
            ([4, 6], [5, 3], [1, 2], Explicit(2, 0, 1, 3), [6, 5]),
            ([2, 3], [3, 3], [1, 1], Explicit(4, 4, 4, 4), [2, 3]),
            // One band, its product split by output channels among threads.
            ([64, 48], [3, 3], [1, 1], Explicit(1, 1, 1, 1), [20, 21]),
            // Outputs of ≥ 4 bands: split among threads, the last band short.
            ([4, 6], [3, 3], [1, 1], Explicit(1, 1, 1, 1), [50, 45]),
            ([5, 4], [1, 1], [1, 1], Valid, [48, 47]),
            ([3, 4], [3, 3], [2, 2], Same, [101, 99]),
        ]
    }

    fn max_abs_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        (a - b).abs().max().into_scalar()
    }

    #[test]
    fn equals_burns_convolution_on_every_shape() {
        let device = Device::flex();
        let (mut banded, mut split) = (false, false);
        for (channels, kernel, stride, padding, [h, w]) in cases() {
            for bias in [false, true] {
                let conv = Conv2dConfig::new(channels, kernel)
                    .with_stride(stride)
                    .with_padding(padding.clone())
                    .with_bias(bias)
                    .init(&device);
                let x = Tensor::<4>::random([2, channels[0], h, w], Distribution::Default, &device);
                let what = format!("{channels:?} k{kernel:?} s{stride:?} {padding:?} bias {bias}");
                let plan =
                    plan(&conv, &x).unwrap_or_else(|| panic!("{what}: not on the fast path"));
                let g = plan.geometry;
                banded |= bands(&g).len() > 1;
                split |= bands(&g).len() == 1
                    && shares_work(g.channels_out, g.out_pixels(), g.col_rows())
                    && channel_split(g.channels_out).is_some();
                let ours = conv2d(&conv, x.clone());
                let reference = conv.forward(x);
                assert_eq!(ours.dims(), reference.dims(), "{what}");
                let diff = max_abs_diff(ours, reference);
                assert!(diff < 1e-5, "{what}: max |Δ| {diff}");
            }
        }
        assert!(banded, "no case was split into bands");
        assert!(
            split || rayon::current_num_threads() == 1,
            "no product was split by channels"
        );
    }

    #[test]
    fn a_transposed_input_is_read_in_its_own_layout() {
        let device = Device::flex();
        let conv = Conv2dConfig::new([4, 5], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random([1, 4, 6, 9], Distribution::Default, &device).swap_dims(2, 3);
        let diff = max_abs_diff(conv2d(&conv, x.clone()), conv.forward(x));
        assert!(diff < 1e-5, "max |Δ| {diff}");
    }

    #[test]
    fn autodiff_and_grouped_convolutions_keep_burns_path() {
        let device = Device::flex();
        let grouped = Conv2dConfig::new([4, 4], [3, 3])
            .with_groups(4)
            .init(&device);
        let x = Tensor::<4>::random([1, 4, 5, 5], Distribution::Default, &device);
        assert!(plan(&grouped, &x).is_none());

        let conv = Conv2dConfig::new([4, 3], [3, 3]).init(&device);
        let leaf = x.clone().autodiff().require_grad();
        assert!(plan(&conv, &leaf).is_none());
        let gradients = conv2d(&conv, leaf.clone()).sum().backward();
        let expected = conv.forward(leaf.clone()).sum().backward();
        let ours = leaf.grad(&gradients).unwrap();
        let reference = leaf.grad(&expected).unwrap();
        assert!(max_abs_diff(ours, reference) == 0.0);
    }
}
