//! What rendering a hostile message body costs: the Markdown renderer on bodies at the body
//! limit built to be expensive (deep nesting, runs of markers, many links).
//!
//! `cargo run --release --features ssr --example markdown_cost [N]`
//!
//! For each body prints its size, the elements and nesting depth it renders to, and the median
//! of N (default 50) runs of parsing it into the tree and rendering that tree to HTML (the
//! server's first paint; the browser builds the same elements from the same tree).

#[cfg(feature = "ssr")]
fn main() {
    use std::time::Instant;

    use leptos::prelude::*;
    use switchboard::app::chat::markdown::{MessageText, parse, size};

    let n: usize = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(50);
    let limit = 4000;
    let fill = |unit: &str| unit.repeat(limit / unit.chars().count());
    let bodies = [
        ("plain text", fill("word ")),
        ("4000 `>`", ">".repeat(limit)),
        ("4000 `*`", "*".repeat(limit)),
        ("`*a ` … `a*`", "*a ".repeat(666) + &"a*".repeat(1000)),
        ("`- ` nesting", fill("- ")),
        (
            "`[` … `](url)`",
            "[".repeat(190) + "x" + &"](https://a.example)".repeat(190),
        ),
        ("inline links", fill("[a](https://a.example) ")),
        (
            "reference links",
            fill("[a] ") + "\n\n[a]: https://a.example",
        ),
        ("bare links", fill("https://a.example ")),
        ("backticks", "`".repeat(limit)),
        ("`<` runs", "<".repeat(limit)),
        ("quote+list+style", fill("> - **~~_x_~~**\n")),
        ("hard breaks", fill("\\\n")),
    ];
    for (name, body) in bodies {
        let (elements, depth) = size(&parse(&body));
        let mut micros: Vec<f64> = (0..n)
            .map(|_| {
                let started = Instant::now();
                let body = body.clone();
                let html = view! { <MessageText body /> }.to_html();
                std::hint::black_box(html);
                started.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        micros.sort_by(f64::total_cmp);
        println!(
            "{name:<18} {:>5} chars  {:>5} elements  depth {:>2}  median {:>7.0} µs  max {:>7.0} µs",
            body.chars().count(),
            elements,
            depth,
            micros[n / 2],
            micros[n - 1]
        );
    }
}

#[cfg(not(feature = "ssr"))]
fn main() {}
