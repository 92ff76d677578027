// SPDX-License-Identifier: BSD-2-Clause
//! Train the reduced MobileNetV2 on Fashion-MNIST through the safe API.
//!
//!     cargo run --release --example train -- [--data DIR] [--limit N] [--test-limit N]
//!                                           [--epochs N] [--batch N] [--threads N] [--lr X]
//!                                           [--save FILE]
//!
//! DIR defaults to Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). Its
//! `.gz` files are decompressed in memory with the `gzip` program (the library reads no `.gz`);
//! a directory with uncompressed IDX files is opened directly. By default the run is short:
//! 2000 training images, one epoch, 1000 test images; `--limit 0` uses every image.
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use mnv2::{key, BatchOptions, Config, Dataset, Norm, Preset, Split};

struct Args {
    data: PathBuf,
    limit: u32,
    test_limit: u32,
    epochs: u32,
    batch: u32,
    threads: u32,
    lr: f64,
    save: Option<PathBuf>,
}

const USAGE: &str = "usage: train [--data DIR] [--limit N] [--test-limit N] [--epochs N] \
[--batch N] [--threads N] [--lr X] [--save FILE]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        data: PathBuf::from("/usr/share/datasets/fashion-mnist"),
        limit: 2000,
        test_limit: 1000,
        epochs: 1,
        batch: 32,
        threads: 1,
        lr: 1e-3,
        save: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(opt) = it.next() {
        if opt == "-h" || opt == "--help" {
            println!("{}", USAGE);
            std::process::exit(0);
        }
        let val = it.next().ok_or_else(|| format!("{} needs a value", opt))?;
        let num = |v: &str| v.parse::<u32>().map_err(|_| format!("{}: not a number: {}", opt, v));
        match opt.as_str() {
            "--data" => a.data = PathBuf::from(val),
            "--limit" => a.limit = num(&val)?,
            "--test-limit" => a.test_limit = num(&val)?,
            "--epochs" => a.epochs = num(&val)?,
            "--batch" => a.batch = num(&val)?,
            "--threads" => a.threads = num(&val)?,
            "--lr" => a.lr = val.parse().map_err(|_| format!("--lr: not a number: {}", val))?,
            "--save" => a.save = Some(PathBuf::from(val)),
            _ => return Err(format!("unknown option {}", opt)),
        }
    }
    Ok(a)
}

/// The decompressed content of a `.gz` file, through the `gzip` program.
fn gunzip(path: &Path) -> Result<Vec<u8>, String> {
    let out =
        Command::new("gzip").arg("-dc").arg(path).output().map_err(|e| format!("cannot run gzip: {}", e))?;
    if !out.status.success() {
        return Err(format!("gzip -dc {}: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(out.stdout)
}

/// One split of Fashion-MNIST: uncompressed files through the library, `.gz` through gzip.
fn open_split(dir: &Path, split: Split) -> Result<Dataset, String> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images = dir.join(format!("{}-images-idx3-ubyte.gz", prefix));
    let labels = dir.join(format!("{}-labels-idx1-ubyte.gz", prefix));
    if images.exists() && labels.exists() {
        Dataset::read_idx_mem(&gunzip(&images)?, &gunzip(&labels)?).map_err(|e| e.to_string())
    } else {
        Dataset::open_dir(dir, split).map_err(|e| e.to_string())
    }
}

fn run(a: &Args) -> Result<(), String> {
    let mut train = open_split(&a.data, Split::Train)?;
    let mut test = open_split(&a.data, Split::Test)?;
    if a.limit > 0 {
        train.limit(a.limit).map_err(|e| e.to_string())?;
    }
    if a.test_limit > 0 {
        test.limit(a.test_limit).map_err(|e| e.to_string())?;
    }
    let info = train.info();
    println!(
        "mnv2 {} ({}): {} training and {} test images of {}x{}x{}, {} classes",
        mnv2::version_string(),
        mnv2::isa_name(mnv2::cpu_isa()),
        info.count,
        test.len(),
        info.height,
        info.width,
        info.channels,
        info.classes
    );

    // The reduced network on 32x32x1 inputs: 28x28 images are zero-padded 2 pixels each side
    // after a global standardisation with the training set's statistics. Batch-norm momentum
    // 0.9 (the default 0.99 suits long runs) so that the running statistics an inference uses
    // have caught up after the short default run.
    let mut model = Config::builder(Preset::Reduced)
        .float(key::BN_MOMENTUM, 0.9)
        .input(32, 32, 1)
        .classes(info.classes)
        .max_batch(a.batch)
        .threads(a.threads)
        .lr(a.lr)
        .build_model()
        .map_err(|e| e.to_string())?;
    let stats = train.stats(Norm::Global, 1).map_err(|e| e.to_string())?;
    model.set_normalization(&stats.0, &stats.1).map_err(|e| e.to_string())?;
    let opts = BatchOptions {
        batch: a.batch,
        height: 32,
        width: 32,
        channels: 1,
        norm: Norm::Global,
        stats: Some(stats.clone()),
        seed: 1,
        ..BatchOptions::default()
    };
    let mut batches = train.batches(&opts).map_err(|e| e.to_string())?;
    let per_epoch = batches.batches_per_epoch();
    for epoch in 1..=a.epochs {
        let start = Instant::now();
        let (mut sum, mut n) = (0f64, 0u64);
        for (i, batch) in (&mut batches).enumerate() {
            let batch = batch.map_err(|e| e.to_string())?;
            let loss = model.train_step(&batch.images, &batch.labels).map_err(|e| e.to_string())?;
            sum += f64::from(loss);
            n += 1;
            if (i + 1) % 20 == 0 || i as u64 + 1 == per_epoch {
                println!("epoch {} batch {}/{}: mean loss {:.4}", epoch, i + 1, per_epoch, sum / n as f64);
            }
        }
        let e = model.evaluate(&test, Some(&opts)).map_err(|e| e.to_string())?;
        println!(
            "epoch {}: train loss {:.4}, test loss {:.4}, top-1 {:.2}%, top-5 {:.2}% ({:.1} s)",
            epoch,
            sum / n.max(1) as f64,
            e.loss,
            100.0 * e.top1,
            100.0 * e.top5,
            start.elapsed().as_secs_f64()
        );
    }
    if let Some(path) = &a.save {
        let names = train.class_names().map_err(|e| e.to_string())?;
        model.save(path, &names).map_err(|e| e.to_string())?;
        println!("saved {}", path.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("train: {}\n{}", e, USAGE);
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("train: {}", e);
            ExitCode::from(1)
        }
    }
}
