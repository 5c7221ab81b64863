//! Our own kernels for the CPU backend (burn-flex), working on flex's buffers: the
//! convolutions ([`conv`]) and the stem's max pool ([`max_pool`]). Each takes flex's plain
//! (not autodiff) f32 tensors and hands anything else to burn's own op, so gradients and
//! the WebGPU path stay burn's.

mod conv;
mod max_pool;
mod scratch;
mod threads;

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::tensor::{Bytes, DType, Device, Shape, Tensor};

pub(crate) use conv::{conv2d, conv2d_relu};
pub(crate) use max_pool::max_pool2d;

/// `f()`, a whole pass of a network on `device`: on flex's, run with the CPU's threads kept
/// awake between its parallel steps (see [`threads::awake`]); on any other, as it is.
pub(crate) fn with_threads_awake<R: Send>(device: &Device, f: impl FnOnce() -> R + Send) -> R {
    if *device == Device::flex() {
        threads::awake(f)
    } else {
        f()
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

/// A contiguous f32 flex tensor of `shape` holding `values`.
fn into_tensor(values: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
    let layout = Layout::contiguous(Shape::from(shape.to_vec()));
    let tensor = FlexTensor::new(Bytes::from_elems(values), layout, DType::F32);
    Tensor::from_primitive::<Flex>(tensor)
}
