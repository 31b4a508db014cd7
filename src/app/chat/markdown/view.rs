//! The Markdown tree of a message body as Leptos elements.
//!
//! Every piece of text becomes a text node and every element is one of a fixed set written
//! here; nothing is ever set as HTML. Links open in a new tab without handing it `opener`, the
//! referrer, or the sender's endorsement.
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
) -> impl IntoView {
    nodes(parse(&body))
}

fn nodes(nodes: Vec<Node>) -> AnyView {
    nodes.into_iter().map(node).collect_view().into_any()
}

fn node(node: Node) -> AnyView {
    match node {
        Node::Text(text) => text.into_any(),
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
                {nodes(children)}
            </a>
        }
        .into_any(),
        Node::Element { kind, children } => {
            let inner = nodes(children);
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
