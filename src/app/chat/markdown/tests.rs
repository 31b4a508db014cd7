//! The Markdown renderer: every construct, the XSS corpus, and the cost bounds.

use leptos::prelude::*;

use super::{Kind, MAX_DEPTH, MAX_ELEMENTS, MessageText, Node, parse, safe_href, size};

fn text(t: &str) -> Node {
    Node::Text(t.into())
}

fn el(kind: Kind, children: Vec<Node>) -> Node {
    Node::Element { kind, children }
}

fn p(children: Vec<Node>) -> Node {
    el(Kind::Paragraph, children)
}

fn link(href: &str, children: Vec<Node>) -> Node {
    Node::Link {
        href: href.into(),
        children,
    }
}

/// The HTML the server renders for `body`: what the browser parses and hydration expects.
fn html(body: &str) -> String {
    let body = body.to_string();
    view! { <MessageText body /> }.to_html()
}

/// The text a reader sees: `html` with every element and hydration marker taken out.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every tag name in `html`, lower-cased, closing tags and markers left out.
fn tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .filter(|rest| !rest.starts_with('/') && !rest.starts_with('!'))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

#[test]
fn plain_text_is_one_paragraph_and_line_breaks_stay() {
    assert_eq!(parse("hello there"), vec![p(vec![text("hello there")])]);
    assert_eq!(
        parse("line one\nline two"),
        vec![p(vec![text("line one\nline two")])]
    );
    assert_eq!(parse(""), vec![]);
    assert_eq!(
        parse("one\n\ntwo"),
        vec![p(vec![text("one")]), p(vec![text("two")])]
    );
    assert_eq!(
        parse("hard\\\nbreak"),
        vec![p(vec![text("hard"), Node::Break, text("break")])]
    );
}

#[test]
fn inline_styles() {
    assert_eq!(
        parse("**bold** *it* _it_ ~~gone~~ `a < b`"),
        vec![p(vec![
            el(Kind::Strong, vec![text("bold")]),
            text(" "),
            el(Kind::Emphasis, vec![text("it")]),
            text(" "),
            el(Kind::Emphasis, vec![text("it")]),
            text(" "),
            el(Kind::Strike, vec![text("gone")]),
            text(" "),
            Node::Code("a < b".into()),
        ])]
    );
    assert_eq!(
        parse("***both*** and snake_case_name"),
        vec![p(vec![
            el(Kind::Emphasis, vec![el(Kind::Strong, vec![text("both")])]),
            text(" and snake_case_name"),
        ])]
    );
}

#[test]
fn blocks() {
    assert_eq!(
        parse("```rust\nfn main() {}\n  <b>x</b>\n```"),
        vec![Node::CodeBlock("fn main() {}\n  <b>x</b>".into())]
    );
    assert_eq!(
        parse("> quoted *here*\n> more"),
        vec![el(
            Kind::Quote,
            vec![p(vec![
                text("quoted "),
                el(Kind::Emphasis, vec![text("here")]),
                text("\nmore")
            ])]
        )]
    );
    assert_eq!(
        parse("- a\n- b\n  - c"),
        vec![el(
            Kind::Bullets,
            vec![
                el(Kind::Item, vec![text("a")]),
                el(
                    Kind::Item,
                    vec![
                        text("b"),
                        el(Kind::Bullets, vec![el(Kind::Item, vec![text("c")])])
                    ]
                ),
            ]
        )]
    );
    assert_eq!(
        parse("3. three\n4. four"),
        vec![el(
            Kind::Numbered(3),
            vec![
                el(Kind::Item, vec![text("three")]),
                el(Kind::Item, vec![text("four")])
            ]
        )]
    );
    assert_eq!(parse("---"), vec![Node::Rule]);
}

#[test]
fn headings_are_shown_as_typed() {
    assert_eq!(parse("# not a title"), vec![p(vec![text("# not a title")])]);
    assert_eq!(parse("## **x**"), vec![p(vec![text("## **x**")])]);
    assert_eq!(parse("title\n==="), vec![p(vec![text("title\n===")])]);
    assert_eq!(parse("#hashtag"), vec![p(vec![text("#hashtag")])]);
    assert!(
        !tags(&html("# x\n\nfine"))
            .iter()
            .any(|t| t.starts_with('h'))
    );
}

#[test]
fn links_keep_web_and_mail_addresses_only() {
    assert_eq!(
        parse(
            "[docs](https://example.com/a?b=1&c=2) and <mailto:a@example.com> and <x@example.org>"
        ),
        vec![p(vec![
            link("https://example.com/a?b=1&c=2", vec![text("docs")]),
            text(" and "),
            link("mailto:a@example.com", vec![text("mailto:a@example.com")]),
            text(" and "),
            link("mailto:x@example.org", vec![text("x@example.org")]),
        ])]
    );
    assert_eq!(
        parse("[**bold** link](http://example.com)"),
        vec![p(vec![link(
            "http://example.com",
            vec![el(Kind::Strong, vec![text("bold")]), text(" link")]
        )])]
    );
    for bad in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "/relative",
        "relative/path",
        "//evil.example/x",
        "http:evil",
        "https:",
        "mailto:",
        "file:///etc/passwd",
        "",
    ] {
        assert_eq!(safe_href(bad), None, "{bad}");
    }
    assert_eq!(
        safe_href("HTTPS://x.example").as_deref(),
        Some("HTTPS://x.example")
    );
}

#[test]
fn bare_addresses_still_become_links_but_not_inside_code_or_links() {
    assert_eq!(
        parse("see https://example.com/a_b_c, and www.example.org."),
        vec![p(vec![
            text("see "),
            link(
                "https://example.com/a_b_c",
                vec![text("https://example.com/a_b_c")]
            ),
            text(", and "),
            link("https://www.example.org", vec![text("www.example.org")]),
            text("."),
        ])]
    );
    assert_eq!(
        parse("`https://example.com` [https://a.example](https://b.example)"),
        vec![p(vec![
            Node::Code("https://example.com".into()),
            text(" "),
            link("https://b.example", vec![text("https://a.example")]),
        ])]
    );
    assert_eq!(
        parse("```\nhttps://example.com\n```"),
        vec![Node::CodeBlock("https://example.com".into())]
    );
}

#[test]
fn images_are_never_loaded() {
    assert_eq!(
        parse("![a cat](https://example.com/cat.png) ![](https://example.com/x.png)"),
        vec![p(vec![
            link("https://example.com/cat.png", vec![text("a cat")]),
            text(" "),
            link(
                "https://example.com/x.png",
                vec![text("https://example.com/x.png")]
            ),
        ])]
    );
    assert_eq!(
        parse("![x](javascript:alert(1))"),
        vec![p(vec![text("![x](javascript:alert(1))")])]
    );
    // An image in a link shows its alt text inside the one link.
    assert_eq!(
        parse("[![alt](https://a.example/i.png)](https://b.example)"),
        vec![p(vec![link("https://b.example", vec![text("alt")])])]
    );
    assert!(!tags(&html("![a](https://example.com/a.png)")).contains(&"img".to_string()));
}

/// Bodies that try to run script or load something; none may make an element outside the
/// renderer's own set, a `javascript:`/`data:` address, or an event-handler attribute.
const XSS: &[&str] = &[
    "<script>window.__pwned=1</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<style>body{display:none}</style>",
    "<iframe src=\"javascript:window.__pwned=1\"></iframe>",
    "<img src=x onerror=\"window.__pwned=1\">",
    "<svg onload=window.__pwned=1>",
    "<a href=\"javascript:window.__pwned=1\">x</a>",
    "<div onmouseover=\"window.__pwned=1\">hover</div>",
    "text <b onclick=\"window.__pwned=1\">inline</b> tags",
    "<!-- <script>window.__pwned=1</script> -->",
    "<details open ontoggle=window.__pwned=1>",
    "[x](javascript:window.__pwned=1)",
    "[x](JaVaScRiPt:window.__pwned=1)",
    "[x]( javascript:window.__pwned=1 )",
    "[x](<javascript:window.__pwned=1>)",
    "[x](&#106;avascript:window.__pwned=1)",
    "[x](&#x6A;&#x61;vascript:window.__pwned=1)",
    "[x](java&#x09;script:window.__pwned=1)",
    "[x](javascript&colon;window.__pwned=1)",
    "[x](java\\script:window.__pwned=1)",
    "[x](%6A%61vascript:window.__pwned=1)",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](//evil.example)",
    "[x](/relative)",
    "[x](https://ok.example \"title\" onclick=\"window.__pwned=1\")",
    "[x][r]\n\n[r]: javascript:window.__pwned=1",
    "[r]\n\n[r]: javascript:window.__pwned=1 \"t\"",
    "[x][]\n\n[x]: data:text/html,<script>window.__pwned=1</script>",
    "<javascript:window.__pwned=1>",
    "<JAVASCRIPT:window.__pwned=1>",
    "<data:text/html,x>",
    "![x](javascript:window.__pwned=1)",
    "![x\" onerror=\"window.__pwned=1](https://example.com/a.png)",
    "**<script>window.__pwned=1</script>**",
    "> <img src=x onerror=window.__pwned=1>",
    "- [x](javascript:window.__pwned=1)\n- <script>window.__pwned=1</script>",
    "```html\n<script>window.__pwned=1</script>\n```",
    "`<script>window.__pwned=1</script>`",
    "*[x](javascript:window.__pwned=1)*",
    "[*x*](javascript:window.__pwned=1 'y')",
    "<http://a.example\"onmouseover=\"window.__pwned=1>",
    "https://a.example/\"onmouseover=\"window.__pwned=1",
    "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
];

/// The elements the renderer makes, and nothing else.
const ALLOWED: &[&str] = &[
    "p",
    "br",
    "hr",
    "code",
    "pre",
    "a",
    "blockquote",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "s",
];

#[test]
fn xss_corpus_stays_text() {
    for body in XSS {
        let out = html(body);
        for tag in tags(&out) {
            assert!(
                ALLOWED.contains(&tag.as_str()),
                "<{tag}> from {body:?}: {out}"
            );
        }
        // Text escapes `<`, so every `<` left in the HTML opens a tag the renderer wrote.
        let lower = out.to_ascii_lowercase();
        for tag in lower
            .split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or(""))
        {
            assert!(!tag.contains(" on"), "event handler from {body:?}: {out}");
            assert!(!tag.contains("style"), "style from {body:?}: {out}");
            assert!(!tag.contains("src="), "src from {body:?}: {out}");
            let attributes: Vec<&str> = tag.split(' ').skip(1).collect();
            if tag.starts_with("a ") {
                assert!(
                    tag.contains("rel=\"noopener noreferrer nofollow\""),
                    "{out}"
                );
                assert!(tag.contains("target=\"_blank\""), "{out}");
                let href = attributes.iter().find_map(|a| a.strip_prefix("href=\""));
                assert!(
                    href.is_some_and(|href| href.starts_with("http://")
                        || href.starts_with("https://")
                        || href.starts_with("mailto:")),
                    "href from {body:?}: {out}"
                );
            } else if tag.starts_with("ol ") {
                assert!(attributes.iter().all(|a| a.starts_with("start=")), "{out}");
            } else {
                assert!(attributes.is_empty(), "attributes from {body:?}: {out}");
            }
        }
    }
}

#[test]
fn raw_html_shows_as_typed() {
    let body = "<script>window.__pwned=1</script>";
    assert_eq!(parse(body), vec![p(vec![text(body)])]);
    let body = "<img src=x onerror=\"window.__pwned=1\"> and <b>bold?</b>";
    assert_eq!(parse(body), vec![p(vec![text(body)])]);
    let body = "<!-- hidden? -->";
    assert_eq!(parse(body), vec![p(vec![text(body)])]);
    assert!(html("<script>x</script>").contains("&lt;script&gt;x&lt;/script&gt;"));
    // A link that is refused shows what was typed, so the reader sees where it pointed.
    assert_eq!(
        parse("[x](javascript:alert(1)) <javascript:alert(1)>"),
        vec![p(vec![text(
            "[x](javascript:alert(1)) <javascript:alert(1)>"
        )])]
    );
    assert_eq!(
        parse("[x][r]\n\n[r]: javascript:alert(1)"),
        vec![p(vec![text("[x][r]")])]
    );
    assert_eq!(visible(&html("a <b>c</b>")), "a &lt;b&gt;c&lt;/b&gt;");
}

#[test]
fn hostile_nesting_and_size_stay_bounded() {
    let cases = [
        ">".repeat(10_000) + " deep",
        "*".repeat(10_000),
        "*a ".repeat(3_000) + &"a*".repeat(3_000),
        "- ".repeat(5_000) + "x",
        "[".repeat(5_000) + "x" + &"](https://a.example)".repeat(5_000),
        "[a](https://a.example) ".repeat(2_000),
        "https://a.example ".repeat(2_000),
        "[a]\n".repeat(2_000) + "\n[a]: https://a.example",
        "`".repeat(10_000),
        "> - **~~_x_~~**\n".repeat(1_000),
        "1. ".repeat(5_000),
        "<".repeat(10_000),
        "\\\n".repeat(5_000),
    ];
    for body in &cases {
        let (elements, depth) = size(&parse(body));
        // (A bare link found in the deepest element adds one.)
        assert!(depth <= MAX_DEPTH + 1, "depth {depth}");
        assert!(elements <= MAX_ELEMENTS + 1, "elements {elements}");
        // Past the limits the rest is still there, as text.
        let shown = visible(&html(body));
        if body.contains(|c: char| c.is_ascii_alphabetic()) {
            assert!(
                shown.chars().any(|c| c.is_ascii_alphabetic()),
                "{}",
                &body[..40]
            );
        }
    }
    // Ten thousand quote markers: the text is still shown, under at most MAX_DEPTH quotes.
    let deep = parse(&(">".repeat(10_000) + " deep"));
    assert!(visible(&html(&(">".repeat(10_000) + " deep"))).contains("deep"));
    assert_eq!(size(&deep).1, MAX_DEPTH);
}

#[test]
fn server_html_is_the_elements_of_the_tree() {
    let out = html("**b** [l](https://x.example) `c`\n\n> q\n\n- i\n\n```\npre\n```");
    let found = tags(&out);
    for tag in ["p", "strong", "a", "code", "blockquote", "ul", "li", "pre"] {
        assert!(found.contains(&tag.to_string()), "{tag} in {out}");
    }
    assert!(out.contains(
        "<a href=\"https://x.example\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">"
    ));
}
