//! Convolution on the CPU backend (burn-flex), written straight into the output by one of
//! two paths, for `groups = 1` and `dilation = 1`:
//!
//! - 3×3, stride 1, with enough output ([`winograd`]): Winograd's F(2×2, 3×3), 16 matrix
//!   products over 4×4 tiles, 2.25× fewer multiplications; the transformed kernels are made
//!   once per weights;
//! - any other kernel and stride ([`im2col`]): one matrix product `[O, C·kh·kw] · im2col` per
//!   image (the weights `[O, C, kh, kw]` already are that matrix), in bands of output rows
//!   for large outputs, its output channels shared among threads for small ones.
//!
//! Both keep their working memory per thread between calls ([`super::scratch`]).
//!
//! burn-flex's own convolution re-lays the weights out and copies the input to NHWC on one
//! thread on every call, builds im2col on one thread when a layer has a single 512-pixel tile
//! (ResNet's layer3 and layer4 do), multiplies into a temporary and copies it out, then adds
//! the bias in another pass; neither path here does.
//!
//! Anything else (another backend, autodiff tensors, groups, dilation, other dtypes) goes
//! through burn's own `Conv2d::forward`, so gradients are untouched.

mod im2col;
mod winograd;

use burn::backend::flex::FlexTensor;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;

use super::{dims, flex_f32, into_tensor, row_major};

/// `conv.forward(x)`, on flex's plain tensors by one of the paths above.
pub(crate) fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match plan(conv, &x) {
        Some(plan) => plan.run(None, false),
        None => conv.forward(x),
    }
}

/// `relu(conv.forward(x) + residual)`, or `relu(conv.forward(x))` without a residual: on
/// flex's plain tensors the residual and the ReLU are applied as the output is written (the
/// product accumulates onto the residual), not in passes of their own.
pub(crate) fn conv2d_relu(conv: &Conv2d, x: Tensor<4>, residual: Option<Tensor<4>>) -> Tensor<4> {
    let fast = plan(conv, &x).and_then(|plan| {
        let residual = match &residual {
            Some(r) => Some(flex_f32(r.clone()).filter(|r| dims(r) == Some(plan.out_dims()))?),
            None => None,
        };
        Some((plan, residual))
    });
    match fast {
        Some((plan, residual)) => plan.run(residual.as_ref(), true),
        None => {
            let out = conv.forward(x);
            relu(match residual {
                Some(residual) => out + residual,
                None => out,
            })
        }
    }
}

/// What the product is written with, one rule for both paths: each run of an output channel
/// is prefilled with the bias plus the residual ([`Epilogue::prefill`]), the product is added
/// onto it, and ReLU is applied to it ([`Epilogue::finish`]), all on the thread computing that
/// run, while it is in cache.
#[derive(Clone, Copy)]
struct Epilogue<'a> {
    /// Per output channel.
    bias: Option<&'a [f32]>,
    /// As the output: `[N, O, OH, OW]`, or `[O, OH, OW]` once cut to an image.
    residual: Option<&'a [f32]>,
    relu: bool,
}

impl Epilogue<'_> {
    /// The epilogue of image `image` of the batch, whose output is `len` values long.
    fn for_image(&self, image: usize, len: usize) -> Self {
        Self {
            residual: self.residual.map(|all| &all[image * len..][..len]),
            ..*self
        }
    }

    /// Writes into `run` (of output channel `channel`, at `at` in the image's output) what
    /// the product is added onto: the bias plus the residual (zeros without either).
    fn prefill(&self, run: &mut [f32], at: usize, channel: usize) {
        let bias = self.bias.map_or(0.0, |bias| bias[channel]);
        match self.residual {
            Some(residual) => {
                let residual = &residual[at..][..run.len()];
                for (value, &r) in run.iter_mut().zip(residual) {
                    *value = r + bias;
                }
            }
            None => run.fill(bias),
        }
    }

    /// What follows the product on a run of the output once written: ReLU, if asked.
    fn finish(&self, run: &mut [f32]) {
        if self.relu {
            for value in run {
                *value = value.max(0.0);
            }
        }
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

impl Plan {
    /// The output's dimensions, `[N, O, OH, OW]`.
    fn out_dims(&self) -> [usize; 4] {
        let g = &self.geometry;
        [g.batch, g.channels_out, g.out_hw[0], g.out_hw[1]]
    }

    /// The convolution, `residual` (of the output's dimensions) added and ReLU applied if
    /// asked.
    fn run(self, residual: Option<&FlexTensor>, relu: bool) -> Tensor<4> {
        let g = self.geometry;
        let len = g.batch * g.channels_out * g.out_pixels();
        let x = row_major(&self.x);
        let bias = self.bias.as_ref().map(row_major);
        let residual = residual.map(row_major);
        let x: &[f32] = &x.storage()[..g.batch * g.channels_in * g.in_hw[0] * g.in_hw[1]];
        let epilogue = Epilogue {
            bias: bias.as_ref().map(|b| &b.storage()[..g.channels_out]),
            residual: residual.as_ref().map(|r| &r.storage()[..len]),
            relu,
        };
        let mut output = vec![0.0f32; len];
        match winograd::kernel(&self.weight, &g) {
            Some(kernel) => winograd::convolve(x, &kernel, &g, epilogue, &mut output),
            None => {
                let weight = row_major(&self.weight);
                let weight: &[f32] = &weight.storage()[..g.channels_out * g.col_rows()];
                im2col::convolve(x, weight, &g, epilogue, &mut output);
            }
        }
        into_tensor(output, self.out_dims())
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution};

    use super::im2col::{bands, channel_split, shares_work};
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
            // Winograd with a channel count no multiple of anything, odd output sizes.
            ([64, 48], [3, 3], [1, 1], Explicit(1, 1, 1, 1), [20, 21]),
            ([5, 7], [3, 3], [1, 1], Explicit(0, 2, 1, 0), [17, 13]),
            ([3, 4], [3, 3], [1, 1], Valid, [19, 16]),
            // im2col in one band, its product split by output channels among threads.
            ([64, 48], [3, 3], [2, 2], Explicit(1, 1, 1, 1), [40, 42]),
            // Winograd on a large output (ResNet's layer1 is 56×56).
            ([4, 6], [3, 3], [1, 1], Explicit(1, 1, 1, 1), [50, 45]),
            // im2col at stride 1 with rows as wide as the input's (rows copied as one
            // shifted run): ResNet's layer3 shape at a batch too small for Winograd, a 5×5,
            // asymmetric padding, and a banded one.
            ([8, 8], [3, 3], [1, 1], Explicit(1, 1, 1, 1), [10, 10]),
            ([3, 4], [5, 5], [1, 1], Explicit(2, 2, 2, 2), [9, 11]),
            ([3, 4], [3, 3], [1, 1], Explicit(0, 2, 2, 0), [8, 7]),
            ([2, 3], [5, 5], [1, 1], Explicit(2, 2, 2, 2), [48, 47]),
            // im2col in ≥ 4 bands: split among threads, the last band short.
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
        let (mut banded, mut split, mut winograd) = (false, false, false);
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
                let tiles = winograd::applies(&g);
                winograd |= tiles;
                banded |= !tiles && bands(&g).len() > 1;
                split |= !tiles
                    && bands(&g).len() == 1
                    && shares_work(g.channels_out, g.out_pixels(), g.col_rows())
                    && channel_split(g.channels_out).is_some();
                let ours = conv2d(&conv, x.clone());
                let reference = conv.forward(x.clone());
                assert_eq!(ours.dims(), reference.dims(), "{what}");
                let diff = max_abs_diff(ours, reference.clone());
                assert!(diff < 1e-5, "{what}: max |Δ| {diff}");
                // The same with ReLU, and with a residual added first.
                let residual =
                    Tensor::<4>::random(reference.dims(), Distribution::Normal(0.0, 1.0), &device);
                let fused = conv2d_relu(&conv, x.clone(), None);
                let diff = max_abs_diff(fused, relu(reference.clone()));
                assert!(diff < 1e-5, "{what}, ReLU: max |Δ| {diff}");
                let fused = conv2d_relu(&conv, x, Some(residual.clone()));
                let diff = max_abs_diff(fused, relu(reference + residual));
                assert!(diff < 1e-5, "{what}, residual and ReLU: max |Δ| {diff}");
            }
        }
        assert!(winograd, "no case took the Winograd path");
        assert!(banded, "no case was split into bands");
        assert!(
            split || rayon::current_num_threads() == 1,
            "no product was split by channels"
        );
    }

    #[test]
    fn bands_share_out_evenly_among_the_threads() {
        let threads = rayon::current_num_threads();
        // ResNet's stem and layer1 outputs, and two odd sizes.
        for [h, w] in [[112, 112], [56, 56], [48, 47], [51, 50]] {
            let g = Geometry {
                batch: 1,
                channels_in: 64,
                channels_out: 64,
                in_hw: [h, w],
                kernel: [1, 1],
                stride: [1, 1],
                pad: [0, 0],
                out_hw: [h, w],
            };
            let bands = bands(&g);
            let covered: Vec<usize> = bands.iter().flat_map(|rows| rows.clone()).collect();
            assert_eq!(
                covered,
                (0..h).collect::<Vec<_>>(),
                "{h}×{w}: rows lost or repeated"
            );
            assert!(bands.len() > 1, "{h}×{w}: not banded");
            assert!(
                threads == 1 || bands.len().is_multiple_of(threads),
                "{h}×{w}: {} bands for {threads} threads",
                bands.len()
            );
        }
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

        // The fused ReLU and residual too: burn's ops and gradient.
        let residual = Tensor::<4>::random([1, 3, 3, 3], Distribution::Default, &device)
            .autodiff()
            .require_grad();
        let fused = conv2d_relu(&conv, leaf.clone(), Some(residual.clone()));
        let gradients = fused.sum().backward();
        let expected = relu(conv.forward(leaf.clone()) + residual.clone())
            .sum()
            .backward();
        for (what, tensor) in [("input", &leaf), ("residual", &residual)] {
            let diff = max_abs_diff(
                tensor.grad(&gradients).unwrap(),
                tensor.grad(&expected).unwrap(),
            );
            assert!(diff == 0.0, "{what}: max |Δ| {diff}");
        }
    }
}
