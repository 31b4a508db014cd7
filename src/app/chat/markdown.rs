//! Message bodies as Markdown: the parser's events turned into a small, safe tree.
//!
//! Bodies are parsed with `pulldown-cmark` (CommonMark plus `~~strikethrough~~`) into [`Node`]s,
//! which [`MessageText`] renders as Leptos elements — the same tree on the server's first paint and in
//! the browser, so hydration finds what it expects. Nothing the sender typed ever becomes markup
//! of its own:
//!
//! * raw HTML (blocks, inline tags, comments) is shown as the text that was typed;
//! * links keep only `http://`, `https://` and `mailto:` addresses; any other link (including
//!   `javascript:`, `data:`, relative and protocol-relative ones, however encoded) is shown as
//!   the text that was typed; bare web addresses become links as before ([`super::text`]);
//! * images are never loaded: an image with a web address is a link with its alt text;
//! * headings (`# x`, and underlined ones) are shown as typed, as chat apps do: a `#` at the
//!   start of a chat line is rarely meant as a title;
//! * the cost is bounded: containers nest at most [`MAX_DEPTH`] deep (a bare link found at the
//!   deepest level adds one) and a body makes at most [`MAX_ELEMENTS`] elements; past either,
//!   deeper containers are flattened into their parent and further leaves become text, so
//!   everything typed is still shown. Bodies are bounded by `limits.max_body_chars`;
//!   `examples/markdown_cost.rs` measures hostile ones.
//!
//! Depends on `pulldown-cmark` and [`super::text`] (bare links); `view` adds Leptos.

mod view;

pub use self::view::{MessageText, plain};

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag};

use super::text::{Segment, segments};

/// Deepest nesting of elements rendered; deeper containers are flattened into their parent.
pub const MAX_DEPTH: usize = 16;
/// Most elements one body renders; later containers are flattened and later leaves are text.
pub const MAX_ELEMENTS: usize = 1000;

/// A rendered piece of a message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// Text, shown as text.
    Text(String),
    /// A hard line break (`<br>`).
    Break,
    /// A thematic break (`<hr>`).
    Rule,
    /// Inline code (`<code>`).
    Code(String),
    /// A code block (`<pre><code>`), without its last line ending.
    CodeBlock(String),
    /// A link that opens in a new tab; `href` is always `http://`, `https://` or `mailto:`.
    Link {
        /// Where it goes (checked by [`safe_href`]).
        href: String,
        /// What it shows.
        children: Vec<Node>,
    },
    /// A container element.
    Element {
        /// Which element.
        kind: Kind,
        /// What it holds.
        children: Vec<Node>,
    },
}

/// The container elements a body can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `<p>`.
    Paragraph,
    /// `<blockquote>`.
    Quote,
    /// `<ul>`.
    Bullets,
    /// `<ol start=…>`.
    Numbered(u64),
    /// `<li>`.
    Item,
    /// `<strong>`.
    Strong,
    /// `<em>`.
    Emphasis,
    /// `<s>`.
    Strike,
}

/// `dest` if it is an address a message may link to: `http://` or `https://` with something
/// after it, or `mailto:` with something after it, and no spaces or control characters.
/// `pulldown-cmark` has already decoded entities and backslash escapes in it.
pub fn safe_href(dest: &str) -> Option<String> {
    if dest.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let starts = |prefix: &str| {
        dest.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            && dest.len() > prefix.len()
    };
    (starts("https://") || starts("http://") || starts("mailto:")).then(|| dest.to_string())
}

/// How many elements `nodes` render to and how deep they nest (a code block is two: `<pre>`
/// and `<code>`).
pub fn size(nodes: &[Node]) -> (usize, usize) {
    let mut elements = 0;
    let mut depth = 0;
    for node in nodes {
        let (own, (inner, inner_depth)) = match node {
            Node::Element { children, .. } | Node::Link { children, .. } => (1, size(children)),
            Node::CodeBlock(_) => (2, (0, 0)),
            Node::Break | Node::Rule | Node::Code(_) => (1, (0, 0)),
            Node::Text(_) => (0, (0, 0)),
        };
        elements += own + inner;
        depth = depth.max(own + inner_depth);
    }
    (elements, depth)
}

/// Whether `body` mentions `username` in its text: a mention inside code is not one, and
/// neither is one written into a link's address.
pub fn mentions_user(body: &str, username: &str) -> bool {
    fn any(nodes: &[Node], username: &str) -> bool {
        nodes.iter().any(|node| match node {
            Node::Text(text) => crate::protocol::mentions_user(text, username),
            Node::Link { children, .. } | Node::Element { children, .. } => any(children, username),
            _ => false,
        })
    }
    body.contains('@') && any(&parse(body), username)
}

/// Parses `body` as Markdown into the tree [`MessageText`] renders.
pub fn parse(body: &str) -> Vec<Node> {
    let mut builder = Builder::new();
    let parser = Parser::new_ext(body, Options::ENABLE_STRIKETHROUGH);
    for (event, range) in parser.into_offset_iter() {
        builder.event(event, &body[range]);
    }
    builder.finish()
}

/// What an open frame becomes when it closes.
#[derive(Clone, Debug)]
enum Frame {
    /// An element.
    Element(Kind),
    /// A link.
    Link(String),
    /// A code block: its text is collected as is.
    CodeBlock,
    /// Not rendered as an element (past a limit, or an element chat does not show): its
    /// children join the parent's. `block` ends it with a line break so blocks stay apart.
    Flat {
        /// Whether it was a block.
        block: bool,
    },
}

/// An open frame and what it has collected so far.
struct Open {
    frame: Frame,
    children: Vec<Node>,
}

/// Builds the tree from the parser's events, one stack frame per open tag.
struct Builder {
    /// The root first; never empty.
    stack: Vec<Open>,
    /// Open frames that render as an element (or link), i.e. the DOM depth.
    depth: usize,
    /// Elements made so far.
    elements: usize,
    /// Open link frames: inside one, nothing else becomes a link.
    links: usize,
    /// While above 0, events belong to something already shown as typed and are skipped.
    skipping: usize,
}

impl Builder {
    fn new() -> Self {
        Self {
            stack: vec![Open {
                frame: Frame::Flat { block: false },
                children: Vec::new(),
            }],
            depth: 0,
            elements: 0,
            links: 0,
            skipping: 0,
        }
    }

    fn children(&mut self) -> &mut Vec<Node> {
        // The root is never popped.
        &mut self.stack.last_mut().expect("root frame").children
    }

    /// Whether `n` more elements fit at the current depth.
    fn room(&self, n: usize) -> bool {
        self.depth < MAX_DEPTH && self.elements + n <= MAX_ELEMENTS
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let children = self.children();
        if let Some(Node::Text(last)) = children.last_mut() {
            last.push_str(text);
        } else {
            children.push(Node::Text(text.to_string()));
        }
    }

    /// Adds a leaf element, or `fallback` as text when there is no room for it.
    fn push_leaf(&mut self, node: Node, cost: usize, fallback: &str) {
        if self.room(cost) {
            self.elements += cost;
            self.children().push(node);
        } else {
            self.push_text(fallback);
        }
    }

    /// Opens `frame` if there is room for it, else a flat frame in its place.
    fn open(&mut self, frame: Frame, block: bool) {
        let frame = if self.room(1) {
            self.elements += 1;
            self.depth += 1;
            if matches!(frame, Frame::Link(_)) {
                self.links += 1;
            }
            frame
        } else {
            Frame::Flat { block }
        };
        self.stack.push(Open {
            frame,
            children: Vec::new(),
        });
    }

    /// Shows `source` as typed, as a paragraph when it was a block, and skips the events of
    /// the element it came from.
    fn as_typed(&mut self, source: &str, block: bool) {
        if block {
            self.open(Frame::Element(Kind::Paragraph), true);
            self.push_text(source.trim_end());
            self.close();
        } else {
            self.push_text(source);
        }
        self.skipping = 1;
    }

    fn event(&mut self, event: Event<'_>, source: &str) {
        if self.skipping > 0 {
            match event {
                Event::Start(_) => self.skipping += 1,
                Event::End(_) => self.skipping -= 1,
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag, source),
            Event::End(_) => self.close(),
            Event::Text(text) => self.push_text(&text),
            Event::Html(text) | Event::InlineHtml(text) => self.push_text(&text),
            Event::Code(code) => {
                let node = Node::Code(code.to_string());
                self.push_leaf(node, 1, &code);
            }
            Event::SoftBreak => self.push_text("\n"),
            Event::HardBreak => self.push_leaf(Node::Break, 1, "\n"),
            Event::Rule => self.push_leaf(Node::Rule, 1, source.trim_end()),
            // Not enabled; if they ever come, they are shown as typed.
            _ => self.push_text(source),
        }
    }

    fn start(&mut self, tag: Tag<'_>, source: &str) {
        let element = |kind| Frame::Element(kind);
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => self.open(element(Kind::Paragraph), true),
            Tag::BlockQuote(_) => self.open(element(Kind::Quote), true),
            Tag::List(None) => self.open(element(Kind::Bullets), true),
            Tag::List(Some(start)) => self.open(element(Kind::Numbered(start)), true),
            Tag::Item => self.open(element(Kind::Item), true),
            Tag::Emphasis => self.open(element(Kind::Emphasis), false),
            Tag::Strong => self.open(element(Kind::Strong), false),
            Tag::Strikethrough => self.open(element(Kind::Strike), false),
            Tag::CodeBlock(_) => {
                if self.room(2) {
                    // `<pre>` now, `<code>` when it closes.
                    self.elements += 1;
                    self.open(Frame::CodeBlock, true);
                } else {
                    self.open(Frame::Flat { block: true }, true);
                }
            }
            Tag::Heading { .. } => self.as_typed(source, true),
            Tag::Link {
                link_type: LinkType::Email,
                dest_url,
                ..
            } => match safe_href(&format!("mailto:{dest_url}")) {
                Some(href) if self.links == 0 => self.open(Frame::Link(href), false),
                _ => self.as_typed(source, false),
            },
            Tag::Link { dest_url, .. } => match safe_href(&dest_url) {
                Some(href) if self.links == 0 => self.open(Frame::Link(href), false),
                // A link in a link (an image's, say) shows its text.
                Some(_) => self.open(Frame::Flat { block: false }, false),
                None => self.as_typed(source, false),
            },
            Tag::Image { dest_url, .. } => match safe_href(&dest_url) {
                // Never loaded: a link to it, showing the alt text.
                Some(href) if self.links == 0 => self.open(Frame::Link(href), false),
                Some(_) => self.open(Frame::Flat { block: false }, false),
                None => self.as_typed(source, false),
            },
            _ => self.open(Frame::Flat { block: true }, true),
        }
    }

    /// Closes the innermost frame into its parent.
    fn close(&mut self) {
        if self.stack.len() < 2 {
            return;
        }
        let Some(Open {
            frame,
            mut children,
        }) = self.stack.pop()
        else {
            return;
        };
        if !matches!(frame, Frame::Flat { .. }) {
            self.depth -= 1;
        }
        match frame {
            Frame::Flat { block } => {
                let ends_in_break =
                    matches!(children.last(), Some(Node::Text(t)) if t.ends_with('\n'));
                for child in children {
                    match child {
                        Node::Text(text) => self.push_text(&text),
                        other => self.children().push(other),
                    }
                }
                if block && !ends_in_break && !self.children().is_empty() {
                    self.push_text("\n");
                }
            }
            Frame::CodeBlock => {
                let mut code = String::new();
                for child in children {
                    if let Node::Text(text) = child {
                        code.push_str(&text);
                    }
                }
                if code.ends_with('\n') {
                    code.pop();
                }
                self.children().push(Node::CodeBlock(code));
            }
            Frame::Link(href) => {
                self.links -= 1;
                if children.is_empty() {
                    children.push(Node::Text(href.clone()));
                }
                self.children().push(Node::Link { href, children });
            }
            Frame::Element(kind) => {
                if let Some(Node::Text(last)) = children.last_mut() {
                    let kept = last.trim_end_matches('\n').len();
                    last.truncate(kept);
                    if last.is_empty() {
                        children.pop();
                    }
                }
                let children = self.linkify(children);
                self.children().push(Node::Element { kind, children });
            }
        }
    }

    /// Turns bare web addresses in the text among `children` into links, unless inside a link.
    fn linkify(&mut self, children: Vec<Node>) -> Vec<Node> {
        if self.links > 0 {
            return children;
        }
        let mut out = Vec::with_capacity(children.len());
        for child in children {
            let Node::Text(text) = child else {
                out.push(child);
                continue;
            };
            for segment in segments(&text) {
                match segment {
                    Segment::Link { href, text } if self.room(1) => {
                        self.elements += 1;
                        out.push(Node::Link {
                            href,
                            children: vec![Node::Text(text)],
                        });
                    }
                    Segment::Link { text, .. } | Segment::Text(text) => {
                        if let Some(Node::Text(last)) = out.last_mut() {
                            last.push_str(&text);
                        } else {
                            out.push(Node::Text(text));
                        }
                    }
                }
            }
        }
        out
    }

    fn finish(mut self) -> Vec<Node> {
        while self.stack.len() > 1 {
            self.close();
        }
        let root = self
            .stack
            .pop()
            .map(|open| open.children)
            .unwrap_or_default();
        self.linkify(root)
    }
}

#[cfg(test)]
mod tests;
