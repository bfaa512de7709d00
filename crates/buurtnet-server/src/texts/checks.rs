//! Tests that make a missing text fail the build's tests, never a page: every key that a
//! template or a page handler asks for (`t.get("key")`, and every value of the enums whose words
//! are used as keys) is in its table, every entry has a Dutch and an English text, no key is
//! written twice, and the resident app's inline texts (`{% if nl %}…{% else %}…{% endif %}`)
//! have both languages.

use crate::console::texts::CONSOLE;
use crate::i18n::RESIDENT;
use crate::texts::table::TextTable;
use buurtnet_domain::action::ActionKind;
use buurtnet_domain::enquiry::{Classification, IncidentType};
use buurtnet_domain::{Channel, Topic};
use std::path::{Path, PathBuf};

/// The arguments of `t.get(…)` that are not a literal key, and what checks the keys they can
/// hold. A new one fails [`every_key_used_exists`] until it is added here and checked.
const DYNAMIC: &[(&str, &str)] = &[
    ("key", "the literal tuples of its `{% for (value, key) in [...] %}` loop (checked below)"),
    ("kind", "every ActionKind (every_enum_word_used_as_a_key_exists)"),
    ("e.incident_type", "every IncidentType (every_enum_word_used_as_a_key_exists)"),
    ("k.as_str()", "every ActionKind, IncidentType and Classification (every_enum_word_used_as_a_key_exists)"),
    ("st.as_str()", "nothing: in alerting/actions.rs `t` is a JSON object of counts, not a text table"),
    ("notice", "\"saved\" and \"unlinked\", the self-service page's notices (self_service_notices_exist)"),
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` whose name ends in `ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display())) {
            let path = entry.unwrap_or_else(|e| panic!("reading {}: {e}", d.display())).path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The calls `t.get(ARG)` in `text` (not in `//` comments): (line number, ARG as written).
fn get_calls(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut from = 0;
        while let Some(i) = line[from..].find("t.get(") {
            let at = from + i;
            let prev = line[..at].chars().next_back();
            let after = &line[at + "t.get(".len()..];
            if !prev.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                let mut depth = 0usize;
                let end = after
                    .char_indices()
                    .find(|&(_, c)| match c {
                        '(' => {
                            depth += 1;
                            false
                        }
                        ')' if depth == 0 => true,
                        ')' => {
                            depth -= 1;
                            false
                        }
                        _ => false,
                    })
                    .map_or(after.len(), |(j, _)| j);
                out.push((n + 1, after[..end].trim().to_string()));
            }
            from = at + 1;
        }
    }
    out
}

/// A literal key (`"name"`), or `None` for an expression.
fn literal(arg: &str) -> Option<&str> {
    arg.strip_prefix('"')?.strip_suffix('"').filter(|k| !k.contains('"'))
}

/// The keys a template's `{% for (a, b) in [("x", "y"), …] %}` loops give the loop variable
/// that is passed to `t.get`: (line number, key).
fn loop_keys(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(start) = line.find("{% for (") else { continue };
        let stmt = &line[start + "{% for (".len()..];
        let Some((pattern, list)) = stmt.split_once(") in [") else { continue };
        let vars: Vec<&str> = pattern.split(',').map(str::trim).collect();
        let list = list.split("] %}").next().unwrap_or_default();
        for (index, var) in vars.iter().enumerate() {
            if !text.contains(&format!("t.get({var})")) {
                continue;
            }
            for tuple in list.split('(').skip(1) {
                let tuple = tuple.split(')').next().unwrap_or_default();
                let items: Vec<&str> = tuple.split(',').map(str::trim).collect();
                match items.get(index).and_then(|item| literal(item)) {
                    Some(key) => out.push((n + 1, key.to_string())),
                    None => panic!("line {}: cannot read the key of `{var}` from the loop over {list}", n + 1),
                }
            }
        }
    }
    out
}

fn table_of_template(relative: &Path) -> &'static TextTable {
    if relative.starts_with("console") { &CONSOLE } else { &RESIDENT }
}

fn table_of_source(relative: &Path) -> &'static TextTable {
    if relative.starts_with("console") { &CONSOLE } else { &RESIDENT }
}

/// Checks the calls in one file; returns the problems found.
fn check_file(shown: &str, text: &str, table: &TextTable) -> Vec<String> {
    let mut problems = Vec::new();
    for (line, arg) in get_calls(text) {
        match literal(&arg) {
            Some(key) if table.contains(key) => {}
            Some(key) => problems.push(format!("{shown}:{line}: key \"{key}\" is not in the {} text table", table.name())),
            None if DYNAMIC.iter().any(|(known, _)| *known == arg) => {}
            None => problems.push(format!(
                "{shown}:{line}: t.get({arg}) takes a key the tests cannot see: add `{arg}` to DYNAMIC in texts/checks.rs and check every value it can hold"
            )),
        }
    }
    for (line, key) in loop_keys(text) {
        if !table.contains(&key) {
            problems.push(format!("{shown}:{line}: key \"{key}\" (a loop value) is not in the {} text table", table.name()));
        }
    }
    problems
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(problems.is_empty(), "texts missing:\n{}", problems.join("\n"));
}

#[test]
fn every_key_used_exists() {
    let dir = crate_dir();
    let templates = dir.join("templates");
    let sources = dir.join("src");
    let mut problems = Vec::new();
    let mut calls = 0;
    for path in files(&templates, "html") {
        let relative = path.strip_prefix(&templates).unwrap_or(&path);
        let text = read(&path);
        calls += get_calls(&text).len();
        problems.extend(check_file(&format!("templates/{}", relative.display()), &text, table_of_template(relative)));
    }
    for path in files(&sources, "rs") {
        let relative = path.strip_prefix(&sources).unwrap_or(&path);
        // This module and the table's documentation write `t.get(` as examples.
        if relative.starts_with("texts") {
            continue;
        }
        let text = read(&path);
        calls += get_calls(&text).len();
        problems.extend(check_file(&format!("src/{}", relative.display()), &text, table_of_source(relative)));
    }
    // The scan must see the templates' calls (a guard against a scan that finds nothing).
    assert!(calls > 300, "only {calls} t.get calls found: is the scan still reading the templates?");
    assert_no_problems(problems);
}

#[test]
fn every_enum_word_used_as_a_key_exists() {
    let mut problems = Vec::new();
    let mut need = |table: &TextTable, key: String, what: &str| {
        if !table.contains(&key) {
            problems.push(format!("key \"{key}\" ({what}) is not in the {} text table", table.name()));
        }
    };
    for k in ActionKind::ALL {
        need(&CONSOLE, k.as_str().to_string(), "ActionKind");
    }
    for k in IncidentType::ALL {
        need(&CONSOLE, k.as_str().to_string(), "IncidentType");
    }
    for k in Classification::ALL {
        need(&CONSOLE, k.as_str().to_string(), "Classification");
    }
    // The sign-up and self-service forms label channels and topics as `ch_…` and `tp_…`.
    for c in Channel::ALL {
        need(&RESIDENT, format!("ch_{}", c.as_str()), "Channel");
    }
    for t in Topic::ALL {
        need(&RESIDENT, format!("tp_{}", t.as_str()), "Topic");
    }
    assert_no_problems(problems);
}

#[test]
fn every_entry_has_both_texts_and_no_key_is_written_twice() {
    let mut problems = Vec::new();
    for table in [&RESIDENT, &CONSOLE] {
        let mut seen = std::collections::BTreeSet::new();
        for (key, (nl, en)) in table.entries() {
            if key.trim().is_empty() {
                problems.push(format!("{} text table: an empty key", table.name()));
            }
            if !seen.insert(*key) {
                problems.push(format!("{} text table: key \"{key}\" is written twice", table.name()));
            }
            if nl.trim().is_empty() {
                problems.push(format!("{} text table: key \"{key}\" has no Dutch text", table.name()));
            }
            if en.trim().is_empty() {
                problems.push(format!("{} text table: key \"{key}\" has no English text", table.name()));
            }
        }
    }
    assert_no_problems(problems);
}

/// The resident app's pages write their texts inline, both languages side by side.
#[test]
fn the_app_pages_inline_texts_have_both_languages() {
    let templates = crate_dir().join("templates");
    let mut problems = Vec::new();
    let mut pairs = 0;
    for path in files(&templates, "html") {
        let shown = path.strip_prefix(&templates).unwrap_or(&path).display().to_string();
        let text = read(&path);
        let mut rest = text.as_str();
        while let Some(i) = rest.find("{% if nl %}") {
            let line = text.len() - rest.len() + i;
            let line = text[..line].lines().count().max(1);
            let after = &rest[i + "{% if nl %}".len()..];
            let Some(end) = after.find("{% endif %}") else {
                problems.push(format!("templates/{shown}:{line}: `{{% if nl %}}` without `{{% endif %}}`"));
                break;
            };
            let block = &after[..end];
            match block.split_once("{% else %}") {
                Some(_) if block.contains("{% if") => {
                    problems.push(format!("templates/{shown}:{line}: a nested `{{% if %}}` in a text: keep one text per block"))
                }
                Some((nl, en)) => {
                    pairs += 1;
                    if nl.trim().is_empty() {
                        problems.push(format!("templates/{shown}:{line}: no Dutch text"));
                    }
                    if en.trim().is_empty() {
                        problems.push(format!("templates/{shown}:{line}: no English text"));
                    }
                }
                None => problems.push(format!("templates/{shown}:{line}: no English text (`{{% else %}}` missing)")),
            }
            rest = &after[end..];
        }
    }
    assert!(pairs > 50, "only {pairs} inline texts found: is the scan still reading the app's templates?");
    assert_no_problems(problems);
}

#[test]
fn the_scanner_finds_keys_loops_and_dynamic_calls() {
    let text = "<p>{{ t.get(\"a\") }} {{ c.t.get(\"b\") }} {{ t.get(kind) }} {{ format.get(\"no\") }}</p>\n// t.get(\"comment\")\n\
                {% for (value, key) in [(\"x\", \"k_x\"), (\"y\", \"k_y\")] %}{{ t.get(key) }}{% endfor %}";
    let calls: Vec<String> = get_calls(text).into_iter().map(|(_, a)| a).collect();
    assert_eq!(calls, ["\"a\"", "\"b\"", "kind", "key"]);
    let keys: Vec<String> = loop_keys(text).into_iter().map(|(_, k)| k).collect();
    assert_eq!(keys, ["k_x", "k_y"]);
    static TINY: TextTable = TextTable::new("tiny", &[("a", ("A", "A")), ("k_x", ("X", "X"))]);
    let problems = check_file("templates/t.html", text, &TINY);
    assert_eq!(
        problems,
        [
            "templates/t.html:1: key \"b\" is not in the tiny text table",
            "templates/t.html:3: key \"k_y\" (a loop value) is not in the tiny text table",
        ]
    );
    let problems = check_file("src/x.rs", "let s = t.get(name);", &TINY);
    assert!(problems[0].starts_with("src/x.rs:1: t.get(name) takes a key the tests cannot see"), "{problems:?}");
}

#[test]
fn self_service_notices_exist() {
    let source = std::fs::read_to_string(crate_dir().join("src/http/pages.rs")).unwrap_or_default();
    let notices: Vec<&str> = ["saved", "unlinked"].into_iter().filter(|n| source.contains(&format!("Some(\"{n}\")"))).collect();
    assert_eq!(notices, ["saved", "unlinked"], "the self-service notices changed: update DYNAMIC and this test");
    for n in notices {
        assert!(RESIDENT.contains(n), "resident text \"{n}\" is missing");
    }
}
