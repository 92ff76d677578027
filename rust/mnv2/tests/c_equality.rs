// SPDX-License-Identifier: BSD-2-Clause
//! One training step through the safe API equals the same step done through the raw C API
//! (mnv2-sys calls), bit for bit: loss, every parameter, the optimizer state and the logits.
mod common;

use common::*;
use mnv2::{sys, Mode};
use std::ptr;

unsafe fn raw_model() -> *mut sys::mnv2_model {
    let mut c = ptr::null_mut();
    assert_eq!(sys::mnv2_config_create(sys::MNV2_PRESET_REDUCED, &mut c), sys::MNV2_OK);
    let rows: [i32; 8] = [2, 8, 1, 1, 2, 16, 1, 2];
    assert_eq!(sys::mnv2_config_set_blocks(c, rows.as_ptr(), 2), sys::MNV2_OK);
    for (k, v) in [
        (sys::MNV2_KEY_INPUT_HEIGHT, S as i64),
        (sys::MNV2_KEY_INPUT_WIDTH, S as i64),
        (sys::MNV2_KEY_INPUT_CHANNELS, CH as i64),
        (sys::MNV2_KEY_CLASSES, K as i64),
        (sys::MNV2_KEY_MAX_BATCH, MAXB as i64),
        (sys::MNV2_KEY_THREADS, 1),
        (sys::MNV2_KEY_SEED, 7),
    ] {
        assert_eq!(sys::mnv2_config_set_int(c, k, v), sys::MNV2_OK);
    }
    let mut m = ptr::null_mut();
    assert_eq!(sys::mnv2_model_create(c, &mut m), sys::MNV2_OK);
    sys::mnv2_config_destroy(c);
    m
}

unsafe fn raw_slice<'a>(p: *mut f32, n: u64) -> &'a [f32] {
    assert!(!p.is_null());
    std::slice::from_raw_parts(p, n as usize)
}

#[test]
fn one_training_step_equals_the_c_api() {
    let b = 4usize;
    let x = random_images(b * IMG, 2024);
    let y = [3i32, 0, 2, 1];

    let mut safe = small_model();
    let init = safe.parameters().to_vec();
    let safe_loss = safe.train_step(&x, &y).unwrap();

    unsafe {
        let m = raw_model();
        // Same initial weights (same configuration and seed).
        let mut n = 0u64;
        let p0 = raw_slice(sys::mnv2_parameters(m, &mut n), n);
        assert_eq!(bits(p0), bits(&init));
        assert_eq!(
            sys::mnv2_forward(m, x.as_ptr(), x.len(), b as u32, sys::MNV2_MODE_TRAIN, ptr::null_mut(), 0),
            sys::MNV2_OK
        );
        let mut loss = 0f32;
        assert_eq!(sys::mnv2_backward(m, y.as_ptr(), b as u32, &mut loss), sys::MNV2_OK);
        assert_eq!(sys::mnv2_step(m), sys::MNV2_OK);

        assert_eq!(loss.to_bits(), safe_loss.to_bits(), "loss {} vs {}", loss, safe_loss);
        let p = raw_slice(sys::mnv2_parameters(m, &mut n), n);
        assert_eq!(bits(p), bits(safe.parameters()));
        let bufs = raw_slice(sys::mnv2_buffers(m, &mut n), n);
        assert_eq!(bits(bufs), bits(safe.buffers()));
        let opt = raw_slice(sys::mnv2_optimizer_state(m, &mut n), n);
        assert_eq!(bits(opt), bits(safe.optimizer_state().unwrap()));
        let mut step = 0i64;
        assert_eq!(sys::mnv2_model_get_int(m, sys::MNV2_KEY_STEP, &mut step), sys::MNV2_OK);
        assert_eq!(step, 1);

        let mut logits = vec![0f32; b * K as usize];
        assert_eq!(
            sys::mnv2_forward(
                m,
                x.as_ptr(),
                x.len(),
                b as u32,
                sys::MNV2_MODE_INFER,
                logits.as_mut_ptr(),
                logits.len()
            ),
            sys::MNV2_OK
        );
        assert_eq!(bits(&logits), bits(&safe.forward(&x, Mode::Infer).unwrap()));
        sys::mnv2_model_destroy(m);
    }
    // The step changed the weights (the comparison above is not of two untouched models).
    assert_ne!(bits(&init), bits(safe.parameters()));
}
