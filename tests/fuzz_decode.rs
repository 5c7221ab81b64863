//! A self-contained mutation fuzzer for the photo decoder and the network-input preprocessing
//! (`decode_photo`, then `preprocess` to 224×224), on a stable toolchain without sanitizers.
//!
//! Seeds are the bad-input corpus (`tests/fixtures/bad/`) and the small fixture photos. Each
//! input is one seed with 1–8 random byte-level mutations; PNG chunk CRCs are then usually
//! recomputed so that the mutation reaches the decoder instead of failing the checksum.
//! A finding is a panic (a non-finite network input or a photo over `MAX_PIXELS` panics
//! too), a decode slower than 10 s, or one running over a minute (the process then stops).
//! Its input is saved as `tests/fixtures/bad/fuzz/<kind>-<fnv64>.bin`, and
//! `regression_inputs_never_panic` replays every saved input in each ordinary `cargo test`.
//!
//! Run `./dev fuzz [SECONDS]` (`GRADCAM_FUZZ_SECONDS`, default 60 here); set
//! `GRADCAM_FUZZ_SEED` to the seed a run printed to replay its sequence of inputs.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gradcam_web::imageio::{INPUT_SIZE, MAX_PIXELS, Normalization, decode_photo, preprocess};

/// Seed files larger than this are skipped (they would slow every execution down).
const MAX_SEED_BYTES: u64 = 1 << 20;
/// A decode slower than this is saved as a `slow` finding.
const SLOW: Duration = Duration::from_secs(10);
/// A decode running longer than this is saved as a `hang` finding and the process exits.
const HANG: Duration = Duration::from_secs(60);
/// The PNG file signature.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn findings_dir() -> PathBuf {
    fixtures().join("bad/fuzz")
}

/// A starting file for mutation.
struct Seed {
    name: String,
    bytes: Vec<u8>,
}

/// The files of `dir` (sorted, so a fuzz seed replays the same inputs) that `keep` accepts.
fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<Seed> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.metadata()
                .is_ok_and(|m| m.is_file() && m.len() <= MAX_SEED_BYTES)
        })
        .filter(|path| path.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| Seed {
            name: path.strip_prefix(fixtures()).unwrap().display().to_string(),
            bytes: std::fs::read(&path).unwrap(),
        })
        .collect()
}

/// The bad-input corpus and the fixture photos.
fn seeds() -> Vec<Seed> {
    let mut seeds = files_in(&fixtures().join("bad"), |name| {
        name != "expected.json" && name != "README.md"
    });
    seeds.extend(files_in(&fixtures(), |name| {
        name.ends_with(".jpg") || name.ends_with(".png")
    }));
    assert!(seeds.len() >= 30, "seed corpus shrank: {}", seeds.len());
    seeds
}

/// xorshift64* (Vigna): small, fast and reproducible from one `u64`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 spreads similar seeds apart; the state must not be zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)).max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<T: Copy>(&mut self, values: &[T]) -> T {
        values[self.below(values.len())]
    }

    /// A byte offset in `0..len`: half the time within the first kilobyte, where headers
    /// (and their width and height fields) are.
    fn position(&mut self, len: usize) -> usize {
        let range = if self.coin() { len.min(1024) } else { len };
        self.below(range)
    }

    /// A length in `1..=max`, mostly short (log-uniform up to 4 KiB).
    fn span(&mut self, max: usize) -> usize {
        let cap = 1usize << self.below(13);
        1 + self.below(max.min(cap))
    }
}

const INTERESTING_U8: [u8; 5] = [0x00, 0xFF, 0x7F, 0x80, 0x01];
const INTERESTING_U16: [u16; 10] = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 10_001];
const INTERESTING_U32: [u32; 10] = [
    0,
    1,
    0xFFFF,
    0x1_0000,
    10_001,
    100_000_001,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x3FFF_FFFF,
];

/// One edit of an input.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    SetByte {
        at: usize,
        value: u8,
    },
    SetU16 {
        at: usize,
        value: u16,
        big_endian: bool,
    },
    SetU32 {
        at: usize,
        value: u32,
        big_endian: bool,
    },
    Truncate {
        len: usize,
    },
    Delete {
        at: usize,
        len: usize,
    },
    Duplicate {
        from: usize,
        len: usize,
        to: usize,
    },
    /// Keeps `..at` and appends seed `seed` from byte `from` on.
    Splice {
        at: usize,
        seed: usize,
        from: usize,
    },
    /// Recomputes every PNG chunk's CRC (not counted among the 1–8 mutations).
    FixPngCrcs,
}

impl Mutation {
    /// A random mutation valid for an input of `len` bytes.
    fn random(rng: &mut Rng, len: usize, seeds: &[Seed]) -> Self {
        let choice = if len == 0 { 7 } else { rng.below(8) };
        match choice {
            0 => Self::FlipBit {
                at: rng.position(len),
                bit: rng.below(8) as u8,
            },
            1 => Self::SetByte {
                at: rng.position(len),
                value: rng.pick(&INTERESTING_U8),
            },
            2 if len >= 2 => Self::SetU16 {
                at: rng.position(len - 1),
                value: if rng.coin() {
                    rng.pick(&INTERESTING_U16)
                } else {
                    rng.next() as u16
                },
                big_endian: rng.coin(),
            },
            3 if len >= 4 => Self::SetU32 {
                at: rng.position(len - 3),
                value: if rng.coin() {
                    rng.pick(&INTERESTING_U32)
                } else {
                    rng.next() as u32
                },
                big_endian: rng.coin(),
            },
            4 => Self::Truncate {
                len: rng.below(len),
            },
            5 => {
                let at = rng.position(len);
                Self::Delete {
                    at,
                    len: rng.span(len - at),
                }
            }
            6 => {
                let from = rng.position(len);
                Self::Duplicate {
                    from,
                    len: rng.span(len - from),
                    to: rng.below(len + 1),
                }
            }
            _ => {
                let seed = rng.below(seeds.len());
                Self::Splice {
                    at: rng.below(len + 1),
                    seed,
                    from: rng.below(seeds[seed].bytes.len() + 1),
                }
            }
        }
    }

    fn apply(self, data: &mut Vec<u8>, seeds: &[Seed]) {
        match self {
            Self::FlipBit { at, bit } => data[at] ^= 1 << bit,
            Self::SetByte { at, value } => data[at] = value,
            Self::SetU16 {
                at,
                value,
                big_endian,
            } => {
                let bytes = if big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                data[at..at + 2].copy_from_slice(&bytes);
            }
            Self::SetU32 {
                at,
                value,
                big_endian,
            } => {
                let bytes = if big_endian {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                data[at..at + 4].copy_from_slice(&bytes);
            }
            Self::Truncate { len } => data.truncate(len),
            Self::Delete { at, len } => {
                data.drain(at..at + len);
            }
            Self::Duplicate { from, len, to } => {
                let copy = data[from..from + len].to_vec();
                data.splice(to..to, copy);
            }
            Self::Splice { at, seed, from } => {
                data.truncate(at);
                data.extend_from_slice(&seeds[seed].bytes[from..]);
            }
            Self::FixPngCrcs => fix_png_crcs(data),
        }
    }

    fn describe(self, seeds: &[Seed]) -> String {
        match self {
            Self::Splice { at, seed, from } => format!(
                "Splice {{ at: {at}, tail of {} from {from} }}",
                seeds[seed].name
            ),
            other => format!("{other:?}"),
        }
    }
}

/// One generated input and how it was made.
struct Case {
    seed: usize,
    mutations: Vec<Mutation>,
    bytes: Vec<u8>,
}

impl Case {
    fn random(rng: &mut Rng, seeds: &[Seed]) -> Self {
        let seed = rng.below(seeds.len());
        let mut bytes = seeds[seed].bytes.clone();
        let mut mutations = Vec::new();
        for _ in 0..1 + rng.below(8) {
            let mutation = Mutation::random(rng, bytes.len(), seeds);
            mutation.apply(&mut bytes, seeds);
            mutations.push(mutation);
        }
        if bytes.starts_with(PNG_SIGNATURE) && rng.below(10) != 0 {
            Mutation::FixPngCrcs.apply(&mut bytes, seeds);
            mutations.push(Mutation::FixPngCrcs);
        }
        Self {
            seed,
            mutations,
            bytes,
        }
    }

    fn origin(&self, seeds: &[Seed]) -> String {
        let mutations: Vec<String> = self.mutations.iter().map(|m| m.describe(seeds)).collect();
        format!(
            "seed {}, mutations [{}] ({} bytes)",
            seeds[self.seed].name,
            mutations.join(", "),
            self.bytes.len()
        )
    }
}

/// CRC-32 (ISO 3309, as in PNG) lookup table.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// Rewrites the CRC of every whole chunk after the PNG signature.
fn fix_png_crcs(data: &mut [u8]) {
    let mut at = PNG_SIGNATURE.len();
    while let Some(len) = data.get(at..at + 4) {
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        let end = at + 8 + len; // past the length, type and data
        if end + 4 > data.len() {
            break;
        }
        let crc = crc32(&data[at + 4..end]);
        data[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        at = end + 4;
    }
}

/// FNV-1a, 64 bits: names a finding after its content.
fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Writes a finding to `tests/fixtures/bad/fuzz/<kind>-<fnv64>.bin`.
fn save_finding(kind: &str, bytes: &[u8]) -> PathBuf {
    let dir = findings_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{kind}-{:016x}.bin", fnv64(bytes)));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Decodes and preprocesses like the app does, panicking if a result is unusable;
/// returns how long decoding took and whether it gave a photo.
fn exercise(bytes: &[u8]) -> (Duration, bool) {
    let start = Instant::now();
    let decoded = decode_photo(bytes);
    let decode_time = start.elapsed();
    let ok = decoded.is_ok();
    if let Ok(photo) = decoded {
        let (width, height) = (photo.width(), photo.height());
        assert!(
            u64::from(width) * u64::from(height) <= MAX_PIXELS,
            "decoded a {width}×{height} photo, over MAX_PIXELS"
        );
        let input = preprocess(&photo.rgb, INPUT_SIZE, &Normalization::IMAGENET);
        assert_eq!(input.len(), (3 * INPUT_SIZE * INPUT_SIZE) as usize);
        assert!(
            input.iter().all(|v| v.is_finite()),
            "non-finite network input from a {width}×{height} photo"
        );
    }
    (decode_time, ok)
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic payload>".into())
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The last quiet panic on this thread: (location, message).
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// A panic hook that records, instead of printing, the panics caught by `catch` (other
/// panics and threads keep the previous hook, which is restored on drop).
struct QuietPanics {
    previous: Option<Arc<Hook>>,
}

impl QuietPanics {
    fn install() -> Self {
        let previous = Arc::new(panic::take_hook());
        let fallback = Arc::clone(&previous);
        panic::set_hook(Box::new(move |info| {
            if QUIET.get() {
                let location = info
                    .location()
                    .map_or_else(|| "<unknown>".into(), |l| l.to_string());
                let message = info
                    .payload_as_str()
                    .unwrap_or("<non-string panic payload>");
                LAST_PANIC.set(Some((location, message.to_string())));
            } else {
                (*fallback)(info);
            }
        }));
        Self {
            previous: Some(previous),
        }
    }

    /// Runs `f`, returning a panic's location and message instead of printing them.
    fn catch<R>(&self, f: impl FnOnce() -> R) -> Result<R, (String, String)> {
        QUIET.set(true);
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        QUIET.set(false);
        result.map_err(|payload| {
            LAST_PANIC
                .take()
                .unwrap_or_else(|| ("<unknown>".into(), payload_message(&*payload)))
        })
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if thread::panicking() {
            return; // the hook cannot be changed now; it already defers to the previous one
        }
        drop(panic::take_hook()); // releases the hook's clone of `previous`
        let previous = self.previous.take().unwrap();
        match Arc::try_unwrap(previous) {
            Ok(hook) => panic::set_hook(hook),
            Err(shared) => panic::set_hook(Box::new(move |info| (*shared)(info))),
        }
    }
}

/// The input being decoded and since when, for the watchdog.
type Current = Mutex<Option<(Instant, Arc<Case>)>>;

/// Saves the current input as a `hang` finding and ends the process if one decode runs
/// longer than `HANG` (a true hang would never return to the fuzz loop).
fn watchdog(current: &Current, seeds: &[Seed], stop: Receiver<()>) {
    loop {
        match stop.recv_timeout(Duration::from_secs(1)) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let guard = current.lock().unwrap();
        if let Some((start, case)) = guard.as_ref()
            && start.elapsed() > HANG
        {
            let path = save_finding("hang", &case.bytes);
            eprintln!(
                "fuzz: HANG: one input ran over {} s: {}\n  saved {}",
                HANG.as_secs(),
                case.origin(seeds),
                path.display()
            );
            std::process::exit(1);
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// A distinct panic (by location) and the smallest input seen for it.
struct Crash {
    path: PathBuf,
    len: usize,
    count: u64,
}

#[test]
#[ignore = "long-running; run with ./dev fuzz SECONDS"]
fn fuzz_decode_and_preprocess() {
    let budget = Duration::from_secs_f64(env_or("GRADCAM_FUZZ_SECONDS", 60.0));
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = env_or("GRADCAM_FUZZ_SEED", clock ^ u64::from(std::process::id()));
    let seeds = seeds();
    println!(
        "fuzz: {} seeds, {:.0} s, GRADCAM_FUZZ_SEED={seed} (set it to replay this run)",
        seeds.len(),
        budget.as_secs_f64()
    );
    let mut rng = Rng::new(seed);
    let current: Current = Mutex::new(None);
    let mut crashes: HashMap<String, Crash> = HashMap::new();
    let mut slowest: Option<(Duration, Arc<Case>)> = None;
    let mut executions = 0u64;
    let mut decoded = 0u64;
    let start = Instant::now();
    let quiet = QuietPanics::install();
    thread::scope(|scope| {
        let (stop, stopped) = mpsc::channel::<()>();
        let (current, seeds) = (&current, &seeds);
        scope.spawn(move || watchdog(current, seeds, stopped));
        let mut next_report = Duration::from_secs(10);
        while start.elapsed() < budget {
            let case = Arc::new(Case::random(&mut rng, seeds));
            *current.lock().unwrap() = Some((Instant::now(), Arc::clone(&case)));
            let outcome = quiet.catch(|| exercise(&case.bytes));
            executions += 1;
            match outcome {
                Ok((took, ok)) => {
                    decoded += u64::from(ok);
                    if slowest.as_ref().is_none_or(|(max, _)| took > *max) {
                        slowest = Some((took, Arc::clone(&case)));
                    }
                }
                Err((location, message)) => {
                    record_crash(&mut crashes, &location, &message, &case, seeds);
                }
            }
            if start.elapsed() >= next_report {
                println!(
                    "fuzz: {:.0} s, {executions} executions ({:.0}/s), {} distinct crashes",
                    start.elapsed().as_secs_f64(),
                    executions as f64 / start.elapsed().as_secs_f64(),
                    crashes.len()
                );
                next_report += Duration::from_secs(10);
            }
        }
        drop(stop);
    });
    drop(quiet);
    let elapsed = start.elapsed().as_secs_f64();

    let mut findings: Vec<String> = crashes
        .values()
        .map(|crash| crash.path.display().to_string())
        .collect();
    let (slow_time, slow_case) = slowest.expect("no input ran");
    println!(
        "fuzz: slowest decode {} ms: {}",
        slow_time.as_millis(),
        slow_case.origin(&seeds)
    );
    if slow_time > SLOW {
        let path = save_finding("slow", &slow_case.bytes);
        println!(
            "fuzz: SLOW (over {} s): saved {}",
            SLOW.as_secs(),
            path.display()
        );
        findings.push(path.display().to_string());
    }
    let panics: u64 = crashes.values().map(|crash| crash.count).sum();
    println!(
        "fuzz summary: {executions} executions in {elapsed:.0} s ({:.0} execs/s, {decoded} \
         decoded to a photo), {} distinct crashes ({panics} panicking inputs), \
         slowest input {} ms, seed {seed}",
        executions as f64 / elapsed,
        crashes.len(),
        slow_time.as_millis()
    );
    assert!(
        findings.is_empty(),
        "the fuzzer found {} problem(s), saved as:\n  {}",
        findings.len(),
        findings.join("\n  ")
    );
}

/// Saves the first input for each panic location (replacing it when a smaller one turns up).
fn record_crash(
    crashes: &mut HashMap<String, Crash>,
    location: &str,
    message: &str,
    case: &Case,
    seeds: &[Seed],
) {
    let len = case.bytes.len();
    match crashes.get_mut(location) {
        Some(crash) => {
            crash.count += 1;
            if len < crash.len {
                std::fs::remove_file(&crash.path).unwrap();
                crash.path = save_finding("panic", &case.bytes);
                crash.len = len;
                println!(
                    "fuzz: smaller input ({len} bytes) for the panic at {location}: {}",
                    crash.path.display()
                );
            }
        }
        None => {
            let path = save_finding("panic", &case.bytes);
            println!(
                "fuzz: PANIC at {location}: {message}\n  input: {}\n  saved {}",
                case.origin(seeds),
                path.display()
            );
            crashes.insert(
                location.to_string(),
                Crash {
                    path,
                    len,
                    count: 1,
                },
            );
        }
    }
}

/// Every input the fuzzer ever saved decodes (or is refused) without a panic.
#[test]
fn regression_inputs_never_panic() {
    let Ok(entries) = std::fs::read_dir(findings_dir()) else {
        return; // no findings yet
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).unwrap();
            panic::catch_unwind(|| exercise(&bytes))
                .err()
                .map(|payload| format!("{}: {}", path.display(), payload_message(&*payload)))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} saved fuzz inputs panic:\n  {}",
        failures.len(),
        paths.len(),
        failures.join("\n  ")
    );
}

/// The CRC fix-up leaves intact PNGs unchanged (so it computes PNG's CRC-32).
#[test]
fn png_crc_fixup_keeps_valid_files_intact() {
    for name in ["bad/tiny-1x1.png", "bad/gray.png", "chelsea.png"] {
        let original = std::fs::read(fixtures().join(name)).unwrap();
        let mut fixed = original.clone();
        fix_png_crcs(&mut fixed);
        assert!(fixed == original, "{name} changed");
    }
}
