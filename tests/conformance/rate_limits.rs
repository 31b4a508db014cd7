//! PROTOCOL.md, *Rate limits*: a refusal says when to retry (`retry_after_ms`), and a client
//! that stops at a refused `send` and resends from it, in order, keeps its messages' order.
//!
//! Every budget and its sharing across a user's devices is proven in `tests/frame_limits.rs`.

use std::{collections::HashMap, time::Duration};

use crate::harness::{Device, TestServer, room};
use switchboard::protocol::{ClientFrame, ClientMsgId, ConvId, ErrorCode, Seq, ServerFrame};

/// Messages per second here: a burst of 5, one more every 200 ms.
const RATE: u32 = 5;

fn send(conv: ConvId, id: &str) -> ClientFrame {
    ClientFrame::Send {
        client_msg_id: ClientMsgId(id.into()),
        conv,
        body: id.into(),
        reply_to: None,
    }
}

/// The next answer to a send: its id, and its seq or the refusal's `retry_after_ms`.
async fn any_answer(device: &mut Device) -> (String, Result<Seq, Option<u32>>) {
    loop {
        match device.next().await {
            ServerFrame::Ack {
                client_msg_id, seq, ..
            } => return (client_msg_id.0, Ok(seq)),
            ServerFrame::Error {
                code,
                client_msg_id: Some(c),
                retry_after_ms,
                ..
            } => {
                assert_eq!(code, ErrorCode::RateLimited, "{c}");
                return (c.0, Err(retry_after_ms));
            }
            _ => {}
        }
    }
}

/// What the server said to the send `id` (sent alone, so the next answer is its).
async fn answer(device: &mut Device, id: &str) -> Result<Seq, Option<u32>> {
    let (answered, outcome) = any_answer(device).await;
    assert_eq!(answered, id);
    outcome
}

#[tokio::test]
async fn a_refused_send_says_when_to_retry_and_resending_from_it_keeps_the_order() {
    let server = TestServer::start_with(|c| c.messages_per_second = RATE).await;
    let (cookie, _) = server.user("pacer").await;
    let (mut ann, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut ann, "paced", false).await;

    // Six at once: the burst takes five, the sixth is refused with a wait of at most one
    // refill (200 ms).
    let ids: Vec<String> = (0..8).map(|n| format!("m{n}")).collect();
    for id in &ids[..6] {
        ann.send(&send(conv, id)).await;
    }
    // The refusal is immediate while the acks wait for the commit: take them in any order.
    let mut answers = HashMap::new();
    while answers.len() < 6 {
        let (id, outcome) = any_answer(&mut ann).await;
        answers.insert(id, outcome);
    }
    let mut seqs: Vec<Seq> = ids[..5]
        .iter()
        .map(|id| answers[id].expect("within the burst"))
        .collect();
    let wait = answers[&ids[5]]
        .expect_err("past the burst")
        .expect("a rate refusal says when to retry");
    assert!(wait > 0 && wait <= 1000 / RATE, "retry_after_ms {wait}");

    // A later message that was already on its way when the refusal came, arriving after the
    // budget refilled, is held back too: storing it now would put it before the refused one.
    tokio::time::sleep(Duration::from_millis(u64::from(wait) + 300)).await;
    ann.send(&send(conv, &ids[6])).await;
    assert!(answer(&mut ann, &ids[6]).await.is_err(), "held behind m5");

    // The documented rule: resend from the refused one, in order, waiting when told to.
    for id in &ids[5..] {
        loop {
            ann.send(&send(conv, id)).await;
            match answer(&mut ann, id).await {
                Ok(seq) => {
                    seqs.push(seq);
                    break;
                }
                Err(wait) => {
                    let wait = wait.expect("retry_after_ms");
                    tokio::time::sleep(Duration::from_millis(u64::from(wait))).await;
                }
            }
        }
    }
    let expected: Vec<Seq> = (2..=9).map(Seq).collect();
    assert_eq!(seqs, expected, "stored in the order sent");
}

#[tokio::test]
async fn every_budget_refusal_carries_retry_after_ms() {
    let server = TestServer::start_with(|c| c.marks_per_second = 1).await;
    let (cookie, _) = server.user("marker").await;
    let (mut ann, _) = server.device(&cookie, vec![]).await;
    let conv = room(&mut ann, "marks", false).await;
    let mut refusal = None;
    for _ in 0..5 {
        ann.send(&ClientFrame::Read { conv, seq: Seq(1) }).await;
    }
    ann.send(&ClientFrame::Ping { nonce: 3 }).await;
    for frame in ann
        .until(|f| matches!(f, ServerFrame::Pong { nonce: 3 }))
        .await
    {
        if let ServerFrame::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms,
            ..
        } = frame
        {
            refusal = Some(retry_after_ms);
        }
    }
    let wait = refusal
        .expect("a burst of 2 refuses the rest")
        .expect("retry_after_ms");
    assert!(wait > 0 && wait <= 1000, "{wait}");
}
