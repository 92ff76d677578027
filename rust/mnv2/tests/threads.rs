// SPDX-License-Identifier: BSD-2-Clause
//! `Model`, `Config` and `Dataset` are `Send`: a model built on one thread trains on another and
//! comes back unchanged in behaviour. (That they are not `Sync` is a compile_fail doc test.)
mod common;

use common::*;

fn is_send<T: Send>() {}

#[test]
fn handles_are_send() {
    is_send::<mnv2::Model>();
    is_send::<mnv2::Config>();
    is_send::<mnv2::Dataset>();
    let mut here = small_model();
    let there = small_model();
    let x = random_images(2 * IMG, 5);
    let xs = x.clone();
    let (there, loss) = std::thread::spawn(move || {
        let mut m = there;
        let loss = m.train_step(&xs, &[1, 2]).unwrap();
        (m, loss)
    })
    .join()
    .unwrap();
    let mut there = there;
    assert_eq!(here.train_step(&x, &[1, 2]).unwrap().to_bits(), loss.to_bits());
    assert_eq!(bits(here.parameters()), bits(there.parameters()));
}
