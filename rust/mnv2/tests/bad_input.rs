// SPDX-License-Identifier: BSD-2-Clause
//! Misuse of the safe API: every bad call returns an `Err` with the right code, a name and a
//! non-empty message, and leaves the model usable. Nothing panics.
mod common;

use common::*;
use mnv2::{key, BatchOptions, Config, Dataset, ErrorKind, LoadOptions, Mode, Model, Preset, TensorData};

fn expect_err<T: std::fmt::Debug>(r: mnv2::Result<T>, kind: ErrorKind) -> mnv2::Error {
    let e = r.expect_err("the call must fail");
    assert_eq!(e.kind(), kind, "{}", e);
    assert!(e.code() < 0);
    assert!(e.name().starts_with("MNV2_ERR_"));
    assert!(!e.message().is_empty(), "no detail message: {}", e);
    assert_ne!(e.description(), "unknown status code");
    e
}

#[test]
fn error_carries_code_name_and_last_error() {
    let mut c = Config::new(Preset::Reduced).unwrap();
    let e = expect_err(c.set_int(9999, 1), ErrorKind::UnknownKey);
    assert_eq!(e.code(), -6);
    assert_eq!(e.name(), "MNV2_ERR_UNKNOWN_KEY");
    // The message is the library's own (mnv2_last_error()), shown by Display too.
    assert!(e.to_string().contains(e.message()));
    assert!(e.to_string().starts_with("MNV2_ERR_UNKNOWN_KEY"));
    // A float key through the integer setter, a value out of range, a non-finite float.
    expect_err(c.set_int(key::WIDTH_MULT, 1), ErrorKind::UnknownKey);
    expect_err(c.set_int(key::CLASSES, 0), ErrorKind::InvalidArgument);
    expect_err(c.set_float(key::LR, f64::NAN), ErrorKind::InvalidArgument);
    expect_err(c.set_blocks(&[]), ErrorKind::InvalidArgument);
    expect_err(c.set_blocks(&[[6, 32, 1, 3]]), ErrorKind::InvalidArgument);
    // The builder reports the first failing setting.
    let r = Config::builder(Preset::Reduced).classes(10).input(0, 32, 3).build();
    expect_err(r, ErrorKind::InvalidArgument);
    assert_eq!(mnv2::status_string(-9999), "unknown status code");
}

#[test]
fn forward_checks_shapes() {
    let mut m = small_model();
    let x = random_images(2 * IMG, 1);
    // Not a whole number of images; empty; above the max batch.
    expect_err(m.forward(&x[..IMG + 1], Mode::Infer), ErrorKind::SizeMismatch);
    expect_err(m.forward(&[], Mode::Infer), ErrorKind::SizeMismatch);
    let big = random_images((MAXB as usize + 1) * IMG, 2);
    expect_err(m.forward(&big, Mode::Infer), ErrorKind::BatchSize);
    // Logits of the wrong length.
    let mut logits = vec![0f32; 2 * K as usize + 1];
    expect_err(m.forward_into(&x, Mode::Infer, &mut logits), ErrorKind::SizeMismatch);
    expect_err(m.predict(&x[..3]), ErrorKind::SizeMismatch);
    // NaN input to a training step: a clear error, not a crash.
    let mut nan = x.clone();
    nan[5] = f32::NAN;
    let r = m.train_step(&nan, &[0, 1]);
    if let Err(e) = &r {
        assert!(!e.message().is_empty());
    }
    // Still usable afterwards.
    assert_eq!(m.forward(&x, Mode::Infer).unwrap().len(), 2 * K as usize);
    assert_eq!(m.predict(&x).unwrap().len(), 2);
}

#[test]
fn training_calls_out_of_order_or_bad_labels() {
    let mut m = small_model();
    let x = random_images(2 * IMG, 3);
    expect_err(m.step(), ErrorKind::BadState);
    expect_err(m.backward(&[0, 1]), ErrorKind::BadState);
    // Labels: out of range, wrong count.
    expect_err(m.train_step(&x, &[0, K as i32]), ErrorKind::InvalidArgument);
    expect_err(m.train_step(&x, &[-1, 0]), ErrorKind::InvalidArgument);
    expect_err(m.train_step(&x, &[0]), ErrorKind::SizeMismatch);
    m.forward(&x, Mode::Train).unwrap();
    expect_err(m.backward(&[0, 1, 2]), ErrorKind::SizeMismatch);
    expect_err(m.backward_logits(&[f32::INFINITY; 8]), ErrorKind::NotFinite);
    m.forward(&x, Mode::Train).unwrap();
    m.backward(&[0, 1]).unwrap();
    expect_err(m.step_lr(-1.0), ErrorKind::InvalidArgument);
    expect_err(m.step_lr(f32::NAN), ErrorKind::InvalidArgument);
    m.step_lr(0.01).unwrap();
    // Structural keys are read-only on a model.
    expect_err(m.set_int(key::CLASSES, 3), ErrorKind::ReadOnly);
    expect_err(m.int(12345), ErrorKind::UnknownKey);
    // A full step still works.
    assert!(m.train_step(&x, &[0, 1]).unwrap().is_finite());
}

#[test]
fn inference_only_model_refuses_training() {
    let mut m = small_builder().trainable(false).build_model().unwrap();
    let x = random_images(IMG, 4);
    expect_err(m.forward(&x, Mode::Train), ErrorKind::BadState);
    expect_err(m.gradients(), ErrorKind::BadState);
    expect_err(m.optimizer_state(), ErrorKind::BadState);
    expect_err(m.zero_grad(), ErrorKind::BadState);
    expect_err(m.save_checkpoint_to_vec(None, &[], &[] as &[&str]), ErrorKind::BadState);
    assert_eq!(m.forward(&x, Mode::Infer).unwrap().len(), K as usize);
}

#[test]
fn tensors_and_normalization_bad_input() {
    let mut m = small_model();
    expect_err(m.tensor_find("no.such.tensor"), ErrorKind::NotFound);
    expect_err(m.tensor_find("nul\0inside"), ErrorKind::InvalidArgument);
    expect_err(m.tensor_read(100000, TensorData::Value), ErrorKind::InvalidArgument);
    expect_err(m.tensor_write(0, TensorData::Value, &[1.0]), ErrorKind::SizeMismatch);
    expect_err(m.set_normalization(&[0.5], &[0.0]), ErrorKind::InvalidArgument);
    expect_err(m.set_normalization(&[0.5, 0.5], &[1.0]), ErrorKind::SizeMismatch);
    expect_err(m.set_normalization(&[0.5, 0.5], &[1.0, 1.0]), ErrorKind::SizeMismatch);
    let (mean, std) = m.normalization().unwrap();
    assert!(mean.is_empty() && std.is_empty());
}

#[test]
fn files_bad_input() {
    let m = small_model();
    let missing = temp_path("does-not-exist.mnv2");
    expect_err(Model::load(&missing, &LoadOptions::default()), ErrorKind::Io);
    expect_err(
        Model::load_from_slice(b"not a model file at all", &LoadOptions::default()),
        ErrorKind::Format,
    );
    expect_err(Model::load_from_slice(&[], &LoadOptions::default()), ErrorKind::Format);
    // A corrupted byte in a saved model: checksum (or format) error, never a crash.
    let mut bytes = m.save_to_vec(&[] as &[&str]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    let e = Model::load_from_slice(&bytes, &LoadOptions::default()).expect_err("corrupt file");
    assert!(matches!(e.kind(), ErrorKind::Checksum | ErrorKind::Format), "{}", e);
    // Truncated.
    let good = m.save_to_vec(&[] as &[&str]).unwrap();
    expect_err(Model::load_from_slice(&good[..good.len() - 3], &LoadOptions::default()), ErrorKind::Format);
    // A model file is not a checkpoint.
    expect_err(Model::load_checkpoint_from_slice(&good, &LoadOptions::default()), ErrorKind::Format);
    // Class names: wrong count, NUL byte; a path with a NUL byte; an unwritable directory.
    expect_err(m.save_to_vec(&["a", "b"]), ErrorKind::SizeMismatch);
    expect_err(m.save_to_vec(&["a", "b\0", "c", "d"]), ErrorKind::InvalidArgument);
    expect_err(m.save("bad\0path", &[] as &[&str]), ErrorKind::InvalidArgument);
    let nodir = temp_path("no-such-dir").join("model.mnv2");
    expect_err(m.save(&nodir, &[] as &[&str]), ErrorKind::Io);
    let opts = LoadOptions { threads: Some(u32::MAX), ..LoadOptions::default() };
    expect_err(Model::load_from_slice(&good, &opts), ErrorKind::InvalidArgument);
}

#[test]
fn datasets_bad_input() {
    // Pixel bytes that do not match the labels; a label out of range; zero images.
    expect_err(Dataset::new(2, 2, 1, 3, &[0u8; 7], &[0, 1]), ErrorKind::SizeMismatch);
    expect_err(Dataset::new(2, 2, 1, 3, &[0u8; 8], &[0, 3]), ErrorKind::InvalidArgument);
    expect_err(Dataset::new(2, 2, 1, 3, &[], &[]), ErrorKind::InvalidArgument);
    expect_err(Dataset::new(u32::MAX, u32::MAX, 64, 3, &[0u8; 8], &[0, 1]), ErrorKind::SizeMismatch);
    expect_err(Dataset::read_idx_mem(b"junk", b"junk"), ErrorKind::Format);
    expect_err(Dataset::read_cifar10_mem(&[1, 2, 3]), ErrorKind::Format);
    expect_err(Dataset::read_idx(temp_path("nope-images"), temp_path("nope-labels")), ErrorKind::Io);
    expect_err(Dataset::read_cifar10::<&str>(&[]), ErrorKind::InvalidArgument);
    expect_err(Dataset::open_dir(temp_path("no-such-dir"), mnv2::Split::Train), ErrorKind::NotFound);

    let mut ds = Dataset::new(2, 2, 1, 3, &[0, 50, 100, 150, 200, 250, 10, 20], &[0, 2]).unwrap();
    expect_err(ds.image(2), ErrorKind::InvalidArgument);
    expect_err(ds.label(5), ErrorKind::InvalidArgument);
    expect_err(ds.class_name(3), ErrorKind::InvalidArgument);
    expect_err(ds.set_class_names(&["a", "b"]), ErrorKind::SizeMismatch);
    expect_err(ds.subset(&[]), ErrorKind::InvalidArgument);
    expect_err(ds.subset(&[0, 9]), ErrorKind::InvalidArgument);
    expect_err(ds.limit(0), ErrorKind::InvalidArgument);
    expect_err(ds.stats(mnv2::Norm::None, 0), ErrorKind::InvalidArgument);
    expect_err(ds.stats(mnv2::Norm::Channel, 1000), ErrorKind::InvalidArgument);

    // Batch options: batch 0, drop_last with a batch above the count, bad statistics.
    let o = BatchOptions { batch: 0, ..BatchOptions::default() };
    expect_err(ds.batches(&o), ErrorKind::InvalidArgument);
    let o = BatchOptions { batch: 3, drop_last: true, ..BatchOptions::default() };
    expect_err(ds.batches(&o), ErrorKind::InvalidArgument);
    let o = BatchOptions { stats: Some((vec![0.5], vec![])), ..BatchOptions::default() };
    expect_err(ds.batches(&o), ErrorKind::SizeMismatch);
    let o = BatchOptions { stats: Some((vec![0.5], vec![0.0])), ..BatchOptions::default() };
    expect_err(ds.batches(&o), ErrorKind::InvalidArgument);
    // An absurd batch is refused, not allocated.
    let o = BatchOptions { batch: u32::MAX, ..BatchOptions::default() };
    expect_err(ds.batches(&o), ErrorKind::InvalidArgument);
    // Caller buffers too small for a batch.
    let mut it = ds.batches(&BatchOptions { batch: 2, ..BatchOptions::default() }).unwrap();
    let (mut img, mut lab) = (vec![0f32; 3], vec![0i32; 2]);
    expect_err(it.next_into(&mut img, &mut lab), ErrorKind::SizeMismatch);
    expect_err(it.set_state(mnv2::IterState { seed: 0, epoch: 0, position: 99 }), ErrorKind::InvalidArgument);
    // fit_image: pixel count, unsupported conversion, output out of range.
    expect_err(mnv2::fit_image(&[0; 3], (2, 2, 1), (4, 4, 1), None), ErrorKind::SizeMismatch);
    expect_err(mnv2::fit_image(&[0; 8], (2, 2, 2), (4, 4, 3), None), ErrorKind::Unsupported);
    expect_err(mnv2::fit_image(&[0; 4], (2, 2, 1), (u32::MAX, 4, 1), None), ErrorKind::InvalidArgument);
    // A model evaluated on images with more classes than it has.
    let mut m = small_builder().classes(2).build_model().unwrap();
    expect_err(m.evaluate(&ds, None), ErrorKind::InvalidArgument);
}
