//! Max pooling on flex's buffers (ResNet's stem: 3×3, stride 2, padding 1, where burn-flex's
//! own took 5.2 ms of a 7.5 ms stem; this takes under 0.5 ms, BENCHMARKS.md).
//!
//! Each output row is the maximum of its window's input rows, taken elementwise (a run the
//! compiler vectorises), then across each window of that row. Padding never wins: a window
//! is clipped to the input, as PyTorch's −∞ padding behaves.

use core::ops::Range;

use burn::backend::flex::FlexTensor;
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;

use super::{dims, flex_f32, into_tensor, row_major, scratch, threads};

/// `pool.forward(x)`, on flex's plain f32 tensors by the rows above when the pool has
/// explicit (or no) padding, no dilation and floor rounding.
pub(crate) fn max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    match window(pool) {
        Some(window) => match flex_f32(x.clone()) {
            Some(flex) => pool_flex(&flex, &window).unwrap_or_else(|| pool.forward(x)),
            None => pool.forward(x),
        },
        None => pool.forward(x),
    }
}

/// A pool's kernel, stride and top/left/bottom/right padding.
struct Window {
    kernel: [usize; 2],
    stride: [usize; 2],
    /// `[top, left, bottom, right]`.
    pad: [usize; 4],
}

fn window(pool: &MaxPool2d) -> Option<Window> {
    if pool.dilation != [1, 1] || pool.ceil_mode {
        return None;
    }
    let pad = match pool.padding {
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
        PaddingConfig2d::Same => return None,
    };
    Some(Window {
        kernel: pool.kernel_size,
        stride: pool.stride,
        pad,
    })
}

impl Window {
    /// Output length along one axis, `None` when the window does not fit.
    fn out_len(&self, axis: usize, len: usize) -> Option<usize> {
        let padded = len + self.pad[axis] + self.pad[axis + 2];
        let span = padded.checked_sub(self.kernel[axis])?;
        Some(span / self.stride[axis] + 1)
    }

    /// Input indices of output `index`'s window along `axis`, clipped to `0..len`.
    fn inputs(&self, axis: usize, index: usize, len: usize) -> Range<usize> {
        let start = index * self.stride[axis];
        let first = start.saturating_sub(self.pad[axis]).min(len);
        let end = (start + self.kernel[axis])
            .saturating_sub(self.pad[axis])
            .min(len);
        first..end.max(first)
    }
}

fn pool_flex(x: &FlexTensor, window: &Window) -> Option<Tensor<4>> {
    let [batch, channels, h, w] = dims(x)?;
    let (out_h, out_w) = (window.out_len(0, h)?, window.out_len(1, w)?);
    let x = row_major(x);
    let input: &[f32] = &x.storage()[..batch * channels * h * w];
    let mut output = vec![0.0f32; batch * channels * out_h * out_w];
    threads::for_each_chunk(&mut output, out_h * out_w, |(plane, dst)| {
        let src = &input[plane * h * w..][..h * w];
        scratch::with(w, |rows_max| {
            for (oh, out_row) in dst.chunks_exact_mut(out_w).enumerate() {
                let rows = window.inputs(0, oh, h);
                if rows.is_empty() {
                    out_row.fill(f32::NEG_INFINITY);
                    continue;
                }
                rows_max.copy_from_slice(&src[rows.start * w..][..w]);
                for row in rows.skip(1) {
                    for (m, &v) in rows_max.iter_mut().zip(&src[row * w..][..w]) {
                        *m = m.max(v);
                    }
                }
                for (ow, out) in out_row.iter_mut().enumerate() {
                    let cols = window.inputs(1, ow, w);
                    *out = rows_max[cols]
                        .iter()
                        .copied()
                        .fold(f32::NEG_INFINITY, f32::max);
                }
            }
        });
    });
    Some(into_tensor(output, [batch, channels, out_h, out_w]))
}

#[cfg(test)]
mod tests {
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::{Device, Distribution};

    use super::*;

    #[test]
    fn equals_burns_max_pool() {
        let device = Device::flex();
        use PaddingConfig2d::{Explicit, Valid};
        let cases = [
            ([3, 3], [2, 2], Explicit(1, 1, 1, 1), [1, 4, 112, 112]),
            ([3, 3], [2, 2], Explicit(1, 1, 1, 1), [2, 3, 15, 14]),
            ([2, 3], [1, 2], Explicit(0, 1, 1, 0), [1, 2, 7, 9]),
            ([2, 2], [2, 2], Valid, [2, 3, 9, 8]),
        ];
        for (kernel, stride, padding, shape) in cases {
            let pool = MaxPool2dConfig::new(kernel)
                .with_strides(stride)
                .with_padding(padding.clone())
                .init();
            assert!(window(&pool).is_some());
            // Negative values too: a padded position must never win.
            let x = Tensor::<4>::random(shape, Distribution::Normal(-1.0, 1.0), &device);
            let ours = max_pool2d(&pool, x.clone());
            let reference = pool.forward(x);
            assert_eq!(
                ours.dims(),
                reference.dims(),
                "{kernel:?} {stride:?} {padding:?}"
            );
            let diff: f32 = (ours - reference).abs().max().into_scalar();
            assert!(
                diff == 0.0,
                "{kernel:?} {stride:?} {padding:?}: max |Δ| {diff}"
            );
        }
    }

    #[test]
    fn autodiff_tensors_keep_burns_pool_and_its_gradient() {
        let device = Device::flex();
        let pool = MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init();
        let x = Tensor::<4>::random([1, 2, 8, 8], Distribution::Default, &device);
        let leaf = x.autodiff().require_grad();
        let gradients = max_pool2d(&pool, leaf.clone()).sum().backward();
        let expected = pool.forward(leaf.clone()).sum().backward();
        let diff: f32 = (leaf.grad(&gradients).unwrap() - leaf.grad(&expected).unwrap())
            .abs()
            .max()
            .into_scalar();
        assert!(diff == 0.0);
    }
}
