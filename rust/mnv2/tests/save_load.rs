// SPDX-License-Identifier: BSD-2-Clause
//! Save and load, to a file and to memory: parameters, buffers, logits, class names,
//! normalization, and checkpoints (optimizer state, step, iterator state, blob) come back equal.
mod common;

use common::*;
use mnv2::{key, BatchOptions, Dataset, LoadOptions, Mode, Model};

fn trained_model() -> (Model, Vec<f32>) {
    let mut m = small_model();
    let x = random_images(4 * IMG, 11);
    for _ in 0..3 {
        m.train_step(&x, &[0, 1, 2, 3]).unwrap();
    }
    m.set_normalization(&[0.25, 0.5, 0.75], &[1.0, 2.0, 3.0]).unwrap();
    (m, x)
}

#[test]
fn model_file_round_trip() {
    let (mut m, x) = trained_model();
    let names = ["zero", "one", "two", "three"];
    let path = temp_path("model.mnv2");
    m.save(&path, &names).unwrap();
    let (mut back, info) = Model::load(&path, &LoadOptions::default()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(info.class_names, names);
    assert_eq!(info.iter_state, None);
    assert_eq!(info.blob, None);
    assert_eq!(back.input_shape(), m.input_shape());
    assert_eq!(back.classes(), m.classes());
    assert_eq!(bits(back.parameters()), bits(m.parameters()));
    assert_eq!(bits(back.buffers()), bits(m.buffers()));
    assert_eq!(back.normalization().unwrap(), m.normalization().unwrap());
    let a = m.forward(&x, Mode::Infer).unwrap();
    let b = back.forward(&x, Mode::Infer).unwrap();
    assert_eq!(bits(&a), bits(&b));
    // Tensor names and values agree.
    let ta = m.tensors().unwrap();
    assert_eq!(ta, back.tensors().unwrap());
    let i = m.tensor_find(&ta[0].name).unwrap();
    assert_eq!(
        bits(&m.tensor_read(i, mnv2::TensorData::Value).unwrap()),
        bits(&back.tensor_read(i, mnv2::TensorData::Value).unwrap())
    );
}

#[test]
fn memory_round_trip_with_overrides() {
    let (mut m, x) = trained_model();
    let bytes = m.save_to_vec(&[] as &[&str]).unwrap();
    let opts = LoadOptions { max_batch: Some(2), trainable: Some(false), ..LoadOptions::default() };
    let (mut back, info) = Model::load_from_slice(&bytes, &opts).unwrap();
    assert!(info.class_names.is_empty());
    assert_eq!(back.max_batch(), 2);
    assert!(!back.trainable());
    assert_eq!(bits(back.parameters()), bits(m.parameters()));
    let a = m.forward(&x[..2 * IMG], Mode::Infer).unwrap();
    let b = back.forward(&x[..2 * IMG], Mode::Infer).unwrap();
    assert_eq!(bits(&a), bits(&b));
}

#[test]
fn checkpoint_resumes_bit_identically() {
    let (mut m, _) = trained_model();
    // A dataset and an iterator part-way through an epoch.
    let n = 12usize;
    let pixels: Vec<u8> = (0..n * IMG).map(|i| (i * 37 % 251) as u8).collect();
    let labels: Vec<i32> = (0..n as i32).map(|i| i % 4).collect();
    let ds = Dataset::new(S, S, CH, K, &pixels, &labels).unwrap();
    let opts = BatchOptions { batch: 4, seed: 5, flip: true, pad_crop: 1, ..BatchOptions::default() };
    let mut it = ds.batches(&opts).unwrap();
    let first = it.next_batch().unwrap().unwrap();
    m.train_step(&first.images, &first.labels).unwrap();
    let path = temp_path("ckpt.mnv2");
    m.save_checkpoint(&path, Some(&it), b"epoch=0", &[] as &[&str]).unwrap();
    let (mut back, info) = Model::load_checkpoint(&path, &LoadOptions::default()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(info.blob.as_deref(), Some(&b"epoch=0"[..]));
    let state = info.iter_state.unwrap();
    assert_eq!(state, it.state());
    assert_eq!(back.int(key::STEP).unwrap(), m.int(key::STEP).unwrap());
    assert_eq!(bits(back.optimizer_state().unwrap()), bits(m.optimizer_state().unwrap()));

    // Continue both: the restored iterator gives the same batches, the models the same weights.
    let mut it2 = ds.batches(&opts).unwrap();
    it2.set_state(state).unwrap();
    for _ in 0..2 {
        let a = it.next_batch().unwrap().unwrap();
        let b = it2.next_batch().unwrap().unwrap();
        assert_eq!(bits(&a.images), bits(&b.images));
        assert_eq!(a.labels, b.labels);
        let la = m.train_step(&a.images, &a.labels).unwrap();
        let lb = back.train_step(&b.images, &b.labels).unwrap();
        assert_eq!(la.to_bits(), lb.to_bits());
    }
    assert_eq!(bits(back.parameters()), bits(m.parameters()));
    // In memory too.
    let bytes = m.save_checkpoint_to_vec(None, &[], &[] as &[&str]).unwrap();
    let (_, info) = Model::load_checkpoint_from_slice(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(info.blob.as_deref(), Some(&[][..]));
}

#[test]
fn dataset_and_iterator() {
    let n = 10usize;
    let pixels: Vec<u8> = (0..n * 4).map(|i| (i * 7 % 256) as u8).collect();
    let labels: Vec<i32> = (0..n as i32).map(|i| i % 3).collect();
    let mut ds = Dataset::new(2, 2, 1, 3, &pixels, &labels).unwrap();
    let info = ds.info();
    assert_eq!((info.count, info.height, info.width, info.channels, info.classes), (10, 2, 2, 1, 3));
    assert_eq!(ds.image(1).unwrap(), &pixels[4..8]);
    assert_eq!(ds.label(4).unwrap(), 1);
    ds.set_class_names(&["a", "b", "c"]).unwrap();
    assert_eq!(ds.class_names().unwrap(), ["a", "b", "c"]);
    let sub = ds.subset(&[3, 3, 0]).unwrap();
    assert_eq!(sub.len(), 3);
    assert_eq!(sub.image(1).unwrap(), &pixels[12..16]);
    // One epoch of batches of 4 (4 + 4 + 2) without shuffling, fitted to 4x4x3.
    let opts = BatchOptions {
        batch: 4,
        shuffle: false,
        height: 4,
        width: 4,
        channels: 3,
        norm: mnv2::Norm::None,
        ..BatchOptions::default()
    };
    let mut it = ds.batches(&opts).unwrap();
    assert_eq!(it.batches_per_epoch(), 3);
    assert_eq!(it.image_shape(), (4, 4, 3));
    let sizes: Vec<usize> = (&mut it).map(|b| b.unwrap().len()).collect();
    assert_eq!(sizes, [4, 4, 2]);
    // The next epoch follows; the first image matches fit_image on the dataset's first image.
    let b = it.next_batch().unwrap().unwrap();
    assert_eq!(it.state().epoch, 1);
    let fitted = mnv2::fit_image(ds.image(0).unwrap(), (2, 2, 1), (4, 4, 3), None).unwrap();
    assert_eq!(bits(&b.images[..48]), bits(&fitted));
    assert_eq!(b.labels, labels[..4]);
    drop(it);
    ds.limit(5).unwrap();
    assert_eq!(ds.len(), 5);
    let (mean, std) = ds.stats(mnv2::Norm::Global, 3).unwrap();
    assert_eq!(mean.len(), 3);
    assert!(std.iter().all(|&s| s > 0.0));
}
