//! Message bodies on the server-rendered page, tried as an attacker would: the real server on a
//! loopback port, bodies posted over a real WebSocket, the conversation page fetched over real
//! HTTP with the reader's cookie. The first paint shows Markdown as the renderer's own elements,
//! everything else as text, and no body can add a tag, an attribute or a script to the page
//! (in the message list or in the data serialised for hydration).
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use harness::{TestServer, room};
use switchboard::protocol::ConvId;

/// Bodies that would run script if any of it became markup. Each mentions `PWNED`.
const CORPUS: &[&str] = &[
    "<script>PWNED=1</script>",
    "</script><script>PWNED=2</script>",
    "<img src=x onerror=\"PWNED=3\">",
    "<iframe src=\"javascript:PWNED=4\"></iframe>",
    "<style>*{x:PWNED}</style>",
    "<!-- PWNED --> <!--",
    "[x](javascript:PWNED=5)",
    "[x](&#106;avascript:PWNED=6)",
    "[x][r]\n\n[r]: javascript:PWNED=7",
    "<javascript:PWNED=8>",
    "![x](javascript:PWNED=9)",
    "![PWNED\" onerror=\"x](https://example.com/a.png)",
    "[PWNED](https://example.com/\"onmouseover=\"x)",
    "> **<b onclick=PWNED>**",
    "```\n</code></pre><script>PWNED</script>\n```",
    "`</code><script>PWNED</script>`",
    "# <h1>PWNED</h1>",
];

/// Every tag the page has, as written between `<` and `>`, lower-cased.
fn tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or("").to_ascii_lowercase())
        .collect()
}

/// Ann's room with `bodies` posted in it, in order: her session cookie and the room.
async fn room_with(server: &TestServer, bodies: &[&str]) -> (String, ConvId) {
    let (cookie, _) = server.user("ann").await;
    let (mut ann, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut ann, "general", false).await;
    for (i, body) in bodies.iter().enumerate() {
        ann.post(conv, &format!("m{i}"), body).await;
    }
    (cookie, conv)
}

#[tokio::test]
async fn the_first_paint_shows_markdown_as_elements_and_every_body_as_text() {
    let formatted = "**bold** *it* ~~gone~~ `code`\n> quoted\n\n- one\n- two\n\n\
                     ```\nblock\n```\n[docs](https://example.com/docs) www.example.org";
    let bodies: Vec<&str> = std::iter::once(formatted)
        .chain(CORPUS.iter().copied())
        .collect();
    let server = TestServer::start().await;
    let (cookie, conv) = room_with(&server, &bodies).await;

    let response = reqwest::Client::new()
        .get(server.url(&format!("/c/{}", conv.0)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let tags = tags(&html);

    // Markdown became the renderer's elements, in the message list.
    for expected in [
        "strong",
        "em",
        "s",
        "code",
        "blockquote",
        "ul",
        "li",
        "pre",
        "p",
    ] {
        assert!(tags.iter().any(|t| t == expected), "<{expected}> in {html}");
    }
    assert!(
        html.contains(
            "<a href=\"https://example.com/docs\" target=\"_blank\" \
             rel=\"noopener noreferrer nofollow\">docs"
        ),
        "{html}"
    );
    assert!(html.contains("rel=\"noopener noreferrer nofollow\">www.example.org"));

    // No body reached the page as markup: no tag (or text of a script) carries the payload, every
    // script is the page's own (with the nonce), and nothing loads an image or a frame.
    for tag in &tags {
        assert!(
            !tag.contains("pwned"),
            "a body became markup: <{tag}> in {html}"
        );
        if tag.starts_with("script") {
            assert!(tag.contains("nonce="), "<{tag}>");
        }
        assert!(
            !tag.starts_with("img") && !tag.starts_with("iframe"),
            "<{tag}>"
        );
        assert!(!tag.contains("javascript:"), "<{tag}>");
        // The page's own (visually hidden) h1 is the only one: a body's `#` heading is no h1.
        assert!(
            !tag.starts_with("h1") || tag == "h1 class=\"visually-hidden\"",
            "<{tag}>"
        );
    }
    // The bodies are there, as text.
    assert!(
        html.contains("&lt;script&gt;PWNED=1&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("[x](javascript:PWNED=5)"), "{html}");
    assert!(html.contains("&lt;javascript:PWNED=8&gt;"), "{html}");
}
