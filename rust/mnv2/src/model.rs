// SPDX-License-Identifier: BSD-2-Clause
//! The model: forward, backward, optimizer steps, parameter access.
use std::ffi::CString;
use std::ptr::{self, NonNull};

use mnv2_sys as sys;

use crate::config::{key, to_u32, Config, Stat};
use crate::error::{alloc, check, cstr_to_string, Error, Result};

/// Which pass a forward runs (`MNV2_MODE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Inference: batch-norm running statistics, no dropout, nothing kept.
    Infer,
    /// Training: batch statistics (running statistics updated), dropout, activations kept for
    /// [`Model::backward`]. Needs a trainable model.
    Train,
}

impl Mode {
    fn raw(self) -> i32 {
        match self {
            Mode::Infer => sys::MNV2_MODE_INFER,
            Mode::Train => sys::MNV2_MODE_TRAIN,
        }
    }
}

/// The kind of a named tensor (`MNV2_TENSOR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorKind {
    /// A trainable parameter (has a gradient and optimizer state).
    Param,
    /// A batch-norm running mean (buffer).
    RunningMean,
    /// A batch-norm running variance (buffer).
    RunningVar,
    /// A kind this crate does not know (from a newer library), with its raw value.
    Other(i32),
}

/// Which data of a tensor to read or write (`MNV2_DATA_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorData {
    /// The tensor's values.
    Value,
    /// The tensor's accumulated gradient (parameters of a trainable model only).
    Grad,
}

impl TensorData {
    fn raw(self) -> i32 {
        match self {
            TensorData::Value => sys::MNV2_DATA_VALUE,
            TensorData::Grad => sys::MNV2_DATA_GRAD,
        }
    }
}

/// Description of a named tensor ([`Model::tensors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Name as torchvision's `state_dict` (`"features.0.0.weight"`, ...).
    pub name: String,
    /// Parameter or buffer.
    pub kind: TensorKind,
    /// Shape in mnv2's layout (1 to 4 dimensions).
    pub dims: Vec<u32>,
    /// Number of values.
    pub numel: u64,
}

/// A MobileNetV2 model: parameters, gradients, optimizer state, activation memory and worker
/// threads, all owned by the `mnv2_model` handle, which [`Drop`] destroys.
///
/// `Send` but not `Sync`, as the C rule says: a handle may move to another thread but is used by
/// one thread at a time. Every call that runs the network takes `&mut self`.
///
/// ```compile_fail,E0277
/// fn needs_sync<T: Sync>() {}
/// needs_sync::<mnv2::Model>();
/// ```
#[derive(Debug)]
pub struct Model {
    raw: NonNull<sys::mnv2_model>,
    classes: usize,
    height: u32,
    width: u32,
    channels: u32,
    max_batch: u32,
    trainable: bool,
}

// SAFETY: the C API allows a handle to be used from any thread, one thread at a time; `Model`
// is not `Sync`, so shared references cannot cross threads.
unsafe impl Send for Model {}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: the handle is owned and destroyed once.
        unsafe { sys::mnv2_model_destroy(self.raw.as_ptr()) }
    }
}

impl Model {
    /// Build a model from a configuration: allocates every buffer once and initializes the
    /// weights deterministically from the seed. The configuration is copied.
    /// Errors: `InvalidArgument`, `OutOfMemory`, `Thread`.
    pub fn new(config: &Config) -> Result<Model> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid config handle, out-pointer to a local.
        check(unsafe { sys::mnv2_model_create(config.as_ptr(), &mut raw) })?;
        // SAFETY: a handle the library just created and now owned here.
        unsafe { Model::from_raw(raw) }
    }

    /// Take ownership of a handle returned by the library (NULL is an error).
    pub(crate) unsafe fn from_raw(raw: *mut sys::mnv2_model) -> Result<Model> {
        let raw =
            NonNull::new(raw).ok_or_else(|| Error::new(sys::MNV2_ERR_OUT_OF_MEMORY, "no model returned"))?;
        let mut m =
            Model { raw, classes: 0, height: 0, width: 0, channels: 0, max_batch: 0, trainable: false };
        // The structural keys are fixed once the model exists: read them once.
        m.classes = usize::try_from(m.int(key::CLASSES)?).unwrap_or(0);
        m.height = u32::try_from(m.int(key::INPUT_HEIGHT)?).unwrap_or(0);
        m.width = u32::try_from(m.int(key::INPUT_WIDTH)?).unwrap_or(0);
        m.channels = u32::try_from(m.int(key::INPUT_CHANNELS)?).unwrap_or(0);
        m.max_batch = u32::try_from(m.int(key::MAX_BATCH)?).unwrap_or(0);
        m.trainable = m.int(key::TRAINABLE)? != 0;
        Ok(m)
    }

    pub(crate) fn as_ptr(&self) -> *const sys::mnv2_model {
        self.raw.as_ptr()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut sys::mnv2_model {
        self.raw.as_ptr()
    }

    /// Number of classes (logits per image).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Input shape per image: (height, width, channels), NHWC.
    pub fn input_shape(&self) -> (u32, u32, u32) {
        (self.height, self.width, self.channels)
    }

    /// Number of `f32` values of one input image (height * width * channels).
    pub fn image_len(&self) -> usize {
        self.height as usize * self.width as usize * self.channels as usize
    }

    /// Largest batch the model accepts.
    pub fn max_batch(&self) -> u32 {
        self.max_batch
    }

    /// Whether the model can train (it has gradients and optimizer state).
    pub fn trainable(&self) -> bool {
        self.trainable
    }

    /// A copy of the model's configuration (training keys as currently set).
    pub fn config(&self) -> Result<Config> {
        let mut raw = ptr::null_mut();
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_model_get_config(self.as_ptr(), &mut raw) })?;
        Config::from_raw(raw)
    }

    /// Set an integer training key. Structural keys give `ReadOnly`.
    pub fn set_int(&mut self, key: i32, value: i64) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mnv2_model_set_int(self.as_mut_ptr(), key, value) })
    }

    /// Set a float training key. Structural keys give `ReadOnly`.
    pub fn set_float(&mut self, key: i32, value: f64) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mnv2_model_set_float(self.as_mut_ptr(), key, value) })
    }

    /// Read any integer key.
    pub fn int(&self, key: i32) -> Result<i64> {
        let mut v = 0i64;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_model_get_int(self.as_ptr(), key, &mut v) })?;
        Ok(v)
    }

    /// Read any float key.
    pub fn float(&self, key: i32) -> Result<f64> {
        let mut v = 0f64;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_model_get_float(self.as_ptr(), key, &mut v) })?;
        Ok(v)
    }

    /// A fact about the model (see [`Config::stat`]).
    pub fn stat(&self, stat: Stat, batch: u32) -> Result<u64> {
        let mut v = 0u64;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_model_stat(self.as_ptr(), stat.raw(), batch, &mut v) })?;
        Ok(v)
    }

    /// The batch `images` holds, checked against the model's image size.
    fn batch_of(&self, images: &[f32]) -> Result<u32> {
        let per = self.image_len();
        if per == 0 || images.is_empty() || images.len() % per != 0 {
            return Err(Error::size(format!(
                "images: {} values is not a whole, non-zero number of {}x{}x{} images",
                images.len(),
                self.height,
                self.width,
                self.channels
            )));
        }
        let batch = images.len() / per;
        u32::try_from(batch).ok().filter(|&b| b <= self.max_batch).ok_or_else(|| {
            Error::new(
                sys::MNV2_ERR_BATCH_SIZE,
                format!("images: batch {} is above the model's max batch {}", batch, self.max_batch),
            )
        })
    }

    /// Run the network on `images` (NHWC, a whole number of images; the batch is
    /// `images.len() / image_len()`) and write `batch * classes` logits into `logits`.
    /// Returns the batch. Errors: `SizeMismatch` (images not a whole number of images, or
    /// `logits` of the wrong length), `BatchSize`, `BadState` (`Mode::Train` on an
    /// inference-only model).
    pub fn forward_into(&mut self, images: &[f32], mode: Mode, logits: &mut [f32]) -> Result<u32> {
        let batch = self.batch_of(images)?;
        let want = batch as usize * self.classes;
        if logits.len() != want {
            return Err(Error::size(format!(
                "logits: {} values for a batch of {} x {} classes (want {})",
                logits.len(),
                batch,
                self.classes,
                want
            )));
        }
        // SAFETY: both slices are valid for their lengths, which are passed along.
        check(unsafe {
            sys::mnv2_forward(
                self.as_mut_ptr(),
                images.as_ptr(),
                images.len(),
                batch,
                mode.raw(),
                logits.as_mut_ptr(),
                logits.len(),
            )
        })?;
        Ok(batch)
    }

    /// As [`forward_into`](Model::forward_into), returning the logits (one row of
    /// [`classes`](Model::classes) values per image).
    pub fn forward(&mut self, images: &[f32], mode: Mode) -> Result<Vec<f32>> {
        let batch = self.batch_of(images)?;
        let mut logits = alloc::<f32>(batch as usize * self.classes, "logits")?;
        self.forward_into(images, mode, &mut logits)?;
        Ok(logits)
    }

    /// Classify `images` (inference mode): the index of the highest logit per image (ties go to
    /// the lower index). Errors as [`forward`](Model::forward).
    pub fn predict(&mut self, images: &[f32]) -> Result<Vec<u32>> {
        let logits = self.forward(images, Mode::Infer)?;
        Ok(logits.chunks(self.classes.max(1)).map(argmax).collect())
    }

    /// Softmax cross-entropy of the last training forward against `labels` (one per image),
    /// accumulating every parameter's gradient; returns the mean loss.
    /// Errors: `InvalidArgument` (label out of range), `SizeMismatch` (not one label per image),
    /// `BadState` (no training forward since the last backward).
    pub fn backward(&mut self, labels: &[i32]) -> Result<f32> {
        let n = to_u32(labels.len(), "label count")?;
        let mut loss = 0f32;
        let p = if labels.is_empty() { ptr::null() } else { labels.as_ptr() };
        // SAFETY: `labels` holds n values; out-pointer to a local.
        check(unsafe { sys::mnv2_backward(self.as_mut_ptr(), p, n, &mut loss) })?;
        Ok(loss)
    }

    /// Backward from a caller-computed gradient of the loss with respect to the logits of the
    /// last training forward (batch * classes values). Errors as [`backward`](Model::backward);
    /// `NotFinite` for NaN or infinity in `dlogits`.
    pub fn backward_logits(&mut self, dlogits: &[f32]) -> Result<()> {
        // SAFETY: the slice is valid for its length.
        check(unsafe { sys::mnv2_backward_logits(self.as_mut_ptr(), dlogits.as_ptr(), dlogits.len()) })
    }

    /// Apply the optimizer with the schedule's learning rate, clear the gradients and advance
    /// the step. Errors: `BadState` (no backward since the last step).
    pub fn step(&mut self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mnv2_step(self.as_mut_ptr()) })
    }

    /// As [`step`](Model::step) with the learning rate `lr` (> 0, finite).
    pub fn step_lr(&mut self, lr: f32) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mnv2_step_lr(self.as_mut_ptr(), lr) })
    }

    /// Clear the accumulated gradients. Errors: `BadState` (inference-only model).
    pub fn zero_grad(&mut self) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe { sys::mnv2_zero_grad(self.as_mut_ptr()) })
    }

    /// One training step on a batch: a training forward, cross-entropy backward against
    /// `labels` (one per image) and an optimizer step. Returns the batch's mean loss (before
    /// the step). Errors as [`forward`](Model::forward), [`backward`](Model::backward) and
    /// [`step`](Model::step).
    pub fn train_step(&mut self, images: &[f32], labels: &[i32]) -> Result<f32> {
        let batch = self.batch_of(images)?;
        if labels.len() != batch as usize {
            return Err(Error::size(format!(
                "labels: {} labels for a batch of {} images",
                labels.len(),
                batch
            )));
        }
        // SAFETY: `images` is valid for its length; no logits are asked for (NULL, 0).
        check(unsafe {
            sys::mnv2_forward(
                self.as_mut_ptr(),
                images.as_ptr(),
                images.len(),
                batch,
                sys::MNV2_MODE_TRAIN,
                ptr::null_mut(),
                0,
            )
        })?;
        let loss = self.backward(labels)?;
        self.step()?;
        Ok(loss)
    }

    /// The learning rate the schedule gives at optimizer step `step` (0-based).
    pub fn schedule_lr(&self, step: i64) -> Result<f32> {
        let mut lr = 0f32;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_schedule_lr(self.as_ptr(), step, &mut lr) })?;
        Ok(lr)
    }

    /// Record the input standardisation the model was trained with (metadata, saved with the
    /// model): `mean` and `std` of equal length 0, 1 or the input channels.
    /// Errors: `InvalidArgument` (non-finite value, std not > 0), `SizeMismatch`.
    pub fn set_normalization(&mut self, mean: &[f32], std: &[f32]) -> Result<()> {
        if mean.len() != std.len() {
            return Err(Error::size(format!(
                "normalization: {} means but {} standard deviations",
                mean.len(),
                std.len()
            )));
        }
        let n = to_u32(mean.len(), "normalization length")?;
        let (pm, ps) = if n == 0 { (ptr::null(), ptr::null()) } else { (mean.as_ptr(), std.as_ptr()) };
        // SAFETY: both slices hold n values.
        check(unsafe { sys::mnv2_model_set_normalization(self.as_mut_ptr(), pm, ps, n) })
    }

    /// The recorded input standardisation: (means, standard deviations), empty when none.
    pub fn normalization(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut n = 0u32;
        // SAFETY: NULL buffers ask for the count only.
        check(unsafe {
            sys::mnv2_model_get_normalization(self.as_ptr(), ptr::null_mut(), ptr::null_mut(), 0, &mut n)
        })?;
        let mut mean = vec![0f32; n as usize];
        let mut std = vec![0f32; n as usize];
        if n > 0 {
            // SAFETY: both buffers have room for n values.
            check(unsafe {
                sys::mnv2_model_get_normalization(
                    self.as_ptr(),
                    mean.as_mut_ptr(),
                    std.as_mut_ptr(),
                    n,
                    &mut n,
                )
            })?;
        }
        Ok((mean, std))
    }

    /// Every named tensor (parameters and batch-norm buffers), in order.
    pub fn tensors(&self) -> Result<Vec<TensorInfo>> {
        let mut count = 0u32;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_tensor_count(self.as_ptr(), &mut count) })?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let mut name = ptr::null();
            let mut kind = 0i32;
            let mut ndim = 0u32;
            let mut dims = [0u32; 4];
            let mut numel = 0u64;
            // SAFETY: `dims` has room for 4; the name points into the model and is copied here.
            check(unsafe {
                sys::mnv2_tensor_info(
                    self.as_ptr(),
                    i,
                    &mut name,
                    &mut kind,
                    &mut ndim,
                    dims.as_mut_ptr(),
                    &mut numel,
                )
            })?;
            out.push(TensorInfo {
                // SAFETY: NUL-terminated text owned by the live model.
                name: unsafe { cstr_to_string(name) },
                kind: match kind {
                    sys::MNV2_TENSOR_PARAM => TensorKind::Param,
                    sys::MNV2_TENSOR_RUNNING_MEAN => TensorKind::RunningMean,
                    sys::MNV2_TENSOR_RUNNING_VAR => TensorKind::RunningVar,
                    k => TensorKind::Other(k),
                },
                dims: dims[..(ndim as usize).min(4)].to_vec(),
                numel,
            });
        }
        Ok(out)
    }

    /// Index of the tensor called `name`. Errors: `NotFound`, `InvalidArgument` (NUL in name).
    pub fn tensor_find(&self, name: &str) -> Result<u32> {
        let c = CString::new(name).map_err(|_| Error::invalid("tensor name contains a NUL byte"))?;
        let mut index = 0u32;
        // SAFETY: NUL-terminated name, out-pointer to a local.
        check(unsafe { sys::mnv2_tensor_find(self.as_ptr(), c.as_ptr(), &mut index) })?;
        Ok(index)
    }

    /// A copy of tensor `index`'s values or gradient.
    /// Errors: `InvalidArgument` (index out of range), `BadState` (gradient of a buffer or of an
    /// inference-only model).
    pub fn tensor_read(&self, index: u32, which: TensorData) -> Result<Vec<f32>> {
        let mut numel = 0u64;
        // SAFETY: NULL out-pointers are allowed; out-pointer to a local.
        check(unsafe {
            sys::mnv2_tensor_info(
                self.as_ptr(),
                index,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                &mut numel,
            )
        })?;
        let len = usize::try_from(numel).map_err(|_| Error::invalid("tensor too large"))?;
        let mut v = alloc::<f32>(len, "tensor")?;
        // SAFETY: `v` has room for numel values.
        check(unsafe { sys::mnv2_tensor_read(self.as_ptr(), index, which.raw(), v.as_mut_ptr(), numel) })?;
        Ok(v)
    }

    /// Overwrite tensor `index`'s values or gradient from `src` (exactly its numel values).
    /// Errors as [`tensor_read`](Model::tensor_read); `SizeMismatch` for a wrong length.
    pub fn tensor_write(&mut self, index: u32, which: TensorData, src: &[f32]) -> Result<()> {
        // SAFETY: the slice is valid for its length, which is passed along.
        check(unsafe {
            sys::mnv2_tensor_write(self.as_mut_ptr(), index, which.raw(), src.as_ptr(), src.len() as u64)
        })
    }

    /// All trainable parameters as one slice borrowed from the model (tensor order).
    /// Takes `&mut self` because the library marks its folded inference weights stale.
    pub fn parameters(&mut self) -> &[f32] {
        self.parameters_mut()
    }

    /// All trainable parameters, writable. The library recomputes its folded inference weights
    /// at the next inference forward, which cannot happen while this borrow lives.
    pub fn parameters_mut(&mut self) -> &mut [f32] {
        let mut n = 0u64;
        // SAFETY: valid handle; the array is owned by the model and lives as long as the borrow.
        unsafe { slice_mut(sys::mnv2_parameters(self.as_mut_ptr(), &mut n), n) }
    }

    /// All accumulated gradients, laid out as [`parameters`](Model::parameters).
    /// Errors: `BadState` on an inference-only model.
    pub fn gradients(&mut self) -> Result<&[f32]> {
        self.gradients_mut().map(|g| &*g)
    }

    /// All accumulated gradients, writable (for example for an allreduce across processes).
    /// Errors: `BadState` on an inference-only model.
    pub fn gradients_mut(&mut self) -> Result<&mut [f32]> {
        if !self.trainable {
            return Err(Error::new(sys::MNV2_ERR_BAD_STATE, "gradients: the model is inference-only"));
        }
        let mut n = 0u64;
        // SAFETY: as parameters_mut().
        Ok(unsafe { slice_mut(sys::mnv2_gradients(self.as_mut_ptr(), &mut n), n) })
    }

    /// All batch-norm running statistics as one slice (tensor order).
    pub fn buffers(&mut self) -> &[f32] {
        self.buffers_mut()
    }

    /// All batch-norm running statistics, writable (same rule as
    /// [`parameters_mut`](Model::parameters_mut)).
    pub fn buffers_mut(&mut self) -> &mut [f32] {
        let mut n = 0u64;
        // SAFETY: as parameters_mut().
        unsafe { slice_mut(sys::mnv2_buffers(self.as_mut_ptr(), &mut n), n) }
    }

    /// The optimizer's state (Adam: first then second moments; SGD: momentum).
    /// Errors: `BadState` on an inference-only model.
    pub fn optimizer_state(&mut self) -> Result<&[f32]> {
        if !self.trainable {
            return Err(Error::new(sys::MNV2_ERR_BAD_STATE, "optimizer state: the model is inference-only"));
        }
        let mut n = 0u64;
        // SAFETY: as parameters_mut().
        Ok(unsafe { slice_mut(sys::mnv2_optimizer_state(self.as_mut_ptr(), &mut n), n) })
    }
}

/// A slice over library-owned memory; empty for NULL or a zero count.
unsafe fn slice_mut<'a>(p: *mut f32, n: u64) -> &'a mut [f32] {
    match usize::try_from(n) {
        Ok(n) if !p.is_null() && n > 0 => std::slice::from_raw_parts_mut(p, n),
        _ => &mut [],
    }
}

fn argmax(row: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}
