// SPDX-License-Identifier: BSD-2-Clause
//! The error type: a libmnv2 status code with its name and the library's detail message.
use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_char;

use mnv2_sys as sys;

/// What kind of failure an [`Error`] is: one variant per pinned `MNV2_ERR_*` status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `MNV2_ERR_INVALID_ARGUMENT`: a value out of its documented range.
    InvalidArgument,
    /// `MNV2_ERR_OUT_OF_MEMORY`: an allocation failed.
    OutOfMemory,
    /// `MNV2_ERR_BATCH_SIZE`: batch is zero or above the model's maximum batch.
    BatchSize,
    /// `MNV2_ERR_SIZE_MISMATCH`: a buffer's length does not match what the call needs.
    SizeMismatch,
    /// `MNV2_ERR_BAD_STATE`: a call out of order (backward before a training forward, ...).
    BadState,
    /// `MNV2_ERR_UNKNOWN_KEY`: unknown option key, or the wrong setter type for the key.
    UnknownKey,
    /// `MNV2_ERR_READ_ONLY`: the option cannot be changed on a created model.
    ReadOnly,
    /// `MNV2_ERR_IO`: a file could not be opened, read, written or renamed.
    Io,
    /// `MNV2_ERR_FORMAT`: a file or buffer is malformed.
    Format,
    /// `MNV2_ERR_CHECKSUM`: a section of a file failed its CRC-32 check.
    Checksum,
    /// `MNV2_ERR_VERSION`: a file was written by a newer, incompatible format version.
    Version,
    /// `MNV2_ERR_UNSUPPORTED`: a valid request that this build or CPU cannot serve.
    Unsupported,
    /// `MNV2_ERR_THREAD`: a worker thread could not be started.
    Thread,
    /// `MNV2_ERR_NOT_FOUND`: a named item (tensor, file entry) does not exist.
    NotFound,
    /// `MNV2_ERR_NOT_FINITE`: the loss or an input is NaN or infinite.
    NotFinite,
    /// A status code this version of the crate does not know (from a newer library).
    Other,
}

/// A failed libmnv2 call, or a check this crate made before calling it.
///
/// Carries the pinned status code ([`code`](Error::code)), its name
/// ([`name`](Error::name), e.g. `"MNV2_ERR_SIZE_MISMATCH"`), the library's description of the
/// code ([`description`](Error::description), from `mnv2_status_string()`) and the detail message
/// ([`message`](Error::message)): `mnv2_last_error()` read right after the failing call, or this
/// crate's own text when the check was made on the Rust side (with the code the library would
/// have returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: i32,
    message: String,
}

/// The result type of every fallible call of this crate.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) unsafe fn cstr_to_string(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

impl Error {
    /// The error of a failed library call: `code` with the calling thread's `mnv2_last_error()`.
    pub(crate) fn from_status(code: i32) -> Error {
        // SAFETY: mnv2_last_error() never returns NULL; the text is copied at once.
        let message = unsafe { cstr_to_string(sys::mnv2_last_error()) };
        Error { code, message }
    }

    /// An error found by this crate before calling the library.
    pub(crate) fn new(code: i32, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(sys::MNV2_ERR_INVALID_ARGUMENT, message)
    }

    pub(crate) fn size(message: impl Into<String>) -> Error {
        Error::new(sys::MNV2_ERR_SIZE_MISMATCH, message)
    }

    /// The status code: one of the negative, pinned `MNV2_ERR_*` values.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The kind of failure, from the code.
    pub fn kind(&self) -> ErrorKind {
        match self.code {
            sys::MNV2_ERR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::MNV2_ERR_OUT_OF_MEMORY => ErrorKind::OutOfMemory,
            sys::MNV2_ERR_BATCH_SIZE => ErrorKind::BatchSize,
            sys::MNV2_ERR_SIZE_MISMATCH => ErrorKind::SizeMismatch,
            sys::MNV2_ERR_BAD_STATE => ErrorKind::BadState,
            sys::MNV2_ERR_UNKNOWN_KEY => ErrorKind::UnknownKey,
            sys::MNV2_ERR_READ_ONLY => ErrorKind::ReadOnly,
            sys::MNV2_ERR_IO => ErrorKind::Io,
            sys::MNV2_ERR_FORMAT => ErrorKind::Format,
            sys::MNV2_ERR_CHECKSUM => ErrorKind::Checksum,
            sys::MNV2_ERR_VERSION => ErrorKind::Version,
            sys::MNV2_ERR_UNSUPPORTED => ErrorKind::Unsupported,
            sys::MNV2_ERR_THREAD => ErrorKind::Thread,
            sys::MNV2_ERR_NOT_FOUND => ErrorKind::NotFound,
            sys::MNV2_ERR_NOT_FINITE => ErrorKind::NotFinite,
            _ => ErrorKind::Other,
        }
    }

    /// The name of the code's C constant, e.g. `"MNV2_ERR_SIZE_MISMATCH"`
    /// (`"MNV2_ERR_UNKNOWN"` for a code this crate does not know).
    pub fn name(&self) -> &'static str {
        match self.kind() {
            ErrorKind::InvalidArgument => "MNV2_ERR_INVALID_ARGUMENT",
            ErrorKind::OutOfMemory => "MNV2_ERR_OUT_OF_MEMORY",
            ErrorKind::BatchSize => "MNV2_ERR_BATCH_SIZE",
            ErrorKind::SizeMismatch => "MNV2_ERR_SIZE_MISMATCH",
            ErrorKind::BadState => "MNV2_ERR_BAD_STATE",
            ErrorKind::UnknownKey => "MNV2_ERR_UNKNOWN_KEY",
            ErrorKind::ReadOnly => "MNV2_ERR_READ_ONLY",
            ErrorKind::Io => "MNV2_ERR_IO",
            ErrorKind::Format => "MNV2_ERR_FORMAT",
            ErrorKind::Checksum => "MNV2_ERR_CHECKSUM",
            ErrorKind::Version => "MNV2_ERR_VERSION",
            ErrorKind::Unsupported => "MNV2_ERR_UNSUPPORTED",
            ErrorKind::Thread => "MNV2_ERR_THREAD",
            ErrorKind::NotFound => "MNV2_ERR_NOT_FOUND",
            ErrorKind::NotFinite => "MNV2_ERR_NOT_FINITE",
            ErrorKind::Other => "MNV2_ERR_UNKNOWN",
        }
    }

    /// The library's short description of the code (`mnv2_status_string()`).
    pub fn description(&self) -> String {
        status_string(self.code)
    }

    /// The detail message: `mnv2_last_error()` of the failing call, or this crate's own text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The library's short description of any status code (`mnv2_status_string()`);
/// `"unknown status code"` for codes it does not know.
pub fn status_string(code: i32) -> String {
    // SAFETY: mnv2_status_string() never returns NULL and its text is static.
    unsafe { cstr_to_string(sys::mnv2_status_string(code)) }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.description(), self.message)
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for `MNV2_OK`, otherwise the error with the thread's last message.
pub(crate) fn check(status: i32) -> Result<()> {
    if status == sys::MNV2_OK {
        Ok(())
    } else {
        Err(Error::from_status(status))
    }
}

/// A vector of `n` default values, or `OutOfMemory` (instead of an abort) when it cannot be had.
pub(crate) fn alloc<T: Clone + Default>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::new(sys::MNV2_ERR_OUT_OF_MEMORY, format!("{}: cannot allocate {} values", what, n))
    })?;
    v.resize(n, T::default());
    Ok(v)
}
