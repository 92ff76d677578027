// SPDX-License-Identifier: BSD-2-Clause
//! Shared by the integration tests: a small model and deterministic inputs.
#![allow(dead_code)]

use mnv2::{Config, ConfigBuilder, Model, Preset};

pub const S: u32 = 8;
pub const CH: u32 = 3;
pub const K: u32 = 4;
pub const MAXB: u32 = 8;
pub const IMG: usize = (S * S * CH) as usize;

/// A small network (two short block rows, 8x8x3 input, 4 classes) so each test runs in
/// milliseconds; one thread, fixed seed.
pub fn small_builder() -> ConfigBuilder {
    Config::builder(Preset::Reduced)
        .blocks(&[[2, 8, 1, 1], [2, 16, 1, 2]])
        .input(S, S, CH)
        .classes(K)
        .max_batch(MAXB)
        .threads(1)
        .seed(7)
}

pub fn small_model() -> Model {
    small_builder().build_model().expect("small model")
}

/// Values in [-1, 1) from a 64-bit LCG (the generator of tests/test_learning.c).
pub fn random_images(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f64 * (1.0 / 16777216.0)) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// A fresh path in the system's temporary directory, unique per process and name.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mnv2-rust-test-{}-{}", std::process::id(), name))
}

pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}
