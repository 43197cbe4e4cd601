//! Bundles hls.js into the web console when `scripts/install-deps.sh` has installed it from npm
//! (`web/node_modules`); without it the console says how to get it.

fn main() {
    const HLS_JS: &str = "web/node_modules/hls.js/dist/hls.min.js";
    println!("cargo::rerun-if-changed={HLS_JS}");
    println!("cargo::rerun-if-changed=web/console");
    println!("cargo::rustc-check-cfg=cfg(bundled_hls_js)");
    if std::path::Path::new(HLS_JS).is_file() {
        println!("cargo::rustc-cfg=bundled_hls_js");
    }
}
