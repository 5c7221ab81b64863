//! The target's softmax probability for batches of inputs, in chunks of a bounded size.

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

use super::TrustError;
use crate::cam::read_f32;
use crate::model::StagedClassifier;

/// Softmax probability of `class` for every input of `batch` (`[n, 3, H, W]`), `chunk`
/// inputs per forward pass.
pub(crate) async fn probabilities<M: StagedClassifier + ?Sized>(
    model: &M,
    batch: Tensor<4>,
    class: usize,
    chunk: usize,
) -> Result<Vec<f32>, TrustError> {
    let [n, _, _, _] = batch.dims();
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(chunk.max(1)) {
        let len = chunk.max(1).min(n - start);
        let logits = model.forward(batch.clone().narrow(0, start, len));
        out.extend(read_f32(softmax(logits, 1).narrow(1, class, 1)).await?);
    }
    Ok(out)
}

/// [`probabilities`] of inputs built on the host (each `3 × H × W` values), uploaded
/// `chunk` at a time.
pub(crate) async fn probabilities_of_host<M: StagedClassifier + ?Sized>(
    model: &M,
    inputs: &[Vec<f32>],
    (height, width): (usize, usize),
    class: usize,
    chunk: usize,
    device: &burn::tensor::Device,
) -> Result<Vec<f32>, TrustError> {
    let mut out = Vec::with_capacity(inputs.len());
    for group in inputs.chunks(chunk.max(1)) {
        let flat: Vec<f32> = group.iter().flatten().copied().collect();
        let data = burn::tensor::TensorData::new(flat, [group.len(), 3, height, width]);
        let batch = Tensor::<4>::from_data(data, device);
        out.extend(probabilities(model, batch, class, group.len()).await?);
    }
    Ok(out)
}
