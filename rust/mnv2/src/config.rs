// SPDX-License-Identifier: BSD-2-Clause
//! Model configuration: [`Config`] and its builder.
use std::ptr::{self, NonNull};

use mnv2_sys as sys;

use crate::error::{check, Error, Result};
use crate::model::Model;

/// Pinned option keys (`MNV2_KEY_*`), for [`Config::set_int`], [`Config::set_float`],
/// [`Model::set_int`] and friends. Each key is an integer or a float key; see `mnv2.h` for the
/// range and default of each.
pub mod key {
    use mnv2_sys as sys;
    /// int: number of classes, 1..65536.
    pub const CLASSES: i32 = sys::MNV2_KEY_CLASSES;
    /// int: input height, 1..4096.
    pub const INPUT_HEIGHT: i32 = sys::MNV2_KEY_INPUT_HEIGHT;
    /// int: input width, 1..4096.
    pub const INPUT_WIDTH: i32 = sys::MNV2_KEY_INPUT_WIDTH;
    /// int: input channels, 1..64.
    pub const INPUT_CHANNELS: i32 = sys::MNV2_KEY_INPUT_CHANNELS;
    /// int: stem convolution output channels before the width multiplier.
    pub const STEM_CHANNELS: i32 = sys::MNV2_KEY_STEM_CHANNELS;
    /// int: head 1x1 convolution channels.
    pub const HEAD_CHANNELS: i32 = sys::MNV2_KEY_HEAD_CHANNELS;
    /// float: width multiplier, 0.05..4.
    pub const WIDTH_MULT: i32 = sys::MNV2_KEY_WIDTH_MULT;
    /// int: 0 = the block table's expansion factors; otherwise replaces every t other than 1.
    pub const EXPANSION: i32 = sys::MNV2_KEY_EXPANSION;
    /// float: batch-norm momentum, Keras convention.
    pub const BN_MOMENTUM: i32 = sys::MNV2_KEY_BN_MOMENTUM;
    /// float: batch-norm epsilon.
    pub const BN_EPS: i32 = sys::MNV2_KEY_BN_EPS;
    /// float: dropout probability before the classifier, 0..<1.
    pub const DROPOUT: i32 = sys::MNV2_KEY_DROPOUT;
    /// int: largest batch the model accepts.
    pub const MAX_BATCH: i32 = sys::MNV2_KEY_MAX_BATCH;
    /// int: seed for initialization and dropout.
    pub const SEED: i32 = sys::MNV2_KEY_SEED;
    /// int: threads a model computes with (0 = all online CPUs).
    pub const THREADS: i32 = sys::MNV2_KEY_THREADS;
    /// int: highest ISA level the model may use.
    pub const ISA_MAX: i32 = sys::MNV2_KEY_ISA_MAX;
    /// int: 1 = trainable (default), 0 = inference only.
    pub const TRAINABLE: i32 = sys::MNV2_KEY_TRAINABLE;
    /// float, alias: batch-norm momentum in PyTorch's convention.
    pub const BN_MOMENTUM_TORCH: i32 = sys::MNV2_KEY_BN_MOMENTUM_TORCH;
    /// int: weight initialization scheme (`MNV2_INIT_*`).
    pub const INIT: i32 = sys::MNV2_KEY_INIT;
    /// int: optimizer (`MNV2_OPTIMIZER_*`).
    pub const OPTIMIZER: i32 = sys::MNV2_KEY_OPTIMIZER;
    /// float: learning rate (with a schedule, its maximum).
    pub const LR: i32 = sys::MNV2_KEY_LR;
    /// float: Adam beta1.
    pub const BETA1: i32 = sys::MNV2_KEY_BETA1;
    /// float: Adam beta2.
    pub const BETA2: i32 = sys::MNV2_KEY_BETA2;
    /// float: Adam epsilon.
    pub const ADAM_EPS: i32 = sys::MNV2_KEY_ADAM_EPS;
    /// float: weight decay.
    pub const WEIGHT_DECAY: i32 = sys::MNV2_KEY_WEIGHT_DECAY;
    /// float: SGD momentum.
    pub const MOMENTUM: i32 = sys::MNV2_KEY_MOMENTUM;
    /// int: 1 = Nesterov momentum for SGD.
    pub const NESTEROV: i32 = sys::MNV2_KEY_NESTEROV;
    /// int: learning-rate schedule (`MNV2_SCHEDULE_*`).
    pub const LR_SCHEDULE: i32 = sys::MNV2_KEY_LR_SCHEDULE;
    /// float: warm-up starts at LR * scale.
    pub const WARMUP_SCALE: i32 = sys::MNV2_KEY_WARMUP_SCALE;
    /// int: linear warm-up length in optimizer steps.
    pub const WARMUP_STEPS: i32 = sys::MNV2_KEY_WARMUP_STEPS;
    /// int: total optimizer steps of the schedule (0 = no decay).
    pub const TOTAL_STEPS: i32 = sys::MNV2_KEY_TOTAL_STEPS;
    /// float: label smoothing, 0..<1.
    pub const LABEL_SMOOTHING: i32 = sys::MNV2_KEY_LABEL_SMOOTHING;
    /// int: optimizer steps taken so far.
    pub const STEP: i32 = sys::MNV2_KEY_STEP;
    /// int: 1 = weight decay on batch-norm parameters and biases too.
    pub const DECAY_ALL: i32 = sys::MNV2_KEY_DECAY_ALL;
    /// int, model only: dropout random stream position.
    pub const RNG_STATE: i32 = sys::MNV2_KEY_RNG_STATE;
    /// int, read-only model key: ISA level the model's kernels use.
    pub const ISA: i32 = sys::MNV2_KEY_ISA;
}

/// A configuration preset (`MNV2_PRESET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Canonical MobileNetV2: 224x224x3, 17 blocks, head 1280, dropout 0.2, 1000 classes.
    Standard,
    /// The 32x32x3 variant of the seed paper's Table 3: head 256, no dropout, 10 classes.
    Reduced,
}

impl Preset {
    fn raw(self) -> i32 {
        match self {
            Preset::Standard => sys::MNV2_PRESET_STANDARD,
            Preset::Reduced => sys::MNV2_PRESET_REDUCED,
        }
    }
}

/// The optimizer a model trains with (`MNV2_OPTIMIZER_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Optimizer {
    /// Adam, bias-corrected; weight decay as L2.
    Adam,
    /// AdamW: decoupled weight decay.
    AdamW,
    /// SGD with momentum; weight decay as L2.
    Sgd,
}

impl Optimizer {
    pub(crate) fn raw(self) -> i64 {
        i64::from(match self {
            Optimizer::Adam => sys::MNV2_OPTIMIZER_ADAM,
            Optimizer::AdamW => sys::MNV2_OPTIMIZER_ADAMW,
            Optimizer::Sgd => sys::MNV2_OPTIMIZER_SGD,
        })
    }
}

/// A fact about a network, computed without allocating it (`MNV2_STAT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Trainable parameters.
    Params,
    /// Non-trainable values (batch-norm running statistics).
    Buffers,
    /// Multiply-accumulates of one forward pass per image.
    Macs,
    /// Bytes an inference-only model allocates at the given batch.
    InferBytes,
    /// Bytes a trainable model allocates at the given batch.
    TrainBytes,
    /// Number of named tensors.
    Tensors,
    /// Number of rows of the per-layer report.
    Layers,
    /// Number of inverted-residual blocks.
    Blocks,
}

impl Stat {
    pub(crate) fn raw(self) -> i32 {
        match self {
            Stat::Params => sys::MNV2_STAT_PARAMS,
            Stat::Buffers => sys::MNV2_STAT_BUFFERS,
            Stat::Macs => sys::MNV2_STAT_MACS,
            Stat::InferBytes => sys::MNV2_STAT_INFER_BYTES,
            Stat::TrainBytes => sys::MNV2_STAT_TRAIN_BYTES,
            Stat::Tensors => sys::MNV2_STAT_TENSORS,
            Stat::Layers => sys::MNV2_STAT_LAYERS,
            Stat::Blocks => sys::MNV2_STAT_BLOCKS,
        }
    }
}

/// One row of the per-layer report ([`Config::layers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Layer name, e.g. `"features.3.conv.1"`.
    pub name: String,
    /// Operation: `"conv3x3"`, `"conv1x1"`, `"dwconv3x3"`, `"avgpool"`, `"linear"`.
    pub op: String,
    /// Input (height, width, channels) per image.
    pub input: (u32, u32, u32),
    /// Output (height, width, channels) per image.
    pub output: (u32, u32, u32),
    /// Stride (1 or 2).
    pub stride: u32,
    /// Inverted-residual block index + 1; 0 outside blocks.
    pub block: u32,
    /// Trainable parameters of the layer.
    pub params: u64,
    /// Multiply-accumulates per image.
    pub macs: u64,
    /// Bytes of the layer's output activation per image.
    pub out_bytes: u64,
}

/// A model configuration (owns an `mnv2_config`; freed on drop).
///
/// Options are set by pinned integer keys (see [`key`]) or through [`ConfigBuilder`].
/// `Send` but not `Sync`: a handle is used by one thread at a time.
#[derive(Debug)]
pub struct Config {
    raw: NonNull<sys::mnv2_config>,
}

// SAFETY: a configuration may move between threads; only concurrent use is forbidden by the C
// API, which `&mut self` on every mutating call and the missing `Sync` rule out.
unsafe impl Send for Config {}

impl Drop for Config {
    fn drop(&mut self) {
        // SAFETY: the handle is owned and destroyed once.
        unsafe { sys::mnv2_config_destroy(self.raw.as_ptr()) }
    }
}

pub(crate) fn to_u32(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::invalid(format!("{} {} is too large", what, v)))
}

impl Config {
    /// A configuration holding a preset's defaults.
    pub fn new(preset: Preset) -> Result<Config> {
        let mut raw = ptr::null_mut();
        // SAFETY: out-pointer to a local.
        check(unsafe { sys::mnv2_config_create(preset.raw(), &mut raw) })?;
        Config::from_raw(raw)
    }

    pub(crate) fn from_raw(raw: *mut sys::mnv2_config) -> Result<Config> {
        NonNull::new(raw)
            .map(|raw| Config { raw })
            .ok_or_else(|| Error::new(sys::MNV2_ERR_OUT_OF_MEMORY, "no configuration returned"))
    }

    /// A builder starting from a preset's defaults.
    pub fn builder(preset: Preset) -> ConfigBuilder {
        ConfigBuilder { preset, settings: Vec::new() }
    }

    pub(crate) fn as_ptr(&self) -> *const sys::mnv2_config {
        self.raw.as_ptr()
    }

    /// A copy of this configuration (`mnv2_config_clone()`).
    pub fn try_clone(&self) -> Result<Config> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_config_clone(self.as_ptr(), &mut raw) })?;
        Config::from_raw(raw)
    }

    /// Set an integer option. Errors: `InvalidArgument` (value out of range), `UnknownKey`
    /// (unknown key, float key, read-only key).
    pub fn set_int(&mut self, key: i32, value: i64) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mnv2_config_set_int(self.raw.as_ptr(), key, value) })
    }

    /// Set a float option; non-finite values are rejected. Errors as [`set_int`](Config::set_int).
    pub fn set_float(&mut self, key: i32, value: f64) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mnv2_config_set_float(self.raw.as_ptr(), key, value) })
    }

    /// Read an integer option. Errors: `UnknownKey`.
    pub fn int(&self, key: i32) -> Result<i64> {
        let mut v = 0i64;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_config_get_int(self.as_ptr(), key, &mut v) })?;
        Ok(v)
    }

    /// Read a float option. Errors: `UnknownKey`.
    pub fn float(&self, key: i32) -> Result<f64> {
        let mut v = 0f64;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_config_get_float(self.as_ptr(), key, &mut v) })?;
        Ok(v)
    }

    /// Replace the block table: rows of (t, c, n, s) as in the MobileNetV2 paper.
    /// Errors: `InvalidArgument` (no rows, too many, a value out of range).
    pub fn set_blocks(&mut self, rows: &[[i32; 4]]) -> Result<()> {
        let n = to_u32(rows.len(), "block row count")?;
        let p = if rows.is_empty() { ptr::null() } else { rows.as_ptr() as *const i32 };
        // SAFETY: `rows` holds n * 4 contiguous i32 ([i32; 4] has no padding).
        check(unsafe { sys::mnv2_config_set_blocks(self.raw.as_ptr(), p, n) })
    }

    /// The block table.
    pub fn blocks(&self) -> Result<Vec<[i32; 4]>> {
        let mut n = 0u32;
        // SAFETY: NULL rows asks for the count only.
        check(unsafe { sys::mnv2_config_get_blocks(self.as_ptr(), ptr::null_mut(), 0, &mut n) })?;
        let mut rows = vec![[0i32; 4]; n as usize];
        // SAFETY: `rows` has room for n rows of 4 ints.
        check(unsafe {
            sys::mnv2_config_get_blocks(self.as_ptr(), rows.as_mut_ptr() as *mut i32, n, &mut n)
        })?;
        rows.truncate(n as usize);
        Ok(rows)
    }

    /// A fact about the network, computed without allocating it; `batch` is the batch the memory
    /// figures are for (0 = max batch). Errors: `InvalidArgument` (batch above max batch).
    pub fn stat(&self, stat: Stat, batch: u32) -> Result<u64> {
        let mut v = 0u64;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_config_stat(self.as_ptr(), stat.raw(), batch, &mut v) })?;
        Ok(v)
    }

    /// The per-layer report of the network.
    pub fn layers(&self) -> Result<Vec<LayerInfo>> {
        let n = self.stat(Stat::Layers, 0)?;
        let n = u32::try_from(n).map_err(|_| Error::invalid("too many layers"))?;
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            // SAFETY: a plain C struct of integers and char arrays: all-zero is valid.
            let mut info: sys::mnv2_layer_info = unsafe { std::mem::zeroed() };
            info.struct_size = std::mem::size_of::<sys::mnv2_layer_info>() as u32;
            // SAFETY: valid handle, struct_size set.
            check(unsafe { sys::mnv2_config_layer_info(self.as_ptr(), i, &mut info) })?;
            out.push(LayerInfo {
                name: char_array(&info.name),
                op: char_array(&info.op),
                input: (info.in_h, info.in_w, info.in_c),
                output: (info.out_h, info.out_w, info.out_c),
                stride: info.stride,
                block: info.block,
                params: info.params,
                macs: info.macs,
                out_bytes: info.out_bytes,
            });
        }
        Ok(out)
    }
}

fn char_array(a: &[std::os::raw::c_char]) -> String {
    let bytes: Vec<u8> = a.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[derive(Debug, Clone)]
enum Setting {
    Int(i32, i64),
    Float(i32, f64),
    Blocks(Vec<[i32; 4]>),
}

/// Builds a [`Config`] from a preset and a list of settings, applied in order by
/// [`build`](ConfigBuilder::build), which returns the first error.
///
/// ```no_run
/// # fn main() -> mnv2::Result<()> {
/// let config = mnv2::Config::builder(mnv2::Preset::Reduced)
///     .input(28, 28, 1)
///     .classes(10)
///     .max_batch(64)
///     .lr(1e-3)
///     .build()?;
/// let model = mnv2::Model::new(&config)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    preset: Preset,
    settings: Vec<Setting>,
}

impl ConfigBuilder {
    /// Set any integer key (see [`key`]).
    pub fn int(mut self, key: i32, value: i64) -> Self {
        self.settings.push(Setting::Int(key, value));
        self
    }

    /// Set any float key (see [`key`]).
    pub fn float(mut self, key: i32, value: f64) -> Self {
        self.settings.push(Setting::Float(key, value));
        self
    }

    /// Number of classes.
    pub fn classes(self, classes: u32) -> Self {
        self.int(key::CLASSES, i64::from(classes))
    }

    /// Input height, width and channels.
    pub fn input(self, height: u32, width: u32, channels: u32) -> Self {
        self.int(key::INPUT_HEIGHT, i64::from(height))
            .int(key::INPUT_WIDTH, i64::from(width))
            .int(key::INPUT_CHANNELS, i64::from(channels))
    }

    /// Width multiplier.
    pub fn width_mult(self, mult: f64) -> Self {
        self.float(key::WIDTH_MULT, mult)
    }

    /// Block table: rows of (t, c, n, s).
    pub fn blocks(mut self, rows: &[[i32; 4]]) -> Self {
        self.settings.push(Setting::Blocks(rows.to_vec()));
        self
    }

    /// Largest batch the model accepts.
    pub fn max_batch(self, batch: u32) -> Self {
        self.int(key::MAX_BATCH, i64::from(batch))
    }

    /// Seed of initialization and dropout.
    pub fn seed(self, seed: u32) -> Self {
        self.int(key::SEED, i64::from(seed))
    }

    /// Threads the model computes with (0 = all online CPUs).
    pub fn threads(self, threads: u32) -> Self {
        self.int(key::THREADS, i64::from(threads))
    }

    /// Whether the model can train (false: inference only, no gradient memory).
    pub fn trainable(self, trainable: bool) -> Self {
        self.int(key::TRAINABLE, i64::from(trainable))
    }

    /// Dropout probability before the classifier.
    pub fn dropout(self, p: f64) -> Self {
        self.float(key::DROPOUT, p)
    }

    /// The optimizer.
    pub fn optimizer(self, optimizer: Optimizer) -> Self {
        self.int(key::OPTIMIZER, optimizer.raw())
    }

    /// Learning rate.
    pub fn lr(self, lr: f64) -> Self {
        self.float(key::LR, lr)
    }

    /// Weight decay.
    pub fn weight_decay(self, wd: f64) -> Self {
        self.float(key::WEIGHT_DECAY, wd)
    }

    /// Create the configuration and apply every setting in order.
    /// Errors: the first failing setting's error.
    pub fn build(&self) -> Result<Config> {
        let mut config = Config::new(self.preset)?;
        for s in &self.settings {
            match s {
                Setting::Int(k, v) => config.set_int(*k, *v)?,
                Setting::Float(k, v) => config.set_float(*k, *v)?,
                Setting::Blocks(rows) => config.set_blocks(rows)?,
            }
        }
        Ok(config)
    }

    /// Build the configuration, then the model.
    pub fn build_model(&self) -> Result<Model> {
        Model::new(&self.build()?)
    }
}
