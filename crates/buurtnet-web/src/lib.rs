//! The front end's files, bundled from `web/` by the build script and embedded in the binary,
//! so that `buurtnet serve` stays one file and works without internet.
//!
//! Add an entry point by putting a `.js` or `.css` file in `web/src/entries/`; it is served at
//! `/assets/<name>` and a template links it with [`url`], which adds the content hash so that
//! browsers may cache it for good.

/// One bundled file.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    /// The first 16 hex digits of the SHA-256 of `bytes`.
    pub hash: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The bundled file of this name (as in `web/src/entries/`, or a file an entry brought along).
pub fn get(name: &str) -> Option<&'static Asset> {
    ASSETS.binary_search_by(|a| a.name.cmp(name)).ok().map(|i| &ASSETS[i])
}

/// The address to link an asset with: `/assets/<name>?v=<hash>`, cacheable for good.
pub fn url(name: &str) -> String {
    match get(name) {
        Some(asset) => format!("/assets/{}?v={}", asset.name, asset.hash),
        None => format!("/assets/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_is_bundled_with_the_design_system() {
        let css = get("base.css").expect("base.css is an entry point");
        let text = std::str::from_utf8(css.bytes).expect("CSS is UTF-8");
        assert!(text.contains(".utrecht-button"), "NL Design System components are in the bundle");
        assert!(text.contains(".voorbeeld-theme"), "the theme's tokens are in the bundle");
        assert!(url("base.css").starts_with("/assets/base.css?v="));
        assert_eq!(css.content_type, "text/css; charset=utf-8");
    }

    #[test]
    fn the_table_is_sorted_so_lookups_find_everything() {
        for asset in ASSETS {
            assert_eq!(get(asset.name).map(|a| a.name), Some(asset.name));
        }
        assert!(get("no-such-file.js").is_none());
        assert_eq!(url("no-such-file.js"), "/assets/no-such-file.js");
    }
}
