//! Writing a state dict as `torch.save` does (zip format, f32 storages, protocol-2 pickle),
//! for untrained test checkpoints of any size (`gradcam init-weights --pytorch`): what
//! [`super::Checkpoint::read`] and PyTorch's `torch.load` both read.

/// One tensor: its key, shape and values (row-major).
pub struct NamedTensor {
    /// The state-dict key (`layer1.0.conv1.weight`).
    pub key: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values.
    pub values: Vec<f32>,
}

/// Pickle opcodes as bytes.
#[derive(Default)]
struct Pickle(Vec<u8>);

impl Pickle {
    fn op(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    fn global(&mut self, module: &str, name: &str) -> &mut Self {
        self.op(format!("c{module}\n{name}\n").as_bytes())
    }

    fn text(&mut self, s: &str) -> &mut Self {
        let len = u32::try_from(s.len()).expect("keys are short");
        self.op(b"X").op(&len.to_le_bytes()).op(s.as_bytes())
    }

    fn int(&mut self, v: usize) -> &mut Self {
        let v = i32::try_from(v).expect("sizes below 2^31");
        self.op(b"J").op(&v.to_le_bytes())
    }

    fn ints(&mut self, values: &[usize]) -> &mut Self {
        self.op(b"(");
        for &v in values {
            self.int(v);
        }
        self.op(b"t")
    }
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut out = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        out[d] = out[d + 1] * shape[d + 1];
    }
    out
}

/// The state dict's pickle: an `OrderedDict` of `_rebuild_tensor_v2` calls, storage `i` for
/// tensor `i`.
fn pickle(tensors: &[NamedTensor]) -> Vec<u8> {
    let mut p = Pickle::default();
    p.op(&[0x80, 2])
        .global("collections", "OrderedDict")
        .op(b")R(");
    for (i, t) in tensors.iter().enumerate() {
        p.text(&t.key)
            .global("torch._utils", "_rebuild_tensor_v2")
            .op(b"((")
            .text("storage")
            .global("torch", "FloatStorage")
            .text(&i.to_string())
            .text("cpu")
            .int(t.values.len())
            .op(b"tQ")
            .int(0)
            .ints(&t.shape)
            .ints(&strides(&t.shape))
            .op(&[0x89])
            .global("collections", "OrderedDict")
            .op(b")Rt")
            .op(b"R");
    }
    p.op(b"u.");
    p.0
}

/// A zip archive of stored entries, as PyTorch's writer makes it (without its 64-byte
/// alignment of the data, which readers do not need).
pub(crate) fn zip_stored(entries: &[(&str, &[u8])]) -> Vec<u8> {
    crate::archive::zip_stored(entries).expect("state dicts below 4 GiB")
}

/// `tensors` as a `torch.save` file whose archive folder is `name`.
pub fn write_state_dict(name: &str, tensors: &[NamedTensor]) -> Vec<u8> {
    let pickle = pickle(tensors);
    let data: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let names: Vec<String> = (0..tensors.len())
        .map(|i| format!("{name}/data/{i}"))
        .collect();
    let (pkl, order, version) = (
        format!("{name}/data.pkl"),
        format!("{name}/byteorder"),
        format!("{name}/version"),
    );
    let mut entries: Vec<(&str, &[u8])> = vec![
        (pkl.as_str(), pickle.as_slice()),
        (order.as_str(), &b"little"[..]),
    ];
    entries.extend(
        names
            .iter()
            .map(String::as_str)
            .zip(data.iter().map(Vec::as_slice)),
    );
    entries.push((version.as_str(), &b"3\n"[..]));
    zip_stored(&entries)
}
