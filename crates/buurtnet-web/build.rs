//! Bundles `web/` (the repository's front end) with esbuild and writes `assets.rs`, a table of
//! the bundled files embedded with `include_bytes!`. Third-party packages come from npm through
//! the committed `web/package-lock.json`; `npm ci` runs when `web/node_modules` is missing or
//! older than the lock file.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = manifest.join("../../web");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    for watched in ["src", "build.mjs", "package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", web.join(watched).display());
    }
    if let Err(message) = build(&web, &out_dir) {
        // A build script reports failure by panicking; the message is what the person sees.
        panic!("\n\nbuurtnet's front end could not be built: {message}\n");
    }
}

fn build(web: &Path, out_dir: &Path) -> Result<(), String> {
    let assets = out_dir.join("assets");
    if assets.exists() {
        std::fs::remove_dir_all(&assets).map_err(|e| format!("cannot clear {}: {e}", assets.display()))?;
    }
    install_packages(web)?;
    run(Command::new("node").arg("build.mjs").arg(&assets).current_dir(web), "node build.mjs")?;
    write_table(&assets, &out_dir.join("assets.rs"))
}

fn install_packages(web: &Path) -> Result<(), String> {
    let stamp = web.join("node_modules/.package-lock.json");
    let lock = web.join("package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = matches!((modified(&stamp), modified(&lock)), (Some(s), Some(l)) if s >= l);
    if fresh {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(web), "npm ci")
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|e| {
        format!(
            "`{what}` could not start ({e}). It needs Node.js and npm: install them \
             (Debian/Ubuntu: `apt-get install nodejs npm`) and build again"
        )
    })?;
    if status.success() { Ok(()) } else { Err(format!("`{what}` failed ({status}); its output is above")) }
}

fn write_table(assets: &Path, table: &Path) -> Result<(), String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(assets)
        .map_err(|e| format!("cannot read {}: {e}", assets.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut code = String::from("/// Every bundled file, sorted by name.\npub static ASSETS: &[Asset] = &[\n");
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or("a bundled file has a name that is not UTF-8")?;
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let digest = Sha256::digest(&bytes);
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(
            code,
            "    Asset {{ name: {name:?}, hash: {hash:?}, content_type: {ct:?}, bytes: include_bytes!({path:?}) }},",
            ct = content_type(name),
            path = path.display().to_string(),
        );
    }
    code.push_str("];\n");
    std::fs::write(table, code).map_err(|e| format!("cannot write {}: {e}", table.display()))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" | "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
