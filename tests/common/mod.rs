//! Helpers shared by the native integration tests (flex backend).

#![allow(dead_code)]
// Native tests run on flex, where a synchronous read-back is fine.
#![allow(clippy::disallowed_methods)]

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor};
use gradcam_web::model::{ResNet, ResNetConfig};

/// A seeded CPU device. The flex seed is process-global and tests run in parallel, so a
/// test may use it for variety but must never rely on getting the same numbers twice.
pub fn device(seed: u64) -> Device {
    let device = Device::flex();
    device.seed(seed);
    device
}

/// A model with randomised batch-norm statistics and affine parameters, so that a test
/// notices if batch norm is skipped or uses batch statistics; in inference mode.
pub fn random_model(config: &ResNetConfig, device: &Device) -> ResNet {
    let model = config.init(device);
    randomise_batch_norms(model, device).valid()
}

fn randomise_batch_norms(mut model: ResNet, device: &Device) -> ResNet {
    let randomise = |bn: Option<&mut burn::nn::BatchNorm>| {
        let bn = bn.expect("an unfolded model has every batch norm");
        let [c] = bn.gamma.shape().dims();
        let uniform = |lo, hi| Tensor::<1>::random([c], Distribution::Uniform(lo, hi), device);
        bn.gamma = Param::from_tensor(uniform(0.5, 1.5));
        bn.beta = Param::from_tensor(uniform(-0.2, 0.2));
        bn.running_mean = burn::module::RunningState::new(uniform(-0.3, 0.3));
        bn.running_var = burn::module::RunningState::new(uniform(0.5, 2.0));
    };
    randomise(model.bn1.as_mut());
    for stage in [
        &mut model.layer1,
        &mut model.layer2,
        &mut model.layer3,
        &mut model.layer4,
    ] {
        for block in stage.iter_mut() {
            randomise(block.bn1.as_mut());
            randomise(block.bn2.as_mut());
            if block.conv3.is_some() {
                randomise(block.bn3.as_mut());
            }
            if let Some(down) = block.downsample.as_mut() {
                randomise(down.bn.as_mut());
            }
        }
    }
    model
}

/// A random normalised-looking input `[1, 3, size, size]`.
pub fn random_input(size: usize, device: &Device) -> Tensor<4> {
    Tensor::random([1, 3, size, size], Distribution::Normal(0.0, 1.0), device)
}

/// Values of a tensor as `f32`.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Largest absolute difference divided by the largest magnitude of `expected`.
pub fn relative_error(actual: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    let diff = actual
        .iter()
        .zip(expected)
        .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
    diff / scale
}

/// A JSON array of numbers (fixture files) as `f32`s.
pub fn json_floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}
