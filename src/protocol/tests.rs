//! Round trips of every frame, and generated text for the decoders (shared with the server's
//! socket tests as `protocol::tests::generated`).

use super::{codec::Tag, *};

/// Each frame encodes with a `type` tag from `types` and decodes back to itself.
fn assert_round_trips<F: PartialEq + std::fmt::Debug>(
    frames: impl IntoIterator<Item = F>,
    encode: fn(&F) -> String,
    decode: fn(&str) -> Result<F, DecodeError>,
    types: &[&str],
) {
    for frame in frames {
        let text = encode(&frame);
        let tag: Tag = serde_json::from_str(&text).unwrap();
        assert!(types.contains(&tag.kind.as_str()), "{text}");
        assert_eq!(decode(&text), Ok(frame));
    }
}

#[test]
fn client_frames_round_trip() {
    let frame = ClientFrame::Ping { nonce: 7 };
    let text = encode_client(&frame);
    assert_eq!(text, r#"{"type":"ping","nonce":7}"#);
    assert_eq!(decode_client(&text), Ok(frame));
    let frames = [
        ClientFrame::Resume {
            cursors: vec![Cursor {
                conv: ConvId(1),
                seq: Seq(5),
            }],
        },
        ClientFrame::Send {
            client_msg_id: ClientMsgId("abc".into()),
            conv: ConvId(1),
            body: "hello".into(),
            reply_to: None,
        },
        ClientFrame::OpenDirect { user: UserId(2) },
        ClientFrame::CreateRoom {
            name: "r".into(),
            public: true,
        },
        ClientFrame::ListRooms {
            query: None,
            after: None,
            limit: None,
        },
        ClientFrame::ListRooms {
            query: Some("gen".into()),
            after: Some(ConvId(9)),
            limit: Some(20),
        },
        ClientFrame::JoinRoom { conv: ConvId(1) },
        ClientFrame::Invite {
            conv: ConvId(1),
            user: UserId(2),
        },
        ClientFrame::Accept { conv: ConvId(1) },
        ClientFrame::Decline { conv: ConvId(1) },
        ClientFrame::Block { user: UserId(2) },
        ClientFrame::Unblock { user: UserId(2) },
        ClientFrame::Notify {
            conv: ConvId(4),
            level: NotifyLevel::All,
            muted: true,
        },
        ClientFrame::DoNotDisturb { on: true },
        ClientFrame::Leave { conv: ConvId(1) },
        ClientFrame::Remove {
            conv: ConvId(1),
            user: UserId(2),
        },
        ClientFrame::Members { conv: ConvId(1) },
        ClientFrame::RenameRoom {
            conv: ConvId(1),
            name: "new".into(),
        },
        ClientFrame::SetProfile {
            display_name: "Ann Lee".into(),
        },
        ClientFrame::History {
            conv: ConvId(1),
            before: Seq(10),
            limit: 20,
        },
        ClientFrame::Typing { conv: ConvId(1) },
        ClientFrame::Read {
            conv: ConvId(1),
            seq: Seq(3),
        },
    ];
    assert_round_trips(frames, encode_client, decode_client, ClientFrame::TYPES);
    // The new frames, as docs/PROTOCOL.md shows them: each decodes and encodes back to itself.
    for text in [
        r#"{"type":"send","client_msg_id":"c1a7","conv":3,"body":"yes, see you there","reply_to":42}"#,
        r#"{"type":"edit","client_msg_id":"c1a8","conv":3,"target":42,"body":"hello, world"}"#,
        r#"{"type":"delete","client_msg_id":"c1a9","conv":3,"target":42}"#,
        r#"{"type":"react","client_msg_id":"c1b0","conv":3,"target":42,"emoji":"👍"}"#,
        r#"{"type":"unreact","client_msg_id":"c1b1","conv":3,"target":42,"emoji":"👍"}"#,
    ] {
        let frame = decode_client(text).unwrap();
        assert_eq!(encode_client(&frame), text);
    }
}

#[test]
fn the_sender_cannot_be_chosen_by_the_client() {
    let forged = r#"{"type":"send","client_msg_id":"x","conv":1,"body":"hi","from":99}"#;
    assert_eq!(
        decode_client(forged).map_err(|e| e.code()),
        Err(ErrorCode::MalformedFrame)
    );
}

/// An event of conversation 4 by user 2 at `seq`.
fn event(seq: i64, body: EventBody) -> ServerFrame {
    ServerFrame::Event(Event {
        conv: ConvId(4),
        seq: Seq(seq),
        from: UserId(2),
        at: 1,
        body,
    })
}

#[test]
fn every_server_frame_round_trips() {
    let frames = [
        ServerFrame::Hello {
            protocol: PROTOCOL_VERSION,
            server_version: "0.1.0".into(),
            user: UserId(3),
            heartbeat_ms: 20_000,
            epoch: Epoch("1234567890abcdef".into()),
        },
        ServerFrame::Pong { nonce: 1 },
        ServerFrame::error(ErrorCode::FrameTooLarge, "too big"),
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            client_msg_id: Some(ClientMsgId("m1".into())),
            refused: Some(FrameType::Send),
            retry_after_ms: Some(20),
        },
        ServerFrame::Done { conv: ConvId(4) },
        ServerFrame::Ack {
            client_msg_id: ClientMsgId("m1".into()),
            conv: ConvId(4),
            seq: Seq(9),
        },
        ServerFrame::Event(Event {
            conv: ConvId(4),
            seq: Seq(9),
            from: UserId(2),
            at: 1_700_000_000_000,
            body: EventBody::Message {
                client_msg_id: ClientMsgId("m1".into()),
                body: "hi <b>".into(),
                reply_to: None,
            },
        }),
        ServerFrame::Event(Event {
            conv: ConvId(4),
            seq: Seq(10),
            from: UserId(2),
            at: 1,
            body: EventBody::Removed { user: UserId(3) },
        }),
        event(
            11,
            EventBody::Message {
                client_msg_id: ClientMsgId("m2".into()),
                body: "yes".into(),
                reply_to: Some(Seq(9)),
            },
        ),
        event(
            12,
            EventBody::Edited {
                target: Seq(9),
                body: "hi".into(),
            },
        ),
        event(
            13,
            EventBody::Reacted {
                target: Seq(9),
                emoji: "👍".into(),
            },
        ),
        event(
            14,
            EventBody::Unreacted {
                target: Seq(9),
                emoji: "👍".into(),
            },
        ),
        event(15, EventBody::Deleted { target: Seq(9) }),
        event(9, EventBody::Tombstone { target: None }),
        event(
            12,
            EventBody::Tombstone {
                target: Some(Seq(9)),
            },
        ),
        ServerFrame::Conversation(ConvSummary {
            id: ConvId(4),
            kind: ConvKind::Room,
            name: "general".into(),
            public: true,
            peer: Some(UserId(1)),
            last_seq: Seq(10),
            read_seq: Seq(3),
            epoch: Epoch("1234567890abcdef".into()),
            notify: NotifySettings {
                level: NotifyLevel::None,
                muted: true,
            },
            last_at: 1_700_000_000_000,
        }),
        ServerFrame::Synced {},
        ServerFrame::Profile {
            display_name: "Ann Lee".into(),
        },
        event(
            16,
            EventBody::Profile {
                display_name: "Ann Lee".into(),
            },
        ),
        ServerFrame::Gone { conv: ConvId(4) },
        ServerFrame::Rooms {
            rooms: vec![RoomListing {
                id: ConvId(4),
                name: "general".into(),
                members: 3,
            }],
            query: Some("gen".into()),
            after: Some(ConvId(9)),
            next: Some(ConvId(4)),
        },
        ServerFrame::Members {
            conv: ConvId(4),
            members: vec![Member {
                user: UserId(1),
                username: "a".into(),
                display_name: "A".into(),
                online: true,
            }],
            more: true,
        },
        ServerFrame::History {
            conv: ConvId(4),
            events: vec![],
            more: false,
        },
        ServerFrame::Presence {
            user: UserId(1),
            online: false,
        },
        ServerFrame::Typing {
            conv: ConvId(4),
            user: UserId(1),
        },
        ServerFrame::ReadState {
            conv: ConvId(4),
            seq: Seq(2),
        },
        ServerFrame::Reconnect {
            retry_after_ms: 500,
        },
        ServerFrame::Blocks {
            users: vec![UserId(2), UserId(5)],
        },
        ServerFrame::Notify {
            conv: ConvId(4),
            level: NotifyLevel::Mentions,
            muted: false,
        },
        ServerFrame::DoNotDisturb { on: true },
        ServerFrame::Invitation(Invitation {
            conv: ConvId(4),
            name: "general".into(),
            from: UserId(1),
            from_name: "ann".into(),
            at: 1_700_000_000_000,
        }),
        ServerFrame::Uninvited { conv: ConvId(4) },
    ];
    assert_round_trips(frames, encode_server, decode_server, ServerFrame::TYPES);
}

#[test]
fn unknown_type_is_told_apart_from_malformed() {
    assert_eq!(
        decode_client(r#"{"type":"teleport"}"#),
        Err(DecodeError::UnknownType("teleport".into()))
    );
    assert_eq!(
        decode_client(r#"{"type":"ping"}"#).map_err(|e| e.code()),
        Err(ErrorCode::MalformedFrame)
    );
    assert_eq!(
        decode_client("not json").map_err(|e| e.code()),
        Err(ErrorCode::MalformedFrame)
    );
    assert_eq!(
        decode_client(r#"{"type":"ping","nonce":1,"from":"admin"}"#).map_err(|e| e.code()),
        Err(ErrorCode::MalformedFrame)
    );
}

#[test]
fn error_code_names_match_the_wire() {
    for code in [
        ErrorCode::MalformedFrame,
        ErrorCode::UnknownFrameType,
        ErrorCode::FrameTooLarge,
        ErrorCode::BinaryNotSupported,
        ErrorCode::UnsupportedProtocol,
        ErrorCode::InvalidRequest,
        ErrorCode::NotFound,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::Blocked,
        ErrorCode::LimitReached,
        ErrorCode::NotResumed,
        ErrorCode::Unavailable,
    ] {
        assert_eq!(
            serde_json::to_string(&code).expect("plain enum"),
            format!("\"{}\"", code.as_str())
        );
    }
}

// proptest is a dev-dependency of the native build only.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod generated {
    use super::*;
    use proptest::prelude::*;

    /// Valid client frames of every kind, with arbitrary ids and text.
    pub(crate) fn client_frame() -> impl Strategy<Value = ClientFrame> {
        let id = any::<i64>();
        prop_oneof![
            any::<u64>().prop_map(|nonce| ClientFrame::Ping { nonce }),
            proptest::collection::vec((id, id), 0..4).prop_map(|c| ClientFrame::Resume {
                cursors: c
                    .into_iter()
                    .map(|(conv, seq)| Cursor {
                        conv: ConvId(conv),
                        seq: Seq(seq),
                    })
                    .collect(),
            }),
            (".{0,70}", id, ".{0,200}").prop_map(|(m, conv, body)| ClientFrame::Send {
                client_msg_id: ClientMsgId(m),
                conv: ConvId(conv),
                body,
                reply_to: None,
            }),
            id.prop_map(|u| ClientFrame::OpenDirect { user: UserId(u) }),
            (".{0,80}", any::<bool>())
                .prop_map(|(name, public)| ClientFrame::CreateRoom { name, public }),
            (
                proptest::option::of(".{0,80}"),
                proptest::option::of(id),
                proptest::option::of(any::<u32>())
            )
                .prop_map(|(query, after, limit)| ClientFrame::ListRooms {
                    query,
                    after: after.map(ConvId),
                    limit,
                }),
            (
                ".{0,80}",
                proptest::option::of(id),
                proptest::option::of("[a-z]{0,8}"),
                proptest::option::of(any::<i64>()),
                proptest::option::of((any::<i64>(), id, id)),
                proptest::option::of(any::<u32>())
            )
                .prop_map(|(text, conv, from, after, page, limit)| {
                    ClientFrame::Search {
                        text,
                        conv: conv.map(ConvId),
                        from,
                        after,
                        before: after.map(|a| a / 2),
                        page: page.map(|(at, c, s)| SearchCursor {
                            at,
                            conv: ConvId(c),
                            seq: Seq(s),
                        }),
                        limit,
                    }
                }),
            id.prop_map(|c| ClientFrame::JoinRoom { conv: ConvId(c) }),
            (id, id).prop_map(|(c, u)| ClientFrame::Invite {
                conv: ConvId(c),
                user: UserId(u),
            }),
            id.prop_map(|c| ClientFrame::Accept { conv: ConvId(c) }),
            id.prop_map(|c| ClientFrame::Decline { conv: ConvId(c) }),
            id.prop_map(|u| ClientFrame::Block { user: UserId(u) }),
            id.prop_map(|u| ClientFrame::Unblock { user: UserId(u) }),
            (id, 0..3u8, any::<bool>()).prop_map(|(c, l, muted)| ClientFrame::Notify {
                conv: ConvId(c),
                level: [NotifyLevel::All, NotifyLevel::Mentions, NotifyLevel::None][l as usize],
                muted,
            }),
            any::<bool>().prop_map(|on| ClientFrame::DoNotDisturb { on }),
            id.prop_map(|c| ClientFrame::Leave { conv: ConvId(c) }),
            (id, id).prop_map(|(c, u)| ClientFrame::Remove {
                conv: ConvId(c),
                user: UserId(u),
            }),
            (id, ".{0,80}").prop_map(|(c, name)| ClientFrame::RenameRoom {
                conv: ConvId(c),
                name,
            }),
            id.prop_map(|c| ClientFrame::Members { conv: ConvId(c) }),
            (id, id, any::<u32>()).prop_map(|(c, b, limit)| ClientFrame::History {
                conv: ConvId(c),
                before: Seq(b),
                limit,
            }),
            id.prop_map(|c| ClientFrame::Typing { conv: ConvId(c) }),
            (id, id).prop_map(|(c, s)| ClientFrame::Read {
                conv: ConvId(c),
                seq: Seq(s),
            }),
        ]
    }

    /// Text a client might send: valid frames, valid frames with bytes changed, cut or
    /// spliced, and arbitrary strings.
    pub(crate) fn client_text() -> impl Strategy<Value = String> {
        prop_oneof![
            client_frame().prop_map(|f| encode_client(&f)),
            (client_frame(), any::<prop::sample::Index>(), any::<char>()).prop_map(|(f, at, c)| {
                let mut chars: Vec<char> = encode_client(&f).chars().collect();
                let i = at.index(chars.len());
                chars[i] = c;
                chars.into_iter().collect()
            }),
            (client_frame(), any::<prop::sample::Index>()).prop_map(|(f, at)| {
                let text = encode_client(&f);
                let cut = at.index(text.len());
                text.char_indices()
                    .take_while(|(i, _)| *i < cut)
                    .map(|(_, c)| c)
                    .collect()
            }),
            (client_frame(), client_frame()).prop_map(|(a, b)| {
                let (a, b): (Vec<char>, Vec<char>) = (
                    encode_client(&a).chars().collect(),
                    encode_client(&b).chars().collect(),
                );
                a[..a.len() / 2].iter().chain(&b[b.len() / 2..]).collect()
            }),
            ".{0,300}",
            r#"\{"type":"[a-z_]{0,12}"(,"[a-z_]{1,10}":[0-9a-z"\[\]{}]{0,10}){0,4}\}"#,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn decoding_any_text_never_panics_and_valid_frames_round_trip(text in client_text()) {
            match decode_client(&text) {
                Ok(frame) => prop_assert_eq!(decode_client(&encode_client(&frame)), Ok(frame)),
                Err(err) => prop_assert!(matches!(
                    err.code(),
                    ErrorCode::MalformedFrame | ErrorCode::UnknownFrameType
                )),
            }
        }

        #[test]
        fn decoding_any_server_text_never_panics(text in ".{0,300}") {
            let _ = decode_server(&text);
        }
    }
}
