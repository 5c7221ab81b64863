//! Copying small tensors back to the host, asynchronously (required on WebGPU).

use burn::tensor::Tensor;

use super::CamError;

/// Reads a tensor's values as `f32`, awaiting the device (never blocks on WebGPU).
pub async fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, CamError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| CamError::Device(format!("{e:?}")))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| CamError::Device(format!("{e:?}")))
}
