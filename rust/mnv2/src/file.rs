// SPDX-License-Identifier: BSD-2-Clause
//! Model and checkpoint files (docs/file-format.md of the library): save, load, checkpoints.
use std::path::Path;
use std::ptr;

use mnv2_sys as sys;

use crate::data::{path_cstring, BatchIter, CNames, IterState};
use crate::error::{check, cstr_to_string, Error, Result};
use crate::model::Model;

/// Settings of [`Model::load`] and [`Model::load_checkpoint`]. `Default`: everything as saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Max batch of the loaded model; `None` = as saved.
    pub max_batch: Option<u32>,
    /// Threads (0 = all CPUs); `None` = as saved.
    pub threads: Option<u32>,
    /// Trainable or inference-only; `None` = as saved.
    pub trainable: Option<bool>,
    /// Highest ISA level (`Some(-1)` = no limit); `None` = as saved.
    pub isa_max: Option<i32>,
}

impl LoadOptions {
    fn to_raw(self) -> Result<sys::mnv2_load_options> {
        // SAFETY: a C struct of integers: all-zero is valid; then filled by the library.
        let mut o: sys::mnv2_load_options = unsafe { std::mem::zeroed() };
        // SAFETY: valid out-pointer.
        check(unsafe { sys::mnv2_load_options_default(&mut o) })?;
        if let Some(b) = self.max_batch {
            o.max_batch = b;
        }
        if let Some(t) = self.threads {
            o.threads =
                i32::try_from(t).map_err(|_| Error::invalid(format!("threads {} is too large", t)))?;
        }
        if let Some(t) = self.trainable {
            o.trainable = i32::from(t);
        }
        if let Some(i) = self.isa_max {
            o.isa_max = i;
        }
        Ok(o)
    }
}

/// What a loaded file holds besides the model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileInfo {
    /// The stored class names (empty when the file stores none).
    pub class_names: Vec<String>,
    /// A checkpoint's batch iterator state (`None` for a model file).
    pub iter_state: Option<IterState>,
    /// A checkpoint's caller blob (`None` for a model file).
    pub blob: Option<Vec<u8>>,
}

/// Copy the content of an `mnv2_file_info` and free it.
unsafe fn take_info(info: *mut sys::mnv2_file_info) -> Result<FileInfo> {
    struct Guard(*mut sys::mnv2_file_info);
    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: owned, freed once.
            unsafe { sys::mnv2_file_info_destroy(self.0) }
        }
    }
    let g = Guard(info);
    let mut out = FileInfo::default();
    let mut names = ptr::null();
    let mut n = 0u32;
    check(sys::mnv2_file_info_class_names(g.0, &mut names, &mut n))?;
    if !names.is_null() {
        for i in 0..n as usize {
            out.class_names.push(cstr_to_string(*names.add(i)));
        }
    }
    let mut s = IterState::default();
    match sys::mnv2_file_info_iter_state(g.0, &mut s.seed, &mut s.epoch, &mut s.position) {
        sys::MNV2_OK => out.iter_state = Some(s),
        sys::MNV2_ERR_NOT_FOUND => {}
        st => return Err(Error::from_status(st)),
    }
    let mut data = ptr::null();
    let mut size = 0u64;
    match sys::mnv2_file_info_blob(g.0, &mut data, &mut size) {
        sys::MNV2_OK => {
            let len = usize::try_from(size).map_err(|_| Error::invalid("blob too large"))?;
            out.blob = Some(if data.is_null() || len == 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts(data as *const u8, len).to_vec()
            });
        }
        sys::MNV2_ERR_NOT_FOUND => {}
        st => return Err(Error::from_status(st)),
    }
    Ok(out)
}

/// Copy a `_save_mem` buffer into a Vec and free it.
unsafe fn take_buffer(data: *mut std::os::raw::c_void, size: usize) -> Vec<u8> {
    let v = if data.is_null() || size == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(data as *const u8, size).to_vec()
    };
    sys::mnv2_buffer_free(data);
    v
}

type LoadFn = unsafe extern "C" fn(
    *const std::os::raw::c_char,
    *const sys::mnv2_load_options,
    *mut *mut sys::mnv2_model,
    *mut *mut sys::mnv2_file_info,
) -> i32;
type LoadMemFn = unsafe extern "C" fn(
    *const std::os::raw::c_void,
    usize,
    *const sys::mnv2_load_options,
    *mut *mut sys::mnv2_model,
    *mut *mut sys::mnv2_file_info,
) -> i32;

fn load_path(f: LoadFn, path: &Path, opts: &LoadOptions) -> Result<(Model, FileInfo)> {
    let c = path_cstring(path)?;
    let o = opts.to_raw()?;
    let mut m = ptr::null_mut();
    let mut info = ptr::null_mut();
    // SAFETY: NUL-terminated path, valid options, out-pointers to locals.
    check(unsafe { f(c.as_ptr(), &o, &mut m, &mut info) })?;
    finish_load(m, info)
}

fn load_mem(f: LoadMemFn, data: &[u8], opts: &LoadOptions) -> Result<(Model, FileInfo)> {
    let o = opts.to_raw()?;
    let mut m = ptr::null_mut();
    let mut info = ptr::null_mut();
    // SAFETY: the slice is valid for its length and only read.
    check(unsafe { f(data.as_ptr() as *const _, data.len(), &o, &mut m, &mut info) })?;
    finish_load(m, info)
}

fn finish_load(m: *mut sys::mnv2_model, info: *mut sys::mnv2_file_info) -> Result<(Model, FileInfo)> {
    // SAFETY: both were just returned by the library and are owned here.
    let model = unsafe { Model::from_raw(m) };
    let info = unsafe { take_info(info) };
    Ok((model?, info?))
}

impl Model {
    /// Save the model (configuration, tensors, class names: none or exactly
    /// [`classes`](Model::classes) of them, input standardisation) to `path`, atomically.
    /// Errors: `SizeMismatch` (class name count), `InvalidArgument`, `Io` (the old file is then
    /// unchanged), `OutOfMemory`.
    pub fn save<S: AsRef<str>>(&self, path: impl AsRef<Path>, class_names: &[S]) -> Result<()> {
        let c = path_cstring(path.as_ref())?;
        let names = CNames::new(class_names)?;
        // SAFETY: valid handle, names and path.
        check(unsafe { sys::mnv2_model_save(self.as_ptr(), names.as_ptr(), names.len()?, c.as_ptr()) })
    }

    /// As [`save`](Model::save), into memory.
    pub fn save_to_vec<S: AsRef<str>>(&self, class_names: &[S]) -> Result<Vec<u8>> {
        let names = CNames::new(class_names)?;
        let mut data = ptr::null_mut();
        let mut size = 0usize;
        // SAFETY: valid handle and names; the buffer is copied and freed.
        check(unsafe {
            sys::mnv2_model_save_mem(self.as_ptr(), names.as_ptr(), names.len()?, &mut data, &mut size)
        })?;
        Ok(unsafe { take_buffer(data, size) })
    }

    /// Save a checkpoint: everything [`save`](Model::save) stores plus the optimizer state, the
    /// step, the dropout stream, the state of `iter` (zeros when `None`) and `blob` (any caller
    /// data). Errors as [`save`](Model::save); `BadState` for an inference-only model.
    pub fn save_checkpoint<S: AsRef<str>>(
        &mut self,
        path: impl AsRef<Path>,
        iter: Option<&BatchIter<'_>>,
        blob: &[u8],
        class_names: &[S],
    ) -> Result<()> {
        let c = path_cstring(path.as_ref())?;
        let names = CNames::new(class_names)?;
        let it = iter.map_or(ptr::null(), |i| i.as_ptr());
        let pb = if blob.is_empty() { ptr::null() } else { blob.as_ptr() as *const _ };
        // SAFETY: valid handles, blob of blob.len() bytes, names and path.
        check(unsafe {
            sys::mnv2_checkpoint_save(
                self.as_mut_ptr(),
                it,
                pb,
                blob.len() as u64,
                names.as_ptr(),
                names.len()?,
                c.as_ptr(),
            )
        })
    }

    /// As [`save_checkpoint`](Model::save_checkpoint), into memory.
    pub fn save_checkpoint_to_vec<S: AsRef<str>>(
        &mut self,
        iter: Option<&BatchIter<'_>>,
        blob: &[u8],
        class_names: &[S],
    ) -> Result<Vec<u8>> {
        let names = CNames::new(class_names)?;
        let it = iter.map_or(ptr::null(), |i| i.as_ptr());
        let pb = if blob.is_empty() { ptr::null() } else { blob.as_ptr() as *const _ };
        let mut data = ptr::null_mut();
        let mut size = 0usize;
        // SAFETY: as save_checkpoint(); the buffer is copied and freed.
        check(unsafe {
            sys::mnv2_checkpoint_save_mem(
                self.as_mut_ptr(),
                it,
                pb,
                blob.len() as u64,
                names.as_ptr(),
                names.len()?,
                &mut data,
                &mut size,
            )
        })?;
        Ok(unsafe { take_buffer(data, size) })
    }

    /// Load a model file (or the model part of a checkpoint).
    /// Errors: `Io`, `Format`, `Checksum`, `Version`, `OutOfMemory`, `InvalidArgument`.
    pub fn load(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<(Model, FileInfo)> {
        load_path(sys::mnv2_model_load, path.as_ref(), opts)
    }

    /// As [`load`](Model::load), from memory.
    pub fn load_from_slice(data: &[u8], opts: &LoadOptions) -> Result<(Model, FileInfo)> {
        load_mem(sys::mnv2_model_load_mem, data, opts)
    }

    /// Load a checkpoint: the model with its optimizer state, step and dropout stream; the
    /// iterator state and blob are in the returned [`FileInfo`] (restore the iterator with
    /// [`BatchIter::set_state`]). Errors as [`load`](Model::load); `Format` for a file that is
    /// not a checkpoint.
    pub fn load_checkpoint(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<(Model, FileInfo)> {
        load_path(sys::mnv2_checkpoint_load, path.as_ref(), opts)
    }

    /// As [`load_checkpoint`](Model::load_checkpoint), from memory.
    pub fn load_checkpoint_from_slice(data: &[u8], opts: &LoadOptions) -> Result<(Model, FileInfo)> {
        load_mem(sys::mnv2_checkpoint_load_mem, data, opts)
    }
}
