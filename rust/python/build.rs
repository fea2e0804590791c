//! Compile the git revision of the checkout into the extension (`_core.__git_revision__`).
//!
//! Runs `git` at build time only (never at import). Outside a git checkout
//! (an sdist build) or without `git`, the revision is empty. Cargo reruns
//! this when the checkout's HEAD or the branch it points to moves.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    let revision = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=EVOSPIKENET_GIT_REVISION={revision}");
    println!("cargo:rerun-if-changed=build.rs");
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    for path in watched.into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
