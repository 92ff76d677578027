// SPDX-License-Identifier: BSD-2-Clause
//! Datasets, the batch iterator, evaluation and fitting images to a model input.
use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use mnv2_sys as sys;

use crate::config::to_u32;
use crate::error::{alloc, check, cstr_to_string, Error, Result};
use crate::model::Model;

/// A path as a C string. Errors: `InvalidArgument` for a NUL byte (or, off Unix, non-UTF-8).
pub(crate) fn path_cstring(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("path {:?} is not UTF-8", path)))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| Error::invalid(format!("path {:?} contains a NUL byte", path)))
}

/// Names as C strings plus the pointer array the C API takes.
pub(crate) struct CNames {
    _owned: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CNames {
    pub(crate) fn new<S: AsRef<str>>(names: &[S]) -> Result<CNames> {
        let mut owned = Vec::with_capacity(names.len());
        for n in names {
            owned.push(
                CString::new(n.as_ref())
                    .map_err(|_| Error::invalid(format!("name {:?} contains a NUL byte", n.as_ref())))?,
            );
        }
        let ptrs = owned.iter().map(|c| c.as_ptr()).collect();
        Ok(CNames { _owned: owned, ptrs })
    }

    pub(crate) fn len(&self) -> Result<u32> {
        to_u32(self.ptrs.len(), "name count")
    }

    pub(crate) fn as_ptr(&self) -> *const *const c_char {
        if self.ptrs.is_empty() {
            ptr::null()
        } else {
            self.ptrs.as_ptr()
        }
    }
}

/// One split of a dataset directory (`MNV2_SPLIT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training split.
    Train,
    /// The test split.
    Test,
}

/// Input standardisation (`MNV2_NORM_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// No standardisation: values are pixel / 255.
    None,
    /// (pixel / 255 - mean\[c\]) / std\[c\], one mean and std per channel.
    Channel,
    /// (pixel / 255 - mean) / std with one mean and std over all channels.
    Global,
}

impl Norm {
    fn raw(self) -> i32 {
        match self {
            Norm::None => sys::MNV2_NORM_NONE,
            Norm::Channel => sys::MNV2_NORM_CHANNEL,
            Norm::Global => sys::MNV2_NORM_GLOBAL,
        }
    }

    fn from_raw(v: i32) -> Norm {
        match v {
            sys::MNV2_NORM_NONE => Norm::None,
            sys::MNV2_NORM_GLOBAL => Norm::Global,
            _ => Norm::Channel,
        }
    }
}

/// Size and shape of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetInfo {
    /// Number of images.
    pub count: u32,
    /// Image height.
    pub height: u32,
    /// Image width.
    pub width: u32,
    /// Image channels.
    pub channels: u32,
    /// Number of classes.
    pub classes: u32,
}

/// In-memory labelled uint8 images in HWC order (owns an `mnv2_dataset`; freed on drop).
/// `Send` but not `Sync`, as every handle of the library.
#[derive(Debug)]
pub struct Dataset {
    raw: NonNull<sys::mnv2_dataset>,
}

// SAFETY: one thread at a time, as for `Model`.
unsafe impl Send for Dataset {}

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: owned handle; no iterator can outlive the borrow it holds on `self`.
        unsafe { sys::mnv2_dataset_destroy(self.raw.as_ptr()) }
    }
}

fn take_dataset(status: i32, raw: *mut sys::mnv2_dataset) -> Result<Dataset> {
    check(status)?;
    NonNull::new(raw)
        .map(|raw| Dataset { raw })
        .ok_or_else(|| Error::new(sys::MNV2_ERR_OUT_OF_MEMORY, "no dataset returned"))
}

impl Dataset {
    /// A dataset copied from `images` (count * height * width * channels bytes, HWC per image)
    /// and `labels` (count labels in 0 .. classes); count is `labels.len()`.
    /// Errors: `SizeMismatch` (`images` does not hold one image per label), `InvalidArgument`
    /// (a size or label out of range), `OutOfMemory`.
    pub fn new(
        height: u32,
        width: u32,
        channels: u32,
        classes: u32,
        images: &[u8],
        labels: &[i32],
    ) -> Result<Dataset> {
        let count = to_u32(labels.len(), "image count")?;
        let want = (height as usize)
            .checked_mul(width as usize)
            .and_then(|v| v.checked_mul(channels as usize))
            .and_then(|v| v.checked_mul(labels.len()));
        if want != Some(images.len()) {
            return Err(Error::size(format!(
                "images: {} bytes for {} images of {}x{}x{}",
                images.len(),
                count,
                height,
                width,
                channels
            )));
        }
        let mut raw = ptr::null_mut();
        let (pi, pl) =
            if labels.is_empty() { (ptr::null(), ptr::null()) } else { (images.as_ptr(), labels.as_ptr()) };
        // SAFETY: the slices hold what the sizes claim (checked above); they are copied.
        let st =
            unsafe { sys::mnv2_dataset_create(count, height, width, channels, classes, pi, pl, &mut raw) };
        take_dataset(st, raw)
    }

    /// Read an IDX pair (MNIST, Fashion-MNIST), uncompressed.
    /// Errors: `Io`, `Format`, `OutOfMemory`, `InvalidArgument`.
    pub fn read_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset> {
        let ci = path_cstring(images.as_ref())?;
        let cl = path_cstring(labels.as_ref())?;
        let mut raw = ptr::null_mut();
        // SAFETY: NUL-terminated paths, out-pointer to a local.
        let st = unsafe { sys::mnv2_dataset_read_idx(ci.as_ptr(), cl.as_ptr(), &mut raw) };
        take_dataset(st, raw)
    }

    /// Read an IDX pair from memory (for example decompressed `.gz` files).
    /// Errors: `Format`, `OutOfMemory`, `InvalidArgument`.
    pub fn read_idx_mem(images: &[u8], labels: &[u8]) -> Result<Dataset> {
        let mut raw = ptr::null_mut();
        // SAFETY: both slices are valid for their lengths; they are only read.
        let st = unsafe {
            sys::mnv2_dataset_read_idx_mem(
                images.as_ptr() as *const _,
                images.len(),
                labels.as_ptr() as *const _,
                labels.len(),
                &mut raw,
            )
        };
        take_dataset(st, raw)
    }

    /// Read CIFAR-10 binary batch files, concatenated in the order given (1 to 64 files).
    /// Errors: `Io`, `Format`, `OutOfMemory`, `InvalidArgument`.
    pub fn read_cifar10<P: AsRef<Path>>(paths: &[P]) -> Result<Dataset> {
        let owned = paths.iter().map(|p| path_cstring(p.as_ref())).collect::<Result<Vec<_>>>()?;
        let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        let n = to_u32(ptrs.len(), "path count")?;
        let p = if ptrs.is_empty() { ptr::null() } else { ptrs.as_ptr() };
        let mut raw = ptr::null_mut();
        // SAFETY: n NUL-terminated paths.
        let st = unsafe { sys::mnv2_dataset_read_cifar10(p, n, &mut raw) };
        take_dataset(st, raw)
    }

    /// Read CIFAR-10 records from memory. Errors: `Format`, `OutOfMemory`.
    pub fn read_cifar10_mem(data: &[u8]) -> Result<Dataset> {
        let mut raw = ptr::null_mut();
        // SAFETY: the slice is valid for its length.
        let st =
            unsafe { sys::mnv2_dataset_read_cifar10_mem(data.as_ptr() as *const _, data.len(), &mut raw) };
        take_dataset(st, raw)
    }

    /// Read a CIFAR-100 binary file (fine labels). Errors: `Io`, `Format`, `OutOfMemory`.
    pub fn read_cifar100(path: impl AsRef<Path>) -> Result<Dataset> {
        let c = path_cstring(path.as_ref())?;
        let mut raw = ptr::null_mut();
        // SAFETY: NUL-terminated path.
        let st = unsafe { sys::mnv2_dataset_read_cifar100(c.as_ptr(), &mut raw) };
        take_dataset(st, raw)
    }

    /// Read CIFAR-100 records from memory. Errors: `Format`, `OutOfMemory`.
    pub fn read_cifar100_mem(data: &[u8]) -> Result<Dataset> {
        let mut raw = ptr::null_mut();
        // SAFETY: the slice is valid for its length.
        let st =
            unsafe { sys::mnv2_dataset_read_cifar100_mem(data.as_ptr() as *const _, data.len(), &mut raw) };
        take_dataset(st, raw)
    }

    /// Open one split of a dataset directory (CIFAR-10, CIFAR-100 or uncompressed IDX files).
    /// Errors: `NotFound` (no known layout), `Unsupported` (only `.gz` files), `Io`, `Format`.
    pub fn open_dir(dir: impl AsRef<Path>, split: Split) -> Result<Dataset> {
        let c = path_cstring(dir.as_ref())?;
        let split = match split {
            Split::Train => sys::MNV2_SPLIT_TRAIN,
            Split::Test => sys::MNV2_SPLIT_TEST,
        };
        let mut raw = ptr::null_mut();
        // SAFETY: NUL-terminated path.
        let st = unsafe { sys::mnv2_dataset_open_dir(c.as_ptr(), split, &mut raw) };
        take_dataset(st, raw)
    }

    pub(crate) fn as_ptr(&self) -> *const sys::mnv2_dataset {
        self.raw.as_ptr()
    }

    /// Size and shape.
    pub fn info(&self) -> DatasetInfo {
        let mut i = DatasetInfo { count: 0, height: 0, width: 0, channels: 0, classes: 0 };
        // SAFETY: valid handle; cannot fail for one.
        unsafe {
            sys::mnv2_dataset_info(
                self.as_ptr(),
                &mut i.count,
                &mut i.height,
                &mut i.width,
                &mut i.channels,
                &mut i.classes,
            );
        }
        i
    }

    /// Number of images.
    pub fn len(&self) -> u32 {
        self.info().count
    }

    /// Whether the dataset holds no image (never true for a dataset the library created).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pixels of image `index` (height * width * channels bytes, HWC), borrowed.
    /// Errors: `InvalidArgument` (index out of range).
    pub fn image(&self, index: u32) -> Result<&[u8]> {
        let info = self.info();
        let mut p = ptr::null();
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_dataset_image(self.as_ptr(), index, &mut p) })?;
        let n = info.height as usize * info.width as usize * info.channels as usize;
        // SAFETY: the library returns n bytes owned by the dataset, alive as long as `self`.
        Ok(if p.is_null() { &[] } else { unsafe { std::slice::from_raw_parts(p, n) } })
    }

    /// The label of image `index`. Errors: `InvalidArgument`.
    pub fn label(&self, index: u32) -> Result<i32> {
        let mut v = 0i32;
        // SAFETY: valid handle, out-pointer to a local.
        check(unsafe { sys::mnv2_dataset_label(self.as_ptr(), index, &mut v) })?;
        Ok(v)
    }

    /// The name of class `cls`. Errors: `InvalidArgument`.
    pub fn class_name(&self, cls: u32) -> Result<String> {
        let mut p = ptr::null();
        // SAFETY: valid handle; the name is copied at once.
        check(unsafe { sys::mnv2_dataset_class_name(self.as_ptr(), cls, &mut p) })?;
        // SAFETY: NUL-terminated text owned by the dataset.
        Ok(unsafe { cstr_to_string(p) })
    }

    /// Every class name, in class order.
    pub fn class_names(&self) -> Result<Vec<String>> {
        (0..self.info().classes).map(|c| self.class_name(c)).collect()
    }

    /// Replace the class names (exactly `classes` names, each at most 255 bytes).
    /// Errors: `SizeMismatch`, `InvalidArgument`.
    pub fn set_class_names<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        let c = CNames::new(names)?;
        // SAFETY: n NUL-terminated names; copied.
        check(unsafe { sys::mnv2_dataset_set_class_names(self.raw.as_ptr(), c.as_ptr(), c.len()?) })
    }

    /// A new dataset holding copies of the images at `indices` (repeats allowed).
    /// Errors: `InvalidArgument` (no index, index out of range).
    pub fn subset(&self, indices: &[u32]) -> Result<Dataset> {
        let n = to_u32(indices.len(), "index count")?;
        let p = if indices.is_empty() { ptr::null() } else { indices.as_ptr() };
        let mut raw = ptr::null_mut();
        // SAFETY: n indices.
        let st = unsafe { sys::mnv2_dataset_subset(self.as_ptr(), p, n, &mut raw) };
        take_dataset(st, raw)
    }

    /// Keep only the first `n` images (all when `n` is at least the count).
    /// Errors: `InvalidArgument` (n 0).
    pub fn limit(&mut self, n: u32) -> Result<()> {
        // SAFETY: valid handle; `&mut self` guarantees no iterator borrows the dataset.
        check(unsafe { sys::mnv2_dataset_limit(self.raw.as_ptr(), n) })
    }

    /// Mean and standard deviation of pixels / 255 after conversion to `channels` output
    /// channels (0 = the dataset's own), per channel or global (every entry the same).
    /// Errors: `InvalidArgument` (`Norm::None`), `Unsupported` (channel conversion).
    pub fn stats(&self, norm: Norm, channels: u32) -> Result<(Vec<f32>, Vec<f32>)> {
        if channels > sys::MNV2_DATASET_MAX_CHANNELS as u32 {
            return Err(Error::invalid(format!("stats: {} channels is out of range", channels)));
        }
        let c = if channels == 0 { self.info().channels } else { channels } as usize;
        let mut mean = vec![0f32; c];
        let mut std = vec![0f32; c];
        // SAFETY: both buffers have room for the output channels.
        check(unsafe {
            sys::mnv2_dataset_stats(self.as_ptr(), norm.raw(), channels, mean.as_mut_ptr(), std.as_mut_ptr())
        })?;
        Ok((mean, std))
    }

    /// A batch iterator over this dataset (see [`BatchIter::new`]).
    pub fn batches(&self, opts: &BatchOptions) -> Result<BatchIter<'_>> {
        BatchIter::new(self, opts)
    }
}

/// Settings of a batch iterator and of [`Model::evaluate`]. `Default` gives the library's
/// defaults (`mnv2_batch_options_default()`): batch 32, the dataset's shape, shuffled, per-channel
/// standardisation computed from the dataset, no augmentation, seed 0.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    /// Images per batch, >= 1.
    pub batch: u32,
    /// Output height; 0 = the dataset's.
    pub height: u32,
    /// Output width; 0 = the dataset's.
    pub width: u32,
    /// Output channels; 0 = the dataset's.
    pub channels: u32,
    /// A new deterministic order every epoch (false: dataset order).
    pub shuffle: bool,
    /// Skip the last partial batch of an epoch.
    pub drop_last: bool,
    /// Random horizontal flip with probability 1/2.
    pub flip: bool,
    /// P > 0: random crop after zero padding by P pixels (0 .. 64).
    pub pad_crop: u32,
    /// Standardisation mode.
    pub norm: Norm,
    /// Seed of the shuffle and augmentation streams.
    pub seed: u64,
    /// Means and standard deviations (one value for global, or one per output channel);
    /// `None` = computed from the dataset.
    pub stats: Option<(Vec<f32>, Vec<f32>)>,
}

fn raw_batch_options() -> sys::mnv2_batch_options {
    // SAFETY: a C struct of integers and pointers: all-zero is valid; then filled by the library.
    let mut o: sys::mnv2_batch_options = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer; cannot fail for one.
    unsafe { sys::mnv2_batch_options_default(&mut o) };
    o
}

impl Default for BatchOptions {
    fn default() -> BatchOptions {
        let o = raw_batch_options();
        BatchOptions {
            batch: o.batch,
            height: o.height,
            width: o.width,
            channels: o.channels,
            shuffle: o.shuffle != 0,
            drop_last: o.drop_last != 0,
            flip: o.flip != 0,
            pad_crop: o.pad_crop,
            norm: Norm::from_raw(o.norm),
            seed: o.seed,
            stats: None,
        }
    }
}

impl BatchOptions {
    /// The C struct, pointing into `self.stats` (valid while `self` is borrowed).
    fn to_raw(&self) -> Result<sys::mnv2_batch_options> {
        let mut o = raw_batch_options();
        o.batch = self.batch;
        o.height = self.height;
        o.width = self.width;
        o.channels = self.channels;
        o.shuffle = u32::from(self.shuffle);
        o.drop_last = u32::from(self.drop_last);
        o.flip = u32::from(self.flip);
        o.pad_crop = self.pad_crop;
        o.norm = self.norm.raw();
        o.seed = self.seed;
        if let Some((mean, std)) = &self.stats {
            if mean.len() != std.len() || mean.is_empty() {
                return Err(Error::size(format!(
                    "batch options: {} means and {} standard deviations",
                    mean.len(),
                    std.len()
                )));
            }
            // The library reads one value (global) or one per output channel.
            let want = match self.norm {
                Norm::Global => 1,
                _ => mean.len(),
            };
            if mean.len() < want {
                return Err(Error::size("batch options: too few statistics"));
            }
            o.mean = mean.as_ptr();
            o.std = std.as_ptr();
        }
        Ok(o)
    }
}

/// A batch iterator's position: with the same dataset and options it determines every later
/// batch, so restoring it resumes bit-identically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IterState {
    /// Seed of the shuffle and augmentation streams.
    pub seed: u64,
    /// Epoch.
    pub epoch: u64,
    /// Images of the epoch already produced.
    pub position: u64,
}

/// One batch: `len` images (NHWC f32) and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// len * height * width * channels values.
    pub images: Vec<f32>,
    /// len labels.
    pub labels: Vec<i32>,
}

impl Batch {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch holds no image (never true for one the iterator returned).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Turns a dataset into NHWC f32 batches (owns an `mnv2_batch_iter`, borrows the dataset).
///
/// As an [`Iterator`] it yields the batches of the current epoch, then `None` once, after which
/// it continues with the next epoch (reshuffled): `for b in &mut it { ... }` is one epoch.
#[derive(Debug)]
pub struct BatchIter<'a> {
    raw: NonNull<sys::mnv2_batch_iter>,
    batch: u32,
    image_len: usize,
    _dataset: PhantomData<&'a Dataset>,
}

impl Drop for BatchIter<'_> {
    fn drop(&mut self) {
        // SAFETY: owned handle, destroyed once.
        unsafe { sys::mnv2_batch_iter_destroy(self.raw.as_ptr()) }
    }
}

impl<'a> BatchIter<'a> {
    /// An iterator over `dataset` at epoch 0, position 0; `opts` is copied.
    /// Errors: `InvalidArgument` (batch 0, a size out of range, std not positive, drop_last with
    /// batch above the count, a batch above the count whose buffers would exceed 2^28 values), `SizeMismatch` (statistics), `Unsupported` (channel conversion).
    pub fn new(dataset: &'a Dataset, opts: &BatchOptions) -> Result<BatchIter<'a>> {
        let o = opts.to_raw()?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid dataset, borrowed for 'a; options copied by the library.
        check(unsafe { sys::mnv2_batch_iter_create(dataset.as_ptr(), &o, &mut raw) })?;
        let raw = NonNull::new(raw)
            .ok_or_else(|| Error::new(sys::MNV2_ERR_OUT_OF_MEMORY, "no iterator returned"))?;
        let mut it = BatchIter { raw, batch: opts.batch, image_len: 0, _dataset: PhantomData };
        let (h, w, c) = it.image_shape();
        it.image_len = h as usize * w as usize * c as usize;
        // Buffers are sized for a full batch. A batch above the image count only ever gives
        // one partial batch, so an absurd one (buffers above 2^28 values) is refused here
        // rather than allocated.
        let floats = (opts.batch as u64).saturating_mul(it.image_len as u64);
        if opts.batch > dataset.len() && floats > 1 << 28 {
            return Err(Error::invalid(format!(
                "batch {} is above the {} images and would need {} values of buffer",
                opts.batch,
                dataset.len(),
                floats
            )));
        }
        Ok(it)
    }

    pub(crate) fn as_ptr(&self) -> *const sys::mnv2_batch_iter {
        self.raw.as_ptr()
    }

    /// The output image shape (height, width, channels).
    pub fn image_shape(&self) -> (u32, u32, u32) {
        let (mut h, mut w, mut c) = (0, 0, 0);
        // SAFETY: valid handle; cannot fail for one.
        unsafe { sys::mnv2_batch_iter_info(self.as_ptr(), ptr::null_mut(), &mut h, &mut w, &mut c) };
        (h, w, c)
    }

    /// Batches per epoch (with drop_last, full batches only).
    pub fn batches_per_epoch(&self) -> u64 {
        let mut n = 0u64;
        // SAFETY: valid handle; cannot fail for one.
        unsafe {
            sys::mnv2_batch_iter_info(
                self.as_ptr(),
                &mut n,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        n
    }

    /// Images per full batch.
    pub fn batch_size(&self) -> u32 {
        self.batch
    }

    /// Produce the next batch into caller buffers (room for a full batch: `images` at least
    /// batch * height * width * channels, `labels` at least batch). Returns the number of images
    /// produced; 0 when the epoch is over, which also moves to the next epoch.
    /// Errors: `SizeMismatch` (a buffer too small).
    pub fn next_into(&mut self, images: &mut [f32], labels: &mut [i32]) -> Result<u32> {
        let nl = to_u32(labels.len(), "label capacity")?;
        let mut b = 0u32;
        // SAFETY: both slices are valid for their lengths, which are passed as capacities.
        check(unsafe {
            sys::mnv2_batch_next(
                self.raw.as_ptr(),
                images.as_mut_ptr(),
                images.len(),
                labels.as_mut_ptr(),
                nl,
                &mut b,
            )
        })?;
        Ok(b)
    }

    /// The next batch of the current epoch, or `None` at its end (the iterator then moves to
    /// the next epoch).
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        let n = (self.batch as usize)
            .checked_mul(self.image_len)
            .ok_or_else(|| Error::new(sys::MNV2_ERR_OUT_OF_MEMORY, "batch: size overflows"))?;
        let mut images = alloc::<f32>(n, "batch images")?;
        let mut labels = alloc::<i32>(self.batch as usize, "batch labels")?;
        let b = self.next_into(&mut images, &mut labels)? as usize;
        if b == 0 {
            return Ok(None);
        }
        images.truncate(b * self.image_len);
        labels.truncate(b);
        Ok(Some(Batch { images, labels }))
    }

    /// The iterator's position.
    pub fn state(&self) -> IterState {
        let mut s = IterState::default();
        // SAFETY: valid handle; cannot fail for one.
        unsafe { sys::mnv2_batch_iter_get_state(self.as_ptr(), &mut s.seed, &mut s.epoch, &mut s.position) };
        s
    }

    /// Restore a position read by [`state`](BatchIter::state) (or from a checkpoint).
    /// Errors: `InvalidArgument` (position above the image count).
    pub fn set_state(&mut self, state: IterState) -> Result<()> {
        // SAFETY: valid handle.
        check(unsafe {
            sys::mnv2_batch_iter_set_state(self.raw.as_ptr(), state.seed, state.epoch, state.position)
        })
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        self.next_batch().transpose()
    }
}

/// Result of [`Model::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean softmax cross-entropy.
    pub loss: f64,
    /// Fraction of images whose label has the highest logit.
    pub top1: f64,
    /// Fraction of images whose label is among the 5 highest logits.
    pub top5: f64,
}

impl Model {
    /// Evaluate on every image of `dataset` in inference mode, fitting the images to the model's
    /// input. Of `opts` (`None` = defaults) only batch, norm and stats are used: pass the
    /// training set's statistics. Errors: `InvalidArgument` (a label not below the classes),
    /// `NotFinite`, any error of a forward.
    pub fn evaluate(&mut self, dataset: &Dataset, opts: Option<&BatchOptions>) -> Result<Evaluation> {
        let o = match opts {
            Some(o) => Some(o.to_raw()?),
            None => None,
        };
        let po = o.as_ref().map_or(ptr::null(), |o| o as *const _);
        let mut e = Evaluation { loss: 0.0, top1: 0.0, top5: 0.0 };
        // SAFETY: valid handles; options (and the stats they point to) live across the call.
        check(unsafe {
            sys::mnv2_evaluate(self.as_mut_ptr(), dataset.as_ptr(), po, &mut e.loss, &mut e.top1, &mut e.top5)
        })?;
        Ok(e)
    }
}

/// Fit one uint8 HWC image to a model input without augmentation (channel conversion,
/// standardisation with `stats` = (means, stds) of length 1 or `out_channels`, or `None`;
/// padding or bilinear resizing). Returns out_height * out_width * out_channels values.
/// Errors: `InvalidArgument`, `SizeMismatch` (`pixels` length), `Unsupported`.
pub fn fit_image(
    pixels: &[u8],
    (height, width, channels): (u32, u32, u32),
    (out_height, out_width, out_channels): (u32, u32, u32),
    stats: Option<(&[f32], &[f32])>,
) -> Result<Vec<f32>> {
    let want = height as usize * width as usize * channels as usize;
    if pixels.len() != want {
        return Err(Error::size(format!(
            "pixels: {} bytes for a {}x{}x{} image",
            pixels.len(),
            height,
            width,
            channels
        )));
    }
    let (pm, ps, n) = match stats {
        Some((m, s)) => {
            if m.len() != s.len() {
                return Err(Error::size("fit_image: means and standard deviations differ in length"));
            }
            (m.as_ptr(), s.as_ptr(), to_u32(m.len(), "statistics count")?)
        }
        None => (ptr::null(), ptr::null(), 0),
    };
    let max_side = sys::MNV2_DATASET_MAX_SIDE as u32;
    if out_height > max_side || out_width > max_side || out_channels > sys::MNV2_DATASET_MAX_CHANNELS as u32 {
        return Err(Error::invalid(format!(
            "fit_image: output {}x{}x{} is out of range",
            out_height, out_width, out_channels
        )));
    }
    let out_len = (out_height as usize)
        .checked_mul(out_width as usize)
        .and_then(|v| v.checked_mul(out_channels as usize))
        .ok_or_else(|| Error::invalid("fit_image: output size overflows"))?;
    let mut out = alloc::<f32>(out_len, "fit_image")?;
    // SAFETY: `pixels` holds the image (checked), `out` out_len values, stats n values each.
    check(unsafe {
        sys::mnv2_fit_image(
            pixels.as_ptr(),
            height,
            width,
            channels,
            out_height,
            out_width,
            out_channels,
            pm,
            ps,
            n,
            out.as_mut_ptr(),
            out.len(),
        )
    })?;
    Ok(out)
}
