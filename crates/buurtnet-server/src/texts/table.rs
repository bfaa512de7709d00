//! The one shape of page texts: a table of keys with a Dutch and an English text. The resident
//! pages (`crate::i18n::T`) and the console (`crate::console::texts::Ct`) each have one. Tests
//! (`texts::checks`) make sure every key a template or page asks for is in its table and every
//! entry has both texts; should one slip through anyway, the page shows the key itself (never
//! an empty string) and the server logs the key once.

use buurtnet_domain::Language;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// How many distinct unknown keys a table remembers having logged (enough for any real slip;
/// a bound so that the memory cannot grow).
const REPORTED_MAX: usize = 64;

/// Texts by key: `(key, (Dutch, English))`.
pub struct TextTable {
    name: &'static str,
    entries: &'static [(&'static str, (&'static str, &'static str))],
    /// The unknown keys already logged.
    reported: Mutex<BTreeSet<String>>,
}

impl TextTable {
    pub const fn new(name: &'static str, entries: &'static [(&'static str, (&'static str, &'static str))]) -> TextTable {
        TextTable { name, entries, reported: Mutex::new(BTreeSet::new()) }
    }

    /// The table's name (for test and log messages).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Every entry, in the order written.
    pub fn entries(&self) -> &'static [(&'static str, (&'static str, &'static str))] {
        self.entries
    }

    /// The Dutch and English texts of `key`.
    pub fn lookup(&self, key: &str) -> Option<(&'static str, &'static str)> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, texts)| *texts)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.lookup(key).is_some()
    }

    /// The text of `key` in `lang`; an unknown key shows as itself (and is logged once).
    pub fn get<'a>(&self, lang: Language, key: &'a str) -> &'a str {
        match self.lookup(key) {
            Some((nl, en)) => match lang {
                Language::Nl => nl,
                Language::En => en,
            },
            None => {
                self.report(key);
                key
            }
        }
    }

    fn report(&self, key: &str) {
        let mut seen = self.reported.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let first = seen.len() < REPORTED_MAX && seen.insert(key.to_string());
        drop(seen);
        if first {
            // Keys are names from the code or enum words, never personal data.
            tracing::error!(table = self.name, key, "unknown text key: the page shows the key itself");
        }
    }
}

/// A [`TextTable`] written as `"key" => ("Nederlands", "English"),` lines:
///
/// ```ignore
/// text_table! {
///     /// The resident pages' texts.
///     pub static RESIDENT = "resident" {
///         "register" => ("Aanmelden", "Sign up"),
///     }
/// }
/// ```
macro_rules! text_table {
    ($(#[$m:meta])* $vis:vis static $name:ident = $label:literal { $($key:literal => $texts:expr),* $(,)? }) => {
        $(#[$m])*
        $vis static $name: $crate::texts::table::TextTable =
            $crate::texts::table::TextTable::new($label, &[$(($key, $texts)),*]);
    };
}
pub(crate) use text_table;

#[cfg(test)]
mod tests {
    use super::*;

    static SMALL: TextTable = TextTable::new("small", &[("yes", ("ja", "yes")), ("no", ("nee", "no"))]);

    #[test]
    fn a_known_key_gives_its_language_and_an_unknown_key_shows_itself() {
        assert_eq!(SMALL.get(Language::Nl, "yes"), "ja");
        assert_eq!(SMALL.get(Language::En, "no"), "no");
        assert_eq!(SMALL.get(Language::Nl, "maybe"), "maybe");
        assert_eq!(SMALL.get(Language::En, "maybe"), "maybe");
        assert!(SMALL.contains("yes") && !SMALL.contains("maybe"));
        assert_eq!(SMALL.reported.lock().map(|s| s.len()).unwrap_or_default(), 1);
    }
}
