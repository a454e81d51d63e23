//! The layering check: every module imports only from its own layer and those below it. The
//! layers are the table under "### Layers" in ARCHITECTURE.md, the one place they are written;
//! this test reads it, and every `crate::`, `super::` and child-module path in the sources.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Module path (`view::query`) -> (layer index, layer name), read from ARCHITECTURE.md.
fn layer_table() -> BTreeMap<String, (usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = map
        .split("### Layers")
        .nth(1)
        .expect("ARCHITECTURE.md has a Layers section");
    let mut table = BTreeMap::new();
    let rows = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2);
    for (index, row) in rows.enumerate() {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (name, modules) = (cells[1], cells[2]);
        for module in modules.split('`').skip(1).step_by(2) {
            let previous = table.insert(module.to_owned(), (index, name.to_owned()));
            assert!(previous.is_none(), "`{module}` is in two layers");
        }
    }
    assert!(table.len() > 20, "the layer table was read: {table:?}");
    table
}

/// The layer of module `path`: its longest prefix the table names.
fn layer_of<'t>(
    table: &'t BTreeMap<String, (usize, String)>,
    path: &[String],
) -> Option<(&'t str, &'t (usize, String))> {
    (1..=path.len()).rev().find_map(|len| {
        table
            .get_key_value(&path[..len].join("::"))
            .map(|(key, layer)| (key.as_str(), layer))
    })
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The module a source file is: `src/view/mod.rs` is `view`, `src/private/mod.rs` is `__private`.
fn module_of(file: &Path, src: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut path: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(path.last().map(String::as_str), Some("mod")) {
        path.pop();
    }
    if path.first().is_some_and(|first| first == "private") {
        path[0] = "__private".to_owned();
    }
    path
}

/// The code of a file without comments and without its `#[cfg(test)]` module (tests may reach
/// any layer), as one string.
fn code(text: &str) -> String {
    let test_module = text.match_indices("#[cfg(test)]\n").find(|(at, marker)| {
        let next = text[at + marker.len()..].lines().next().unwrap_or("");
        next.starts_with("mod ") || next.starts_with("pub(crate) mod ")
    });
    let text = test_module.map_or(text, |(at, _)| &text[..at]);
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths `code` names, resolved to paths from the crate root: `crate::a::b`,
/// `super::b` and, in a module with children, `child::x`; each item of a `{..}` group too.
fn imports(code: &str, module: &[String], is_root: bool) -> Vec<Vec<String>> {
    let children: Vec<&str> = code
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub ")
                .or(line.strip_prefix("pub(crate) "));
            rest.unwrap_or(line)
                .strip_prefix("mod ")
                .and_then(|name| name.strip_suffix(';'))
        })
        .collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut at = 0;
    while at < bytes.len() {
        if !ident(bytes[at]) || (at > 0 && (ident(bytes[at - 1]) || bytes[at - 1] == ':')) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && (ident(bytes[at]) || bytes[at] == ':') {
            at += 1;
        }
        let path: String = bytes[start..at].iter().collect();
        let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let Some(first) = segments.first() else {
            continue;
        };
        // The module a relative path starts from: a file `a/b.rs` is module `a::b`, whose
        // `super` is `a`; a `mod.rs` or the root is its own module.
        let base: Vec<String> = match *first {
            "crate" => Vec::new(),
            "super" => module[..module.len() - 1].to_vec(),
            child if segments.len() > 1 && is_root && children.contains(&child) => {
                if module == ["lib"] {
                    Vec::new()
                } else {
                    module.to_vec()
                }
            }
            _ => continue,
        };
        let skip = usize::from(matches!(*first, "crate" | "super"));
        let mut resolved = base;
        resolved.extend(segments[skip..].iter().map(|s| (*s).to_owned()));
        // A group: `crate::view::{query, sql}` names each of its items.
        let group = bytes.get(at) == Some(&'{') && path.ends_with("::");
        if group {
            let end = bytes[at..]
                .iter()
                .position(|c| *c == '}')
                .map_or(bytes.len(), |e| at + e);
            let inner: String = bytes[at + 1..end].iter().collect();
            for item in inner.split(',') {
                let name: String = item.trim().chars().take_while(|c| ident(*c)).collect();
                if !name.is_empty() && name != "self" {
                    let mut with = resolved.clone();
                    with.push(name);
                    found.push(with);
                }
            }
        }
        found.push(resolved);
    }
    found
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let table = layer_table();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut unplaced = Vec::new();
    let mut upward = Vec::new();
    for file in files {
        let module = module_of(&file, &src);
        if module == ["layers"] {
            continue; // this test
        }
        let Some((_, (own, own_name))) = layer_of(&table, &module) else {
            unplaced.push(module.join("::"));
            continue;
        };
        let is_root = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let text = std::fs::read_to_string(&file).unwrap();
        for target in imports(&code(&text), &module, is_root) {
            if let Some((key, (layer, name))) = layer_of(&table, &target)
                && layer > own
            {
                upward.push(format!(
                    "{} ({own_name}) imports {} ({name}, by `{key}`)",
                    module.join("::"),
                    target.join("::"),
                ));
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        unplaced.is_empty(),
        "modules in no layer of ARCHITECTURE.md: {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "imports from a layer above:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    let table = layer_table();
    let module = vec!["store".to_owned()];
    let found = imports("use crate::dispatch::Dispatcher;", &module, true);
    let layers: Vec<usize> = found
        .iter()
        .filter_map(|path| layer_of(&table, path).map(|(_, (layer, _))| *layer))
        .collect();
    let own = layer_of(&table, &module).unwrap().1.0;
    assert!(layers.iter().any(|layer| *layer > own), "{found:?}");
}
