//! The subset of Python's pickle machine (protocols 2–5) that `torch.save` writes for a
//! state dict: containers, numbers, strings, globals, `REDUCE` of the few callables a state
//! dict uses (`OrderedDict`, torch's tensor rebuilders) and persistent ids (storages).
//! Anything else becomes [`Value::Other`], named, so that a wrong file is reported as such
//! instead of half-read.

use super::CheckpointError;

/// A value the pickle built.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A dict (insertion order kept, as `OrderedDict`).
    Dict(Vec<(Value, Value)>),
    /// `module.name`, not yet called.
    Global(String),
    /// A storage, from a persistent id: `('storage', torch.FloatStorage, key, location,
    /// numel[, view])`.
    Storage(StorageRef),
    /// A tensor view of a storage (`torch._utils._rebuild_tensor_v2`).
    Tensor(TensorRef),
    /// An object this reader does not build, by the name of what made it.
    Other(String),
}

/// A storage named by a persistent id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    /// The storage class's name (`FloatStorage`, `HalfStorage`, …).
    pub kind: String,
    /// The storage's key (its file in a zip checkpoint).
    pub key: String,
    /// Elements in the storage.
    pub numel: usize,
}

/// A tensor: a strided view of a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRef {
    /// The storage it views.
    pub storage: StorageRef,
    /// Offset in elements.
    pub offset: usize,
    /// Shape.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
}

/// Runs the pickle at the start of `bytes`; returns the value and the bytes it used.
pub fn unpickle(bytes: &[u8]) -> Result<(Value, usize), CheckpointError> {
    let mut m = Machine {
        bytes,
        at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
    };
    let value = m.run()?;
    Ok((value, m.at))
}

struct Machine<'a> {
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
}

fn bad(what: impl Into<String>) -> CheckpointError {
    CheckpointError::Pickle(what.into())
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CheckpointError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(CheckpointError::Truncated)?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, CheckpointError> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N], CheckpointError> {
        Ok(self.take(N)?.try_into().expect("N bytes taken"))
    }

    fn len(&mut self, width: usize) -> Result<usize, CheckpointError> {
        let n = match width {
            1 => u64::from(self.u8()?),
            4 => u64::from(u32::from_le_bytes(self.le()?)),
            _ => u64::from_le_bytes(self.le()?),
        };
        usize::try_from(n).map_err(|_| CheckpointError::Truncated)
    }

    fn line(&mut self) -> Result<String, CheckpointError> {
        let rest = &self.bytes[self.at..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(CheckpointError::Truncated)?;
        let text = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.at += end + 1;
        Ok(text)
    }

    fn text(&mut self, width: usize) -> Result<String, CheckpointError> {
        let n = self.len(width)?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    fn pop(&mut self) -> Result<Value, CheckpointError> {
        self.stack.pop().ok_or_else(|| bad("stack underflow"))
    }

    fn top(&mut self) -> Result<&mut Value, CheckpointError> {
        self.stack.last_mut().ok_or_else(|| bad("stack underflow"))
    }

    /// The values pushed since the last mark, the mark removed.
    fn since_mark(&mut self) -> Result<Vec<Value>, CheckpointError> {
        let mark = self.marks.pop().ok_or_else(|| bad("no mark"))?;
        if mark > self.stack.len() {
            return Err(bad("mark above the stack"));
        }
        Ok(self.stack.split_off(mark))
    }

    fn put(&mut self, index: usize) -> Result<(), CheckpointError> {
        let value = self.top()?.clone();
        if index > 1 << 24 {
            return Err(bad("memo index out of range"));
        }
        if self.memo.len() <= index {
            self.memo.resize(index + 1, None);
        }
        self.memo[index] = Some(value);
        Ok(())
    }

    fn get(&mut self, index: usize) -> Result<(), CheckpointError> {
        let value = self
            .memo
            .get(index)
            .cloned()
            .flatten()
            .ok_or_else(|| bad(format!("memo {index} is empty")))?;
        self.stack.push(value);
        Ok(())
    }

    fn run(&mut self) -> Result<Value, CheckpointError> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.stack.push(Value::Int(i64::from(v)));
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.stack.push(Value::Int(i64::from(v)));
                }
                0x8a | 0x8b => {
                    let n = self.len(if op == 0x8a { 1 } else { 4 })?;
                    let digits = self.take(n)?;
                    if n > 8 {
                        // Only torch's legacy magic number is this long: kept as a marker.
                        self.stack.push(Value::Other(format!("long of {n} bytes")));
                    } else {
                        let mut le = [0u8; 8];
                        le[..n].copy_from_slice(digits);
                        if n > 0 && digits[n - 1] & 0x80 != 0 {
                            le[n..].fill(0xff);
                        }
                        self.stack.push(Value::Int(i64::from_le_bytes(le)));
                    }
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.le()?);
                    self.stack.push(Value::Float(v));
                }
                b'X' => {
                    let s = self.text(4)?;
                    self.stack.push(Value::Str(s));
                }
                0x8c => {
                    let s = self.text(1)?;
                    self.stack.push(Value::Str(s));
                }
                0x8d => {
                    let s = self.text(8)?;
                    self.stack.push(Value::Str(s));
                }
                b'U' | b'T' | b'C' | b'B' | 0x8e => {
                    let width = match op {
                        b'U' | b'C' => 1,
                        b'T' | b'B' => 4,
                        _ => 8,
                    };
                    let n = self.len(width)?;
                    let bytes = self.take(n)?.to_vec();
                    self.stack.push(match op {
                        b'U' | b'T' => Value::Str(String::from_utf8_lossy(&bytes).into_owned()),
                        _ => Value::Bytes(bytes),
                    });
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b't' => {
                    let items = self.since_mark()?;
                    self.stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n {
                        return Err(bad("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items));
                }
                b'l' => {
                    let items = self.since_mark()?;
                    self.stack.push(Value::List(items));
                }
                b'd' => {
                    let items = self.since_mark()?;
                    self.stack.push(Value::Dict(pairs(items)?));
                }
                b'a' => {
                    let item = self.pop()?;
                    push_items(self.top()?, vec![item])?;
                }
                b'e' => {
                    let items = self.since_mark()?;
                    push_items(self.top()?, items)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    set_items(self.top()?, vec![(key, value)])?;
                }
                b'u' => {
                    let items = self.since_mark()?;
                    let items = pairs(items)?;
                    set_items(self.top()?, items)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(format!("{m}.{n}")));
                        }
                        _ => return Err(bad("STACK_GLOBAL of non-strings")),
                    }
                }
                b'q' => {
                    let i = usize::from(self.u8()?);
                    self.put(i)?;
                }
                b'r' => {
                    let i = self.len(4)?;
                    self.put(i)?;
                }
                0x94 => {
                    let i = self.memo.len();
                    self.put(i)?;
                }
                b'h' => {
                    let i = usize::from(self.u8()?);
                    self.get(i)?;
                }
                b'j' => {
                    let i = self.len(4)?;
                    self.get(i)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.stack.push(reduce(callable, args)?);
                }
                0x81 => {
                    let _args = self.pop()?;
                    let class = self.pop()?;
                    self.stack.push(Value::Other(describe(&class)));
                }
                b'b' => {
                    // BUILD: an OrderedDict's `_metadata`, a parameter's state: not needed.
                    self.pop()?;
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(storage(pid)?);
                }
                b'0' => {
                    self.pop()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                _ => return Err(bad(format!("unsupported opcode 0x{op:02x}"))),
            }
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Global(name) => name.clone(),
        other => format!("{other:?}").chars().take(40).collect(),
    }
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, CheckpointError> {
    if !items.len().is_multiple_of(2) {
        return Err(bad("odd number of dict items"));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

fn push_items(target: &mut Value, items: Vec<Value>) -> Result<(), CheckpointError> {
    match target {
        Value::List(list) => {
            list.extend(items);
            Ok(())
        }
        Value::Other(_) => Ok(()),
        _ => Err(bad("APPEND to a non-list")),
    }
}

fn set_items(target: &mut Value, items: Vec<(Value, Value)>) -> Result<(), CheckpointError> {
    match target {
        Value::Dict(dict) => {
            dict.extend(items);
            Ok(())
        }
        Value::Other(_) => Ok(()),
        _ => Err(bad("SETITEM on a non-dict")),
    }
}

fn usize_of(v: &Value, what: &str) -> Result<usize, CheckpointError> {
    match v {
        Value::Int(i) => usize::try_from(*i).map_err(|_| bad(format!("negative {what}"))),
        _ => Err(bad(format!("{what} is not an integer"))),
    }
}

fn usizes(v: &Value, what: &str) -> Result<Vec<usize>, CheckpointError> {
    match v {
        Value::Tuple(items) | Value::List(items) => {
            items.iter().map(|i| usize_of(i, what)).collect()
        }
        _ => Err(bad(format!("{what} is not a tuple"))),
    }
}

/// A persistent id: `('storage', storage class, key, location, numel[, view metadata])`.
fn storage(pid: Value) -> Result<Value, CheckpointError> {
    let Value::Tuple(items) = pid else {
        return Err(bad("persistent id is not a tuple"));
    };
    match items.as_slice() {
        [
            Value::Str(tag),
            Value::Global(class),
            key,
            _location,
            numel,
            ..,
        ] if tag == "storage" => {
            let key = match key {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                _ => return Err(bad("storage key is not a string")),
            };
            let kind = class.rsplit('.').next().unwrap_or(class).to_owned();
            Ok(Value::Storage(StorageRef {
                kind,
                key,
                numel: usize_of(numel, "storage size")?,
            }))
        }
        _ => Err(bad("persistent id is not a storage")),
    }
}

/// `callable(*args)` for the callables of a state dict.
fn reduce(callable: Value, args: Value) -> Result<Value, CheckpointError> {
    let Value::Global(name) = &callable else {
        return Ok(Value::Other(describe(&callable)));
    };
    let args = match args {
        Value::Tuple(a) => a,
        _ => return Err(bad(format!("{name}: arguments are not a tuple"))),
    };
    match name.as_str() {
        "collections.OrderedDict" => Ok(Value::Dict(Vec::new())),
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            match args.as_slice() {
                [Value::Storage(storage), offset, shape, stride, ..] => {
                    let tensor = TensorRef {
                        storage: storage.clone(),
                        offset: usize_of(offset, "storage offset")?,
                        shape: usizes(shape, "tensor shape")?,
                        stride: usizes(stride, "tensor stride")?,
                    };
                    if tensor.shape.len() != tensor.stride.len() {
                        return Err(bad("tensor shape and stride differ in length"));
                    }
                    Ok(Value::Tensor(tensor))
                }
                _ => Err(bad(format!("{name}: unexpected arguments"))),
            }
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => {
            match args.into_iter().next() {
                Some(t @ Value::Tensor(_)) => Ok(t),
                _ => Err(bad(format!("{name}: not a tensor"))),
            }
        }
        _ => Ok(Value::Other(name.clone())),
    }
}
