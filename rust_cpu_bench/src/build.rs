//! Bakes the compiler's version into the binary so `start` can report it without running rustc.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let text = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    // "rustc 1.95.0 (59807616e 2026-04-14)" -> "1.95.0"; fall back to the crate version when unknown.
    let version = text
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| format!("unknown (crate {})", env!("CARGO_PKG_VERSION")));
    println!("cargo:rustc-env=GILDASH_RUSTC_VERSION={version}");
    println!("cargo:rustc-env=GILDASH_RUSTC_VERSION_LONG={text}");
    println!("cargo:rerun-if-changed=src/build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
