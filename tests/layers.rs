//! No import cycle under `src/server/`: the modules there form one-way layers.
//!
//! Reads every `.rs` file under `src/server/` (and `src/server.rs`), finds each path it names
//! that leads into `crate::server` — in `use` declarations (`use super::{a, b::c}` included)
//! and in code (`super::metrics::rejected(..)`, `crate::server::hub::queue::Budget`) — and
//! resolves `super`/`self` from the file's own module path (and any inline `mod` it is in).
//! Each such path is an edge from the file's top-level module (`src/server/<name>.rs` and
//! everything under `src/server/<name>/`) to the top-level module it names; `server` itself
//! (the root file's items, such as its re-exports) is a node too. A cycle in that graph fails
//! the test, naming the modules around it and, for each edge, the file and line that made it.
//!
//! No dependencies: a small lexer drops comments, strings and character literals, which is
//! all that is needed to see paths and braces. `LAYERS_SRC=<dir>` points it at another `src/`.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// Where one edge was seen.
#[derive(Clone, Debug)]
struct Seen {
    file: String,
    line: usize,
}

/// A token of Rust source, as far as paths are concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Tokens with the line each starts on. Comments, string, byte-string, raw-string and character
/// literals are dropped; lifetimes are dropped too.
fn lex(text: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r'))
            && matches!(at(i + if c == 'b' { 2 } else { 1 }), '"' | '#')
            && {
                // A raw string: r"…", r#"…"#, br"…".
                let mut j = i + if c == 'b' { 2 } else { 1 };
                while at(j) == '#' {
                    j += 1;
                }
                at(j) == '"'
            }
        {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#') {
                    j += 1 + hashes;
                    break;
                }
                if chars[j] == '\n' {
                    line += 1;
                }
                j += 1;
            }
            i = j;
        } else if c == '"' || (c == 'b' && at(i + 1) == '"') {
            i += if c == 'b' { 2 } else { 1 };
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let start = i + if c == 'b' { 1 } else { 0 };
            if at(start + 1) == '\\' {
                // Past the backslash and the escaped character (which may be a quote).
                let mut j = start + 3;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if at(start + 2) == '\'' {
                i = start + 3;
            } else {
                i = start + 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // `r#type` and friends.
            let word = word.strip_prefix("r#").map(str::to_owned).unwrap_or(word);
            out.push((Tok::Ident(word), line));
        } else if c == ':' && at(i + 1) == ':' {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// The module path of a file: `src/server/connection/requests.rs` → `server::connection::requests`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("under src/");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.strip_suffix(".rs").expect("a .rs file");
    if stem != "mod" {
        parts.push(stem.to_owned());
    }
    parts
}

/// Every path a `use` tree starting at `tokens[0]` names, up to its `;`, fully expanded:
/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`. Returns the paths and the tokens used.
fn use_tree(tokens: &[(Tok, usize)]) -> (Vec<(Vec<String>, usize)>, usize) {
    fn tree(
        tokens: &[(Tok, usize)],
        mut i: usize,
        prefix: &[String],
        out: &mut Vec<(Vec<String>, usize)>,
    ) -> usize {
        let mut path = prefix.to_vec();
        let mut line = tokens.get(i).map_or(0, |t| t.1);
        loop {
            match tokens.get(i) {
                Some((Tok::PathSep, _)) => i += 1,
                Some((Tok::Ident(word), l)) if word == "as" => {
                    // `x as y`: the alias names nothing new.
                    line = *l;
                    i += 2;
                }
                Some((Tok::Ident(word), l)) => {
                    line = *l;
                    path.push(word.clone());
                    i += 1;
                }
                Some((Tok::Punct('*'), _)) => {
                    path.push("*".to_owned());
                    i += 1;
                }
                Some((Tok::Punct('{'), _)) => {
                    i += 1;
                    loop {
                        match tokens.get(i) {
                            Some((Tok::Punct('}'), _)) => return i + 1,
                            Some((Tok::Punct(','), _)) => i += 1,
                            None => return i,
                            _ => i = tree(tokens, i, &path, out),
                        }
                    }
                }
                _ => {
                    if !path.is_empty() {
                        out.push((path, line));
                    }
                    return i;
                }
            }
        }
    }
    let mut out = Vec::new();
    let end = tree(tokens, 0, &[], &mut out);
    (out, end)
}

/// Resolves `path` as written in module `module` to an absolute path from the crate root
/// (`["server", "hub", …]`), or `None` when it leads outside the crate (std, dependencies).
fn resolve(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some("self") => rest = &rest[1..],
        // A bare name: a dependency, `std`, or an item in scope; none of them is another
        // module of the server unless spelled through `crate`, `super` or `self`.
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The top-level server module an absolute path lands in: `server::hub::queue::Budget` → `hub`;
/// an item of the root file (or the root itself) → `server`. `None` outside `crate::server`.
fn top_level(absolute: &[String], modules: &BTreeSet<String>) -> Option<String> {
    if absolute.first().map(String::as_str) != Some("server") {
        return None;
    }
    match absolute.get(1) {
        Some(name) if modules.contains(name) => Some(name.clone()),
        // `super::*` from an inline test module of a top-level file, `self`: no edge.
        Some(name) if name == "*" || name == "self" => None,
        Some(_) => Some("server".to_owned()),
        None => None,
    }
}

/// Every file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The dependency graph: for each top-level module, the modules it uses, with where.
type Graph = BTreeMap<String, BTreeMap<String, Seen>>;

fn graph() -> Graph {
    // `LAYERS_SRC` checks another tree's `src/` (a merge being prepared) with this build.
    let src = std::env::var_os("LAYERS_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut files = vec![src.join("server.rs")];
    rust_files(&src.join("server"), &mut files);
    let modules: BTreeSet<String> = fs::read_dir(src.join("server"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some(name.strip_suffix(".rs").map(str::to_owned).unwrap_or(name))
        })
        .collect();
    let mut graph = Graph::new();
    for file in files {
        let file_module = module_of(&src, &file);
        let from = file_module
            .get(1)
            .cloned()
            .unwrap_or_else(|| "server".to_owned());
        let shown = file
            .strip_prefix(src.parent().unwrap())
            .unwrap()
            .display()
            .to_string();
        let tokens = lex(&fs::read_to_string(&file).unwrap());
        // The module each token is in: the file's, plus inline `mod name { … }` around it.
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut paths: Vec<(Vec<String>, Vec<String>, usize)> = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let module: Vec<String> = file_module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(name, _)| name.clone()))
                .collect();
            match &tokens[i].0 {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => {
                    depth = depth.saturating_sub(1);
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                }
                Tok::Ident(word)
                    if word == "mod" && matches!(tokens.get(i + 2), Some((Tok::Punct('{'), _))) =>
                {
                    if let Some((Tok::Ident(name), _)) = tokens.get(i + 1) {
                        inline.push((name.clone(), depth));
                        i += 2;
                        continue;
                    }
                }
                Tok::Ident(word) if word == "use" => {
                    let (found, used) = use_tree(&tokens[i + 1..]);
                    for (path, line) in found {
                        paths.push((module.clone(), path, line));
                    }
                    i += 1 + used;
                    continue;
                }
                Tok::Ident(word)
                    if (word == "crate" || word == "super")
                        && matches!(tokens.get(i + 1), Some((Tok::PathSep, _)))
                        // Not the tail of a longer path (`a::super` cannot occur, but
                        // `x::crate` cannot either; only a path's head resolves).
                        && !matches!(i.checked_sub(1).map(|j| &tokens[j].0), Some(Tok::PathSep)) =>
                {
                    let line = tokens[i].1;
                    let mut path = vec![word.clone()];
                    let mut j = i + 1;
                    while let (Some((Tok::PathSep, _)), Some((Tok::Ident(next), _))) =
                        (tokens.get(j), tokens.get(j + 1))
                    {
                        path.push(next.clone());
                        j += 2;
                    }
                    paths.push((module.clone(), path, line));
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        for (module, path, line) in paths {
            let Some(absolute) = resolve(&module, &path) else {
                continue;
            };
            let Some(to) = top_level(&absolute, &modules) else {
                continue;
            };
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert(Seen {
                        file: shown.clone(),
                        line,
                    });
            }
        }
    }
    graph
}

/// One cycle of `graph`, as the modules around it (the first repeated at the end), if any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            match marks.get(next.as_str()) {
                Some(Mark::Open) => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, marks, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if !marks.contains_key(node)
            && let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

/// Every cycle, one per strongly connected group, described edge by edge.
fn describe_cycles(graph: &Graph) -> Vec<String> {
    let mut graph = graph.clone();
    let mut found = Vec::new();
    while let Some(cycle) = find_cycle(&graph) {
        let edges: Vec<String> = cycle
            .windows(2)
            .map(|pair| {
                let seen = &graph[&pair[0]][&pair[1]];
                format!("{} -> {} ({}:{})", pair[0], pair[1], seen.file, seen.line)
            })
            .collect();
        found.push(format!(
            "{}\n    {}",
            cycle.join(" -> "),
            edges.join("\n    ")
        ));
        // Drop the cycle's last edge and look for more.
        let (a, b) = (&cycle[cycle.len() - 2], &cycle[cycle.len() - 1]);
        graph.get_mut(a).unwrap().remove(b);
    }
    found
}

#[test]
fn no_import_cycle_under_src_server() {
    let graph = graph();
    // The check must see the server's real structure, or it proves nothing.
    assert!(
        graph.len() >= 5 && graph.values().map(BTreeMap::len).sum::<usize>() >= 10,
        "too few edges found; is the parser broken? {graph:?}"
    );
    let cycles = describe_cycles(&graph);
    assert!(
        cycles.is_empty(),
        "import cycles under src/server/ (module -> module it uses, file:line):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_parser_sees_use_trees_inline_paths_and_super() {
    let (paths, _) = use_tree(&lex("super::{a::{b, c as d}, e, f::*};"));
    let paths: Vec<String> = paths.into_iter().map(|(p, _)| p.join("::")).collect();
    assert_eq!(
        paths,
        ["super::a::b", "super::a::c", "super::e", "super::f::*"]
    );
    let module = [
        "server".to_owned(),
        "connection".to_owned(),
        "reader".to_owned(),
    ];
    assert_eq!(
        resolve(&module, &["super".into(), "super".into(), "hub".into()]),
        Some(vec!["server".to_owned(), "hub".to_owned()])
    );
    assert_eq!(resolve(&module, &["std".into(), "sync".into()]), None);
    // Strings, comments and character literals hide what looks like a path.
    let tokens = lex("let a = \"super::hub\"; // crate::server::x\n let b = '{'; r#\"{\"#;");
    assert!(!tokens.iter().any(|(t, _)| *t == Tok::Ident("hub".into())));
    assert!(!tokens.iter().any(|(t, _)| *t == Tok::Punct('{')));
}
