#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Train the reduced MobileNetV2 on Fashion-MNIST with the mnv2 Python package, then classify a
few test images and save the model (a C program loads it with mnv2_model_load()).

    python3 examples/python/train_fashion.py [--data DIR] [--limit N] [--epochs N] [--out FILE]

DIR holds the four IDX files (.gz or not); Debian's dataset-fashion-mnist installs them under
/usr/share/datasets/fashion-mnist. Defaults: the first 12,000 training images, 2 epochs (a couple
of minutes on 2 cores); --limit 0 --epochs 30 runs the paper's full recipe.
"""
import argparse

import numpy as np

import mnv2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--limit", type=int, default=12000, help="training images to use (0 = all)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--out", default="fashion.mnv2")
    a = ap.parse_args()

    train = mnv2.datasets.open_dir(a.data, "train")
    test = mnv2.datasets.open_dir(a.data, "test")
    if a.limit:
        train = mnv2.Dataset.from_arrays(train.images[:a.limit], train.labels[:a.limit], classes=train.classes,
                                         class_names=train.class_names)
    print(f"training on {len(train)} images {train.shape[1:]}, testing on {len(test)}")

    # 28x28 grey images, zero-padded to the reduced network's 32x32 input by the library.
    model = mnv2.Model("reduced", classes=train.classes, threads=a.threads, input_channels=1,
                       max_batch=a.batch, seed=1)
    model.fit(train, epochs=a.epochs, batch=a.batch)  # Adam, warm-up + cosine decay, random flips
    r = model.evaluate(test)
    print(f"test: loss {r['loss']:.4f}, top-1 {100 * r['top1']:.2f}%, top-5 {100 * r['top5']:.2f}%")

    x = model.prepare(test.images[:3])  # pad to 32x32 and standardise as in training
    p = np.exp(model.predict(x) - model.predict(x).max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    for i, row in enumerate(p):
        k = int(np.argmax(row))
        print(f"test image {i}: {test.class_names[k]} ({100 * row[k]:.1f}%), "
              f"truth {test.class_names[test.labels[i]]}")
    model.save(a.out, class_names=train.class_names)
    print(f"saved {a.out}")


if __name__ == "__main__":
    main()
