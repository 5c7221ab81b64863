//! PyTorch state dicts read from bytes, on every target (the page converts checkpoints in
//! its worker, the CLI the same way): `torch.save(model.state_dict())` in the zip format
//! (PyTorch ≥ 1.6) or the legacy one, or a checkpoint dict holding one under `state_dict`,
//! `model_state_dict` or `model`. Tensors of any float or integer storage come out as f32,
//! written as one safetensors buffer for burn's store.

mod pickle;
mod write;
mod zip;

use std::collections::BTreeMap;

use half::{bf16, f16};

use pickle::{StorageRef, TensorRef, Value, unpickle};
pub use write::{NamedTensor, write_state_dict};
/// The entries of a zip archive (CRC-32 checked), by name, as byte ranges of its contents.
pub use zip::entries as zip_entries;

use super::infer::Shapes;

/// Why bytes are not a state dict we can read. Each message names the problem for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the file ends early: it is truncated, or not a PyTorch checkpoint")]
    Truncated,
    #[error("this is not a PyTorch checkpoint (expected a file written by torch.save)")]
    NotCheckpoint,
    #[error("`{0}` inside the file is compressed; torch.save writes checkpoints uncompressed")]
    Compressed(String),
    #[error("`{0}` inside the file is damaged (its checksum does not match)")]
    Damaged(String),
    #[error("the checkpoint's pickle cannot be read: {0}")]
    Pickle(String),
    #[error(
        "the file holds {0}, not a state dict: save it with torch.save(model.state_dict(), path)"
    )]
    NotStateDict(String),
    #[error("the checkpoint was written on a big-endian machine, which is not supported")]
    BigEndian,
    #[error("tensor `{key}` has an unsupported storage type {kind}")]
    Storage { key: String, kind: String },
    #[error("tensor `{0}` reaches beyond its storage")]
    OutOfBounds(String),
}

/// The storage types a state dict uses, read as f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    F32,
    F64,
    F16,
    Bf16,
    I64,
    I32,
    I16,
    I8,
    U8,
}

impl Element {
    /// The element type of a storage class (`FloatStorage`, …).
    fn of(kind: &str) -> Option<Self> {
        Some(match kind {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "HalfStorage" => Self::F16,
            "BFloat16Storage" => Self::Bf16,
            "LongStorage" => Self::I64,
            "IntStorage" => Self::I32,
            "ShortStorage" => Self::I16,
            "CharStorage" => Self::I8,
            "ByteStorage" | "BoolStorage" => Self::U8,
            _ => return None,
        })
    }

    /// Bytes per element.
    fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 | Self::Bf16 | Self::I16 => 2,
            Self::I8 | Self::U8 => 1,
        }
    }

    /// The little-endian element at the start of `b`, as f32.
    fn read(self, b: &[u8]) -> f32 {
        let n = |k: usize| -> [u8; 8] {
            let mut out = [0; 8];
            out[..k].copy_from_slice(&b[..k]);
            out
        };
        match self {
            Self::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            Self::F64 => f64::from_le_bytes(n(8)) as f32,
            Self::F16 => f16::from_le_bytes([b[0], b[1]]).to_f32(),
            Self::Bf16 => bf16::from_le_bytes([b[0], b[1]]).to_f32(),
            Self::I64 => i64::from_le_bytes(n(8)) as f32,
            Self::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
            Self::I16 => f32::from(i16::from_le_bytes([b[0], b[1]])),
            Self::I8 => f32::from(b[0] as i8),
            Self::U8 => f32::from(b[0]),
        }
    }
}

/// A state dict: each tensor's view and the storages' bytes (borrowed from the file).
#[derive(Debug)]
pub struct Checkpoint<'a> {
    tensors: BTreeMap<String, TensorRef>,
    storages: BTreeMap<String, &'a [u8]>,
}

impl<'a> Checkpoint<'a> {
    /// Reads the state dict in `bytes` (zip or legacy format).
    pub fn read(bytes: &'a [u8]) -> Result<Self, CheckpointError> {
        let checkpoint = if zip::is_zip(bytes) {
            read_zip(bytes)?
        } else if bytes.starts_with(&[0x80]) {
            read_legacy(bytes)?
        } else {
            return Err(CheckpointError::NotCheckpoint);
        };
        checkpoint.check()?;
        Ok(checkpoint)
    }

    /// Every tensor's key and shape.
    pub fn shapes(&self) -> Shapes {
        self.tensors
            .iter()
            .map(|(k, t)| (k.clone(), t.shape.clone()))
            .collect()
    }

    /// Every storage a tensor views is present, of a known type, and holds the view.
    fn check(&self) -> Result<(), CheckpointError> {
        for (key, t) in &self.tensors {
            let size = Element::of(&t.storage.kind)
                .ok_or_else(|| CheckpointError::Storage {
                    key: key.clone(),
                    kind: t.storage.kind.clone(),
                })?
                .size();
            let data = self
                .storages
                .get(&t.storage.key)
                .ok_or_else(|| CheckpointError::OutOfBounds(key.clone()))?;
            let last = t
                .shape
                .iter()
                .zip(&t.stride)
                .try_fold(t.offset, |acc, (&n, &s)| {
                    if n == 0 {
                        None
                    } else {
                        acc.checked_add((n - 1).checked_mul(s)?)
                    }
                });
            let fits = match last {
                // An empty tensor reads nothing.
                None => t.shape.contains(&0),
                Some(last) => last < t.storage.numel && (last + 1) * size <= data.len(),
            };
            if !fits {
                return Err(CheckpointError::OutOfBounds(key.clone()));
            }
        }
        Ok(())
    }

    /// `key`'s values as f32, row-major.
    fn values(&self, t: &TensorRef) -> Vec<f32> {
        let element = Element::of(&t.storage.kind).expect("checked on reading");
        let size = element.size();
        let data = self.storages[&t.storage.key];
        let count: usize = t.shape.iter().product();
        if is_contiguous(&t.shape, &t.stride) {
            let bytes = &data[t.offset * size..(t.offset + count) * size];
            return bytes.chunks_exact(size).map(|b| element.read(b)).collect();
        }
        let mut out = Vec::with_capacity(count);
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..count {
            let at = t.offset
                + index
                    .iter()
                    .zip(&t.stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
            out.push(element.read(&data[at * size..(at + 1) * size]));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < t.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        out
    }

    /// The tensors as one safetensors buffer of f32 tensors (what burn's store reads).
    pub fn to_safetensors(&self) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut offset = 0usize;
        for (key, t) in &self.tensors {
            let bytes = t.shape.iter().product::<usize>() * 4;
            header.insert(
                key.clone(),
                serde_json::json!({
                    "dtype": "F32",
                    "shape": t.shape,
                    "data_offsets": [offset, offset + bytes],
                }),
            );
            offset += bytes;
        }
        let mut json = serde_json::to_vec(&header).expect("a JSON map serialises");
        while !json.len().is_multiple_of(8) {
            json.push(b' ');
        }
        let mut out = Vec::with_capacity(8 + json.len() + offset);
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        for t in self.tensors.values() {
            for v in self.values(t) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }
}

/// Whether `stride` lays `shape` out row-major without gaps (dimensions of size 1 aside).
fn is_contiguous(shape: &[usize], stride: &[usize]) -> bool {
    let mut expected = 1;
    for (&n, &s) in shape.iter().zip(stride).rev() {
        if n != 1 && s != expected {
            return false;
        }
        expected *= n;
    }
    true
}

/// The tensors of a state dict, found at the pickle's root or under a checkpoint dict's
/// usual keys.
fn state_dict(root: Value) -> Result<BTreeMap<String, TensorRef>, CheckpointError> {
    let tensors = |entries: &[(Value, Value)]| -> BTreeMap<String, TensorRef> {
        entries
            .iter()
            .filter_map(|(k, v)| match (k, v) {
                (Value::Str(k), Value::Tensor(t)) => Some((k.clone(), t.clone())),
                _ => None,
            })
            .collect()
    };
    match root {
        Value::Dict(entries) => {
            let direct = tensors(&entries);
            if !direct.is_empty() {
                return Ok(direct);
            }
            for wanted in ["state_dict", "model_state_dict", "model"] {
                let nested = entries.iter().find_map(|(k, v)| match (k, v) {
                    (Value::Str(k), Value::Dict(inner)) if k == wanted => Some(tensors(inner)),
                    _ => None,
                });
                if let Some(nested) = nested.filter(|t| !t.is_empty()) {
                    return Ok(nested);
                }
            }
            Err(CheckpointError::NotStateDict(
                "a dict without tensors".to_owned(),
            ))
        }
        Value::Other(name) => Err(CheckpointError::NotStateDict(format!("a `{name}` object"))),
        other => Err(CheckpointError::NotStateDict(kind_of(&other).to_owned())),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "a list",
        Value::Tuple(_) => "a tuple",
        Value::Tensor(_) => "a single tensor",
        _ => "a single value",
    }
}

fn read_zip(bytes: &[u8]) -> Result<Checkpoint<'_>, CheckpointError> {
    let entries = zip::entries(bytes)?;
    let (pickle_name, pickle) = entries
        .iter()
        .find(|(name, _)| name.ends_with("data.pkl"))
        .ok_or(CheckpointError::NotCheckpoint)?;
    let prefix = &pickle_name[..pickle_name.len() - "data.pkl".len()];
    if let Some(order) = entries.get(&format!("{prefix}byteorder"))
        && bytes[order.clone()].starts_with(b"big")
    {
        return Err(CheckpointError::BigEndian);
    }
    let (root, _) = unpickle(&bytes[pickle.clone()])?;
    let tensors = state_dict(root)?;
    let data = format!("{prefix}data/");
    let storages = entries
        .iter()
        .filter_map(|(name, range)| {
            let key = name.strip_prefix(&data)?;
            Some((key.to_owned(), &bytes[range.clone()]))
        })
        .collect();
    Ok(Checkpoint { tensors, storages })
}

/// The legacy format: pickles of the magic number, the protocol version and the system's
/// description, the state dict, the storage keys in order; then each storage as an 8-byte
/// element count and its elements.
fn read_legacy(bytes: &[u8]) -> Result<Checkpoint<'_>, CheckpointError> {
    let mut at = 0;
    let next = |at: &mut usize| -> Result<Value, CheckpointError> {
        let (v, used) = unpickle(&bytes[*at..])?;
        *at += used;
        Ok(v)
    };
    let magic = next(&mut at)?;
    if !matches!(&magic, Value::Other(m) if m.starts_with("long of 10")) {
        return Err(CheckpointError::NotCheckpoint);
    }
    let _protocol = next(&mut at)?;
    if let Value::Dict(info) = next(&mut at)? {
        let little = info.iter().find_map(|(k, v)| match (k, v) {
            (Value::Str(k), Value::Bool(b)) if k == "little_endian" => Some(*b),
            _ => None,
        });
        if little == Some(false) {
            return Err(CheckpointError::BigEndian);
        }
    }
    let tensors = state_dict(next(&mut at)?)?;
    let Value::List(keys) = next(&mut at)? else {
        return Err(CheckpointError::Pickle(
            "no list of storage keys".to_owned(),
        ));
    };
    let kinds: BTreeMap<&str, &StorageRef> = tensors
        .values()
        .map(|t| (t.storage.key.as_str(), &t.storage))
        .collect();
    let mut storages = BTreeMap::new();
    for key in keys {
        let Value::Str(key) = key else {
            return Err(CheckpointError::Pickle(
                "a storage key is not a string".to_owned(),
            ));
        };
        let count = bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .ok_or(CheckpointError::Truncated)?;
        let size = kinds
            .get(key.as_str())
            .and_then(|s| Element::of(&s.kind))
            .map_or(4, Element::size);
        let len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(size))
            .ok_or(CheckpointError::Truncated)?;
        let data = bytes
            .get(at + 8..at + 8 + len)
            .ok_or(CheckpointError::Truncated)?;
        storages.insert(key, data);
        at += 8 + len;
    }
    Ok(Checkpoint { tensors, storages })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pickle opcode writer, for state dicts torch.save could have written.
    #[derive(Default)]
    struct Pickle(Vec<u8>);

    impl Pickle {
        fn op(mut self, bytes: &[u8]) -> Self {
            self.0.extend_from_slice(bytes);
            self
        }
        fn global(self, module: &str, name: &str) -> Self {
            self.op(format!("c{module}\n{name}\n").as_bytes())
        }
        fn str(self, s: &str) -> Self {
            let len = (s.len() as u32).to_le_bytes();
            self.op(b"X").op(&len).op(s.as_bytes())
        }
        fn int(self, v: u8) -> Self {
            self.op(&[b'K', v])
        }
        fn ints(self, vs: &[u8]) -> Self {
            vs.iter().fold(self.op(b"("), |p, &v| p.int(v)).op(b"t")
        }
        /// `_rebuild_tensor_v2(storage(kind, key, numel), offset, shape, stride, False, {})`.
        fn tensor(
            self,
            kind: &str,
            key: &str,
            numel: u8,
            offset: u8,
            shape: &[u8],
            stride: &[u8],
        ) -> Self {
            self.global("torch._utils", "_rebuild_tensor_v2")
                .op(b"((")
                .str("storage")
                .global("torch", kind)
                .str(key)
                .str("cpu")
                .int(numel)
                .op(b"tQ")
                .int(offset)
                .ints(shape)
                .ints(stride)
                .op(&[0x89])
                .global("collections", "OrderedDict")
                .op(b")R")
                .op(b"tR")
        }
    }

    use super::write::zip_stored as zip;

    fn floats(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The safetensors buffer's header and values, read back independently.
    fn read_back(buffer: &[u8]) -> (serde_json::Value, Vec<f32>) {
        let n = u64::from_le_bytes(buffer[..8].try_into().unwrap()) as usize;
        let header = serde_json::from_slice(&buffer[8..8 + n]).unwrap();
        let values = buffer[8 + n..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        (header, values)
    }

    #[test]
    fn a_zip_state_dict_with_strided_and_half_tensors_is_read_as_f32() {
        // `w`: a 2×3 view with transposed strides of storage 0 (6 floats); `h`: f16 values.
        let pickle = Pickle::default()
            .op(&[0x80, 2])
            .global("collections", "OrderedDict")
            .op(b")Rq\x01(")
            .str("w")
            .tensor("FloatStorage", "0", 6, 0, &[2, 3], &[1, 2])
            .str("h")
            .tensor("HalfStorage", "1", 2, 0, &[2], &[1])
            .op(b"u.");
        let half: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect();
        let bytes = zip(&[
            ("m/data.pkl", &pickle.0[..]),
            ("m/byteorder", &b"little"[..]),
            ("m/data/0", &floats(&[0., 1., 2., 3., 4., 5.])[..]),
            ("m/data/1", &half[..]),
        ]);
        let checkpoint = Checkpoint::read(&bytes).unwrap();
        assert_eq!(
            checkpoint.shapes(),
            Shapes::from([("h".into(), vec![2]), ("w".into(), vec![2, 3])])
        );
        let (header, values) = read_back(&checkpoint.to_safetensors());
        assert_eq!(header["w"]["shape"], serde_json::json!([2, 3]));
        assert_eq!(header["h"]["data_offsets"], serde_json::json!([0, 8]));
        // h first (sorted), then w row by row: w[i][j] = storage[i + 2j].
        assert_eq!(values, [1.5, -2.0, 0., 2., 4., 1., 3., 5.]);
    }

    #[test]
    fn a_checkpoint_dict_holding_a_state_dict_is_read() {
        let pickle = Pickle::default()
            .op(&[0x80, 2, b'}', b'('])
            .str("epoch")
            .int(7)
            .str("state_dict")
            .global("collections", "OrderedDict")
            .op(b")R(")
            .str("fc.bias")
            .tensor("FloatStorage", "0", 2, 0, &[2], &[1])
            .op(b"uu.");
        let bytes = zip(&[
            ("c/data.pkl", &pickle.0[..]),
            ("c/data/0", &floats(&[3., 4.])[..]),
        ]);
        let checkpoint = Checkpoint::read(&bytes).unwrap();
        assert_eq!(checkpoint.shapes().keys().collect::<Vec<_>>(), ["fc.bias"]);
    }

    #[test]
    fn a_written_state_dict_reads_back() {
        let tensors = [
            NamedTensor {
                key: "fc.weight".into(),
                shape: vec![2, 3],
                values: vec![1., 2., 3., 4., 5., 6.],
            },
            NamedTensor {
                key: "fc.bias".into(),
                shape: vec![2],
                values: vec![-1., 0.5],
            },
        ];
        let bytes = write_state_dict("m", &tensors);
        let checkpoint = Checkpoint::read(&bytes).unwrap();
        assert_eq!(
            checkpoint.shapes(),
            Shapes::from([
                ("fc.bias".into(), vec![2]),
                ("fc.weight".into(), vec![2, 3])
            ])
        );
        let (_, values) = read_back(&checkpoint.to_safetensors());
        assert_eq!(values, [-1., 0.5, 1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn wrong_files_are_named_for_what_they_are() {
        let model = Pickle::default()
            .op(&[0x80, 2])
            .global("torchvision.models.resnet", "ResNet")
            .op(b")\x81}b.");
        let bytes = zip(&[("x/data.pkl", &model.0[..])]);
        let err = Checkpoint::read(&bytes).unwrap_err();
        assert!(
            err.to_string().contains("torchvision.models.resnet.ResNet")
                && err.to_string().contains("model.state_dict()"),
            "{err}"
        );
        assert_eq!(
            Checkpoint::read(b"GIF89a").unwrap_err(),
            CheckpointError::NotCheckpoint
        );
        let good = Pickle::default()
            .op(&[0x80, 2])
            .global("collections", "OrderedDict")
            .op(b")R(")
            .str("w")
            .tensor("FloatStorage", "0", 5, 1, &[4], &[1])
            .op(b"u.");
        let past_the_end = zip(&[
            ("y/data.pkl", &good.0[..]),
            ("y/data/0", &floats(&[0.; 4])[..]),
        ]);
        assert_eq!(
            Checkpoint::read(&past_the_end).unwrap_err(),
            CheckpointError::OutOfBounds("w".into())
        );
        let mut damaged = zip(&[
            ("y/data.pkl", &good.0[..]),
            ("y/data/0", &floats(&[0.; 5])[..]),
        ]);
        // A byte inside the pickle's contents (after its 30-byte header and name).
        damaged[30 + "y/data.pkl".len() + 5] ^= 0xff;
        assert!(matches!(
            Checkpoint::read(&damaged).unwrap_err(),
            CheckpointError::Damaged(_)
        ));
        let whole = zip(&[
            ("y/data.pkl", &good.0[..]),
            ("y/data/0", &floats(&[0.; 5])[..]),
        ]);
        assert_eq!(
            Checkpoint::read(&whole[..whole.len() - 30]).unwrap_err(),
            CheckpointError::Truncated
        );
        assert!(Checkpoint::read(&whole).is_ok());
    }
}
