// SPDX-License-Identifier: BSD-2-Clause
//! Links libmnv2. Where it is found, in order:
//! 1. `MNV2_LIB_DIR`: a directory holding `libmnv2.so` (for example a meson build tree's `lib/`);
//!    no pkg-config is run.
//! 2. The `pkg-config` program (`PKG_CONFIG` overrides its name): `pkg-config --libs mnv2`, so an
//!    installed library is found through `PKG_CONFIG_PATH` like any other.
//! No crate is used: the build script runs the program itself.
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MNV2_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_SYSROOT_DIR");

    if let Some(dir) = env::var_os("MNV2_LIB_DIR") {
        let dir = dir.to_string_lossy().into_owned();
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-lib=dylib=mnv2");
        println!("cargo:lib_dir={}", dir);
        return;
    }

    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let output = match Command::new(&pkg_config).args(["--libs", "mnv2"]).output() {
        Ok(o) => o,
        Err(e) => fail(&format!("cannot run `{}`: {}", pkg_config, e)),
    };
    if !output.status.success() {
        fail(&format!(
            "`{} --libs mnv2` failed: {}",
            pkg_config,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let libs = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut linked = false;
    for flag in libs.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={}", dir);
            println!("cargo:lib_dir={}", dir);
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={}", lib);
            linked |= lib == "mnv2";
        }
    }
    if !linked {
        fail(&format!(
            "`{} --libs mnv2` gave no -lmnv2: {}",
            pkg_config,
            libs.trim()
        ));
    }
}

fn fail(why: &str) -> ! {
    eprintln!(
        "mnv2-sys: libmnv2 not found: {}.\n\
         Install libmnv2 with its mnv2.pc (set PKG_CONFIG_PATH to its directory), \
         or set MNV2_LIB_DIR to the directory holding libmnv2.so.",
        why
    );
    std::process::exit(1);
}
