//! Consent against the real server: blocking (direct conversations and messages refused with
//! `blocked`, presence hidden both ways, the list on every device and after a reconnect) and
//! room invitations that wait for an answer (pending until accepted, declining leaves no
//! member, refused when the invitee blocks the inviter, withdrawn with the inviter).
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "harness/server.rs"]
mod harness;

use harness::{Device, TestServer, ask, next_frame, room};
use switchboard::protocol::{
    ClientFrame, ClientMsgId, ConvId, ErrorCode, EventBody, Invitation, ServerFrame, UserId,
};

/// Every frame up to and including the first matching one, presence included.
async fn raw_until(device: &mut Device, done: impl Fn(&ServerFrame) -> bool) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    loop {
        let frame = next_frame(&mut device.ws).await;
        let last = done(&frame);
        frames.push(frame);
        if last {
            return frames;
        }
    }
}

/// Invites `user` to `conv` from `device` with a `req`; returns the answer.
async fn invite(device: &mut Device, conv: ConvId, user: UserId, req: i64) -> ServerFrame {
    ask(device, &ClientFrame::Invite { conv, user }, req).await
}

/// The code of a refusal, or a panic naming what came instead.
fn code(frame: ServerFrame) -> ErrorCode {
    match frame {
        ServerFrame::Error { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn sees_presence(frames: &[ServerFrame], user: UserId, online: bool) -> bool {
    frames.iter().any(
        |f| matches!(f, ServerFrame::Presence { user: u, online: o } if *u == user && *o == online),
    )
}

#[tokio::test]
async fn a_blocked_user_cannot_open_or_write_a_direct_conversation_nor_see_presence() {
    let server = TestServer::start().await;
    let (ann, ann_id) = server.user("ann").await;
    let (ben, ben_id) = server.user("ben").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let (mut ann2, _) = server.device(&ann, vec![]).await;
    let (mut ben1, _) = server.device(&ben, vec![]).await;
    ben1.send(&ClientFrame::OpenDirect { user: ann_id }).await;
    let dm = ben1.conversation().await;
    assert_eq!(ann1.conversation().await, dm);
    ben1.post(dm, "b-1", "hi ann").await;

    // Ann blocks Ben: her answer and her other device carry the list; Ben sees her go offline.
    let answer = ask(&mut ann1, &ClientFrame::Block { user: ben_id }, 1).await;
    assert_eq!(
        answer,
        ServerFrame::Blocks {
            users: vec![ben_id]
        }
    );
    raw_until(&mut ann2, |f| {
        *f == ServerFrame::Blocks {
            users: vec![ben_id],
        }
    })
    .await;
    raw_until(
        &mut ben1,
        |f| matches!(f, ServerFrame::Presence { user, online: false } if *user == ann_id),
    )
    .await;
    // Blocking again changes nothing and still answers with the list.
    let again = ask(&mut ann1, &ClientFrame::Block { user: ben_id }, 2).await;
    assert_eq!(
        again,
        ServerFrame::Blocks {
            users: vec![ben_id]
        }
    );

    // Ben cannot send into the existing conversation, nor open one.
    let refused = ask(
        &mut ben1,
        &ClientFrame::Send {
            client_msg_id: ClientMsgId("b-2".into()),
            conv: dm,
            body: "are you there?".into(),
            reply_to: None,
        },
        3,
    )
    .await;
    match refused {
        ServerFrame::Error {
            code,
            client_msg_id,
            ..
        } => assert_eq!(
            (code, client_msg_id),
            (ErrorCode::Blocked, Some(ClientMsgId("b-2".into())))
        ),
        other => panic!("{other:?}"),
    }
    let opened = ask(&mut ben1, &ClientFrame::OpenDirect { user: ann_id }, 4).await;
    assert_eq!(code(opened), ErrorCode::Blocked);
    // Ann may still write to him: the block is hers.
    ann1.post(dm, "a-1", "I blocked you").await;

    // Ben sees Ann offline in the member list though she is connected.
    let members = ask(&mut ben1, &ClientFrame::Members { conv: dm }, 5).await;
    let ServerFrame::Members { members, .. } = members else {
        panic!("{members:?}")
    };
    assert!(
        members.iter().any(|m| m.user == ann_id && !m.online),
        "{members:?}"
    );

    // Reconnecting: Ann's new device gets the list before `synced`; Ben's new device is not
    // told she is online, and a new device of Ann's coming online is not told to Ben.
    let mut ann3 = server.greeted(&ann).await;
    ann3.send(&ClientFrame::Resume { cursors: vec![] }).await;
    let replay = raw_until(&mut ann3, |f| matches!(f, ServerFrame::Synced {})).await;
    assert!(
        replay.contains(&ServerFrame::Blocks {
            users: vec![ben_id]
        }),
        "{replay:?}"
    );
    assert!(!sees_presence(&replay, ben_id, true), "{replay:?}");
    let mut ben2 = server.greeted(&ben).await;
    ben2.send(&ClientFrame::Resume { cursors: vec![] }).await;
    let replay = raw_until(&mut ben2, |f| matches!(f, ServerFrame::Synced {})).await;
    assert!(!sees_presence(&replay, ann_id, true), "{replay:?}");
    assert!(
        !replay
            .iter()
            .any(|f| matches!(f, ServerFrame::Blocks { .. })),
        "Ben blocks nobody: {replay:?}"
    );

    // Ann goes fully offline and back: Ben hears nothing of it; a ping proves he is caught up.
    drop((ann1, ann2, ann3));
    let (mut ann4, _) = server.device(&ann, vec![]).await;
    // Her reader answers in order: past this pong, her coming online has been announced.
    ann4.send(&ClientFrame::Ping { nonce: 1 }).await;
    ann4.until(|f| matches!(f, ServerFrame::Pong { nonce: 1 }))
        .await;
    ben2.send(&ClientFrame::Ping { nonce: 77 }).await;
    let heard = raw_until(&mut ben2, |f| matches!(f, ServerFrame::Pong { nonce: 77 })).await;
    assert!(!sees_presence(&heard, ann_id, true), "{heard:?}");

    // Unblocked: the list empties everywhere, presence shows again, Ben writes again.
    let answer = ask(&mut ann4, &ClientFrame::Unblock { user: ben_id }, 6).await;
    assert_eq!(answer, ServerFrame::Blocks { users: vec![] });
    raw_until(
        &mut ben2,
        |f| matches!(f, ServerFrame::Presence { user, online: true } if *user == ann_id),
    )
    .await;
    ben2.post(dm, "b-3", "thanks").await;
}

#[tokio::test]
async fn blocking_yourself_or_nobody_is_refused() {
    let server = TestServer::start().await;
    let (ann, ann_id) = server.user("ann").await;
    let (mut ann1, _) = server.device(&ann, vec![]).await;
    let me = ask(&mut ann1, &ClientFrame::Block { user: ann_id }, 1).await;
    assert_eq!(code(me), ErrorCode::InvalidRequest);
    let nobody = ask(&mut ann1, &ClientFrame::Block { user: UserId(9999) }, 2).await;
    assert_eq!(code(nobody), ErrorCode::NotFound);
    let nobody = ask(&mut ann1, &ClientFrame::Unblock { user: UserId(9999) }, 3).await;
    assert_eq!(code(nobody), ErrorCode::NotFound);
}

#[tokio::test]
async fn an_invitation_waits_for_an_answer_and_declining_leaves_no_member() {
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (ben, ben_id) = server.user("ben").await;
    let (mut owner, _) = server.device(&ann, vec![]).await;
    let (mut ben1, _) = server.device(&ben, vec![]).await;
    let (mut ben2, _) = server.device(&ben, vec![]).await;
    let club = room(&mut owner, "club", false).await;

    // Pending: both of Ben's devices are told; he is no member and cannot read or post.
    let done = invite(&mut owner, club, ben_id, 1).await;
    assert_eq!(done, ServerFrame::Done { conv: club });
    for device in [&mut ben1, &mut ben2] {
        let told = device
            .until(|f| matches!(f, ServerFrame::Invitation(_)))
            .await;
        let Some(ServerFrame::Invitation(Invitation {
            conv,
            name,
            from_name,
            ..
        })) = told.last()
        else {
            unreachable!()
        };
        assert_eq!(
            (*conv, name.as_str(), from_name.as_str()),
            (club, "club", "ann")
        );
        assert!(
            !told
                .iter()
                .any(|f| matches!(f, ServerFrame::Conversation(_)))
        );
    }
    let members = ask(&mut owner, &ClientFrame::Members { conv: club }, 2).await;
    let ServerFrame::Members { members, .. } = members else {
        panic!("{members:?}")
    };
    assert_eq!(members.len(), 1, "an invitation is not a membership");
    let read = ask(&mut ben1, &ClientFrame::Members { conv: club }, 3).await;
    assert_eq!(code(read), ErrorCode::Forbidden);
    // Inviting again is no second invitation.
    let again = invite(&mut owner, club, ben_id, 4).await;
    assert_eq!(again, ServerFrame::Done { conv: club });

    // A reconnect lists it before `synced`.
    let (_, replay) = server.device(&ben, vec![]).await;
    assert!(
        replay
            .iter()
            .any(|f| matches!(f, ServerFrame::Invitation(i) if i.conv == club)),
        "{replay:?}"
    );

    // Declined: gone from both devices, nothing written to the room, still no member.
    let done = ask(&mut ben1, &ClientFrame::Decline { conv: club }, 5).await;
    assert_eq!(done, ServerFrame::Done { conv: club });
    ben2.until(|f| *f == ServerFrame::Uninvited { conv: club })
        .await;
    let history = ask(
        &mut owner,
        &ClientFrame::History {
            conv: club,
            before: switchboard::protocol::Seq(99),
            limit: 10,
        },
        6,
    )
    .await;
    let ServerFrame::History { events, .. } = history else {
        panic!("{history:?}")
    };
    assert_eq!(events.len(), 1, "only `created`: {events:?}");
    let accept = ask(&mut ben1, &ClientFrame::Accept { conv: club }, 7).await;
    assert_eq!(
        code(accept),
        ErrorCode::NotFound,
        "a declined invitation is spent"
    );

    // Invited again and accepted: a member, the join an event in the room's seq.
    invite(&mut owner, club, ben_id, 8).await;
    ben1.until(|f| matches!(f, ServerFrame::Invitation(_)))
        .await;
    ben1.send(&ClientFrame::Accept { conv: club }).await;
    assert_eq!(ben1.conversation().await, club);
    owner
        .until(|f| {
            matches!(f, ServerFrame::Event(e) if e.conv == club && e.body == EventBody::Invited { user: ben_id })
        })
        .await;
    ben2.until(|f| *f == ServerFrame::Uninvited { conv: club })
        .await;
    ben1.post(club, "in", "thanks for having me").await;
    // Nothing pending any more.
    let (_, replay) = server.device(&ben, vec![]).await;
    assert!(
        !replay
            .iter()
            .any(|f| matches!(f, ServerFrame::Invitation(_))),
        "{replay:?}"
    );
}

#[tokio::test]
async fn an_invitation_to_someone_who_blocks_you_is_refused_and_one_from_a_removed_member_vanishes()
{
    let server = TestServer::start().await;
    let (ann, _) = server.user("ann").await;
    let (ben, ben_id) = server.user("ben").await;
    let (cat, cat_id) = server.user("cat").await;
    let (mut owner, _) = server.device(&ann, vec![]).await;
    let (mut ben1, _) = server.device(&ben, vec![]).await;
    let (mut cat1, _) = server.device(&cat, vec![]).await;
    let hall = room(&mut owner, "hall", true).await;
    ben1.send(&ClientFrame::JoinRoom { conv: hall }).await;
    assert_eq!(ben1.conversation().await, hall);

    // Cat blocks Ben: Ben's invitation is refused, and an outsider cannot invite at all.
    ask(&mut cat1, &ClientFrame::Block { user: ben_id }, 1).await;
    let refused = invite(&mut ben1, hall, cat_id, 2).await;
    assert_eq!(code(refused), ErrorCode::Blocked);
    let outsider = invite(&mut cat1, hall, ben_id, 3).await;
    assert_eq!(code(outsider), ErrorCode::Forbidden);
    ask(&mut cat1, &ClientFrame::Unblock { user: ben_id }, 4).await;

    // Ben invites Cat; the owner removes Ben: the invitation is withdrawn.
    invite(&mut ben1, hall, cat_id, 5).await;
    cat1.until(|f| matches!(f, ServerFrame::Invitation(i) if i.conv == hall))
        .await;
    ask(
        &mut owner,
        &ClientFrame::Remove {
            conv: hall,
            user: ben_id,
        },
        6,
    )
    .await;
    cat1.until(|f| *f == ServerFrame::Uninvited { conv: hall })
        .await;
    let accept = ask(&mut cat1, &ClientFrame::Accept { conv: hall }, 7).await;
    assert_eq!(code(accept), ErrorCode::NotFound);

    // An invitation spent by joining otherwise: the owner invites, Cat joins the public room.
    invite(&mut owner, hall, cat_id, 8).await;
    cat1.until(|f| matches!(f, ServerFrame::Invitation(i) if i.conv == hall))
        .await;
    cat1.send(&ClientFrame::JoinRoom { conv: hall }).await;
    cat1.until(|f| *f == ServerFrame::Uninvited { conv: hall })
        .await;
    let (_, replay) = server.device(&cat, vec![]).await;
    assert!(
        !replay
            .iter()
            .any(|f| matches!(f, ServerFrame::Invitation(_))),
        "{replay:?}"
    );
}
