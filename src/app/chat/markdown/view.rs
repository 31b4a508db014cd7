//! The Markdown tree of a message body as Leptos elements.
//!
//! Every piece of text becomes a text node and every element is one of a fixed set written
//! here; nothing is ever set as HTML. Links open in a new tab without handing it `opener`, the
//! referrer, or the sender's endorsement. A mention (`@username`, [`crate::protocol::mentions`])
//! in text is a `<span class="mention">`, with `self` added when it names the viewer.
//!
//! Depends on [`super`] (the tree) and Leptos.

use leptos::prelude::*;

use super::{Kind, Node, parse};

/// The `rel` of every link in a message.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// A message body, rendered as Markdown (see [`super`]).
#[component]
pub fn MessageText(
    /// The message as typed.
    body: String,
    /// The viewer's username: mentions of them stand out.
    #[prop(optional)]
    me: Option<String>,
) -> impl IntoView {
    nodes(parse(&body), me.as_deref())
}

/// What a body shows, as plain text on one line (a reply's quote of it): the words without
/// the marks around them, a code block's text, a link's text.
pub fn plain(body: &str) -> String {
    fn walk(nodes: &[Node], out: &mut String) {
        for node in nodes {
            match node {
                Node::Text(text) | Node::Code(text) => out.push_str(text),
                Node::Link { children, .. } => walk(children, out),
                Node::Element { kind, children } => {
                    walk(children, out);
                    // Blocks are apart; inline marks sit inside words and sentences.
                    if !matches!(kind, Kind::Strong | Kind::Emphasis | Kind::Strike) {
                        out.push(' ');
                    }
                }
                Node::CodeBlock(text) => {
                    out.push_str(text);
                    out.push(' ');
                }
                Node::Break | Node::Rule => out.push(' '),
            }
        }
    }
    let mut out = String::new();
    walk(&parse(body), &mut out);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn nodes(nodes: Vec<Node>, me: Option<&str>) -> AnyView {
    nodes
        .into_iter()
        .map(|n| node(n, me))
        .collect_view()
        .into_any()
}

/// Text, with each mention in it as a span.
fn text(text: String, me: Option<&str>) -> AnyView {
    if !text.contains('@') {
        return text.into_any();
    }
    let mut parts = Vec::new();
    let mut from = 0;
    for (range, name) in crate::protocol::mentions(&text) {
        parts.push(text[from..range.start].to_string().into_any());
        let class = if me.is_some_and(|me| me.eq_ignore_ascii_case(name)) {
            "mention self"
        } else {
            "mention"
        };
        let shown = text[range.clone()].to_string();
        parts.push(view! { <span class=class>{shown}</span> }.into_any());
        from = range.end;
    }
    parts.push(text[from..].to_string().into_any());
    parts.into_iter().collect_view().into_any()
}

fn node(node: Node, me: Option<&str>) -> AnyView {
    match node {
        Node::Text(t) => text(t, me),
        Node::Break => view! { <br /> }.into_any(),
        Node::Rule => view! { <hr /> }.into_any(),
        Node::Code(code) => view! { <code>{code}</code> }.into_any(),
        Node::CodeBlock(code) => view! {
            <pre>
                <code>{code}</code>
            </pre>
        }
        .into_any(),
        Node::Link { href, children } => view! {
            <a href=href target="_blank" rel=LINK_REL>
                {nodes(children, me)}
            </a>
        }
        .into_any(),
        Node::Element { kind, children } => {
            let inner = nodes(children, me);
            match kind {
                Kind::Paragraph => view! { <p>{inner}</p> }.into_any(),
                Kind::Quote => view! { <blockquote>{inner}</blockquote> }.into_any(),
                Kind::Bullets => view! { <ul>{inner}</ul> }.into_any(),
                Kind::Numbered(start) => view! { <ol start=start>{inner}</ol> }.into_any(),
                Kind::Item => view! { <li>{inner}</li> }.into_any(),
                Kind::Strong => view! { <strong>{inner}</strong> }.into_any(),
                Kind::Emphasis => view! { <em>{inner}</em> }.into_any(),
                Kind::Strike => view! { <s>{inner}</s> }.into_any(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(body: &str, me: &str) -> String {
        let (body, me) = (body.to_string(), me.to_string());
        view! { <MessageText body me /> }.to_html()
    }

    #[test]
    fn mentions_are_spans_and_the_viewers_own_stand_out() {
        let out = html("hi @Ann and @ben, not ann@example.org", "ann");
        assert!(
            out.contains(r#"<span class="mention self">@Ann</span>"#),
            "{out}"
        );
        assert!(
            out.contains(r#"<span class="mention">@ben</span>"#),
            "{out}"
        );
        assert_eq!(out.matches("<span").count(), 2, "{out}");
        // Not in code, and a mention's text is text like any other.
        let code = html("`@ann` @<b>x", "ann");
        assert!(!code.contains("mention"), "{code}");
        assert!(!code.contains("<b>"), "{code}");
    }

    #[test]
    fn plain_text_drops_the_marks() {
        assert_eq!(
            plain("**Yes**, all _green_.\n\n`v2` at [notes](https://a.example)"),
            "Yes, all green. v2 at notes"
        );
    }

    #[test]
    fn a_mention_counts_only_in_text() {
        use super::super::mentions_user;
        assert!(mentions_user("**@ann** look", "ann"));
        assert!(mentions_user("> quoted @ANN", "ann"));
        assert!(!mentions_user("`@ann` and\n\n```\n@ann\n```", "ann"));
        assert!(!mentions_user("[link](https://x.org/@ann)", "ann"));
        assert!(!mentions_user("@annabel", "ann"));
    }
}
