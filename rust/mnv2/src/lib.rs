// SPDX-License-Identifier: BSD-2-Clause
//! Safe Rust API of libmnv2: MobileNetV2 training and inference on CPUs.
//!
//! Built on the raw declarations of the `mnv2-sys` crate. Every handle of the library is owned
//! by a Rust value that frees it on drop ([`Config`], [`Model`], [`Dataset`], [`BatchIter`]);
//! every fallible call returns a [`Result`] whose [`Error`] carries the library's status code,
//! its name and the detail message of `mnv2_last_error()`. Bad input gives an error, never a
//! panic; no `unsafe` is needed to use the crate. Handles are `Send` but not `Sync`: the library
//! allows a handle on any thread, one thread at a time.
//!
//! ```no_run
//! use mnv2::{Config, Mode, Model, Preset};
//! # fn main() -> mnv2::Result<()> {
//! let mut model = Config::builder(Preset::Reduced)
//!     .input(8, 8, 3)
//!     .classes(4)
//!     .max_batch(2)
//!     .build_model()?;
//! let images = vec![0.5f32; 2 * 8 * 8 * 3];
//! let loss = model.train_step(&images, &[1, 3])?;
//! let logits = model.forward(&images, Mode::Infer)?;
//! assert_eq!(logits.len(), 2 * 4);
//! # let _ = loss; Ok(()) }
//! ```
//!
//! Linking: `mnv2-sys` finds libmnv2 with `pkg-config` (set `PKG_CONFIG_PATH` for a prefix
//! outside the system's) or in the directory named by `MNV2_LIB_DIR` (a build tree's `lib/`).
#![deny(missing_docs)]

mod config;
mod data;
mod error;
mod file;
mod model;

pub use config::{key, Config, ConfigBuilder, LayerInfo, Optimizer, Preset, Stat};
pub use data::{
    fit_image, Batch, BatchIter, BatchOptions, Dataset, DatasetInfo, Evaluation, IterState, Norm, Split,
};
pub use error::{status_string, Error, ErrorKind, Result};
pub use file::{FileInfo, LoadOptions};
pub use model::{Mode, Model, TensorData, TensorInfo, TensorKind};

/// The raw bindings this crate is built on, for what the safe API does not cover.
pub use mnv2_sys as sys;

/// Version of the library actually loaded, as major * 10000 + minor * 100 + patch.
pub fn version() -> u32 {
    // SAFETY: no arguments, no state.
    unsafe { sys::mnv2_version() }
}

/// Version of the library actually loaded, as text ("0.1.0").
pub fn version_string() -> String {
    // SAFETY: static text, never NULL.
    unsafe { error::cstr_to_string(sys::mnv2_version_string()) }
}

/// Highest instruction-set level this process uses (`MNV2_ISA_*`): what the CPU supports,
/// lowered by the `MNV2_ISA` environment variable.
pub fn cpu_isa() -> i32 {
    // SAFETY: no arguments; detection runs once, thread-safe.
    unsafe { sys::mnv2_cpu_isa() }
}

/// Name of an ISA level ("scalar", "sse41", "avx2", "avx512", "neon"; "unknown" otherwise).
pub fn isa_name(isa: i32) -> String {
    // SAFETY: static text, never NULL.
    unsafe { error::cstr_to_string(sys::mnv2_isa_name(isa)) }
}
