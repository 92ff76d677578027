// SPDX-License-Identifier: BSD-2-Clause
//! Learning through the safe API: the small model memorises a fixed batch of random images with
//! labels that carry no signal (training loss far below chance), and the optimizer and schedule
//! settings reach the library.
mod common;

use common::*;
use mnv2::{key, Mode, Optimizer};

#[test]
fn memorises_a_random_batch() {
    let mut m = small_builder().lr(1e-2).build_model().unwrap();
    let b = MAXB as usize;
    let x = random_images(b * IMG, 42);
    let y: Vec<i32> = (0..b as i32).map(|i| i % K as i32).collect();
    let first = m.train_step(&x, &y).unwrap();
    let mut loss = first;
    let mut steps = 1;
    while steps < 300 && loss >= 0.05 {
        loss = m.train_step(&x, &y).unwrap();
        steps += 1;
    }
    println!("loss {:.4} -> {:.4} after {} steps", first, loss, steps);
    // Chance level is ln 4 = 1.386.
    assert!(first > 1.0, "first loss {}", first);
    assert!(loss < 0.05, "loss {} after {} steps", loss, steps);
    assert_eq!(m.int(key::STEP).unwrap(), steps);
    // A training-mode forward classifies every image of the batch correctly.
    let logits = m.forward(&x, Mode::Train).unwrap();
    for (i, row) in logits.chunks(K as usize).enumerate() {
        let best = (0..K as usize).fold(0, |a, j| if row[j] > row[a] { j } else { a });
        assert_eq!(best as i32, y[i], "image {}: logits {:?}", i, row);
    }
    // Inference runs and gives finite logits (running statistics lag; no accuracy asked).
    assert!(m.forward(&x, Mode::Infer).unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn settings_reach_the_library() {
    let mut m = small_builder().optimizer(Optimizer::Sgd).lr(0.05).weight_decay(1e-4).build_model().unwrap();
    assert_eq!(m.int(key::OPTIMIZER).unwrap(), i64::from(mnv2::sys::MNV2_OPTIMIZER_SGD));
    assert_eq!(m.float(key::LR).unwrap() as f32, 0.05f32);
    assert_eq!(m.schedule_lr(0).unwrap(), 0.05f32);
    m.set_float(key::LR, 0.01).unwrap();
    assert_eq!(m.config().unwrap().float(key::LR).unwrap() as f32, 0.01f32);
    // Gradients are zero after a step, non-zero after a backward.
    let x = random_images(2 * IMG, 9);
    m.forward(&x, Mode::Train).unwrap();
    m.backward(&[1, 2]).unwrap();
    assert!(m.gradients().unwrap().iter().any(|&g| g != 0.0));
    assert_eq!(m.gradients().unwrap().len(), m.parameters().len());
    m.step().unwrap();
    assert!(m.gradients().unwrap().iter().all(|&g| g == 0.0));
}
