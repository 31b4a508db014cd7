//! Messages: the group commit (contiguous seqs per conversation in batch order, retries
//! answered with the original, non-members refused), reading events back both ways, and read
//! positions.

use switchboard::{
    protocol::{ClientMsgId, ConvId, ConvKind, EventBody, Seq},
    server::store::{Appended, NewMessage, Outcome, Store},
};

use crate::{
    common::{msg, seqs},
    conversations::{Convs, convs},
};

/// Over two conversations, with a retry inside the batch and a non-member.
fn first_batch(c: &Convs) -> [NewMessage; 6] {
    let Convs {
        ann,
        bob,
        cat,
        direct,
        lobby,
        ..
    } = *c;
    [
        msg(lobby, ann, "a-1", "hello lobby"),
        msg(direct, ann, "a-2", "hello bob"),
        msg(lobby, bob, "b-1", "hi ann"),
        msg(lobby, ann, "a-1", "hello lobby (retry)"),
        msg(lobby, cat, "c-1", "let me in"),
        msg(lobby, ann, "a-3", "anyone?"),
    ]
}

/// Retries of the first batch's messages (one naming another conversation), and a new one.
fn second_batch(c: &Convs) -> [NewMessage; 3] {
    let Convs {
        ann, bob, lobby, ..
    } = *c;
    [
        msg(lobby, ann, "a-1", "hello lobby (second retry)"),
        msg(lobby, ann, "a-2", "hello bob, misaddressed retry"),
        msg(lobby, bob, "b-2", "new"),
    ]
}

/// Only non-members.
fn third_batch(c: &Convs) -> [NewMessage; 2] {
    let Convs {
        cat, direct, lobby, ..
    } = *c;
    [msg(lobby, cat, "c-2", "x"), msg(direct, cat, "c-3", "y")]
}

/// Stores `batch` at `at`.
async fn append(store: &Store, batch: &[NewMessage], at: i64) -> Vec<Appended> {
    let refs: Vec<&NewMessage> = batch.iter().collect();
    store.append_messages(&refs, at).await.unwrap()
}

/// Stores the three batches at 3 000, 4 000 and 4 500 ms, as the tests below do.
pub async fn store_every_batch(store: &Store, c: &Convs) {
    append(store, &first_batch(c), 3_000).await;
    append(store, &second_batch(c), 4_000).await;
    append(store, &third_batch(c), 4_500).await;
}

/// Stored at `seq` of `conv` by the first batch (at 3 000 ms).
fn stored(conv: ConvId, seq: i64) -> Appended {
    Appended {
        conv,
        seq: Seq(seq),
        at: 3_000,
        outcome: Outcome::Stored,
    }
}

/// A batch over two conversations: each gets contiguous seqs in batch order; a retry inside
/// the batch answers with the first copy; a non-member stores nothing.
async fn a_batch_takes_contiguous_seqs_in_batch_order_and_answers_its_own_retries(store: &Store) {
    let c = convs(store).await;
    let Convs { direct, lobby, .. } = c;
    assert!(store.append_messages(&[], 3_000).await.unwrap().is_empty());
    let out = append(store, &first_batch(&c), 3_000).await;
    assert_eq!(
        out,
        vec![
            stored(lobby, 5),
            stored(direct, 1),
            stored(lobby, 6),
            Appended {
                outcome: Outcome::Duplicate,
                ..stored(lobby, 5)
            },
            Appended {
                conv: lobby,
                seq: Seq(0),
                at: 3_000,
                outcome: Outcome::NotMember
            },
            stored(lobby, 7),
        ]
    );
}

/// Retries in a later batch find the original (its conversation, seq and time), even when
/// the retry names another conversation.
async fn a_retry_in_a_later_batch_finds_the_original_wherever_it_is(store: &Store) {
    let c = convs(store).await;
    let Convs { direct, lobby, .. } = c;
    append(store, &first_batch(&c), 3_000).await;
    let out = append(store, &second_batch(&c), 4_000).await;
    assert_eq!(
        out,
        vec![
            Appended {
                outcome: Outcome::Duplicate,
                ..stored(lobby, 5)
            },
            Appended {
                outcome: Outcome::Duplicate,
                ..stored(direct, 1)
            },
            Appended {
                conv: lobby,
                seq: Seq(8),
                at: 4_000,
                outcome: Outcome::Stored
            },
        ]
    );
}

/// Only non-members: nothing stored, no seq used; what is stored is the first copy of each.
async fn non_members_store_nothing_and_the_first_copy_is_kept(store: &Store) {
    let c = convs(store).await;
    let Convs {
        ann,
        bob,
        direct,
        lobby,
        ..
    } = c;
    append(store, &first_batch(&c), 3_000).await;
    append(store, &second_batch(&c), 4_000).await;
    let out = append(store, &third_batch(&c), 4_500).await;
    assert!(
        out.iter().all(|a| a.outcome == Outcome::NotMember),
        "{out:?}"
    );
    assert_eq!(store.last_seq(lobby).await.unwrap(), Seq(8));
    assert_eq!(store.last_seq(direct).await.unwrap(), Seq(1));

    let history = store.events_after(lobby, Seq(4), 100).await.unwrap();
    assert_eq!(seqs(&history), vec![5, 6, 7, 8]);
    assert_eq!(
        history[0].body,
        EventBody::Message {
            client_msg_id: ClientMsgId("a-1".into()),
            body: "hello lobby".into(),
            reply_to: None,
        },
        "the first copy is the one kept"
    );
    assert_eq!((history[0].from, history[0].at), (ann, 3_000));
    assert_eq!((history[3].from, history[3].at), (bob, 4_000));
    let direct_history = store.events_after(direct, Seq(0), 100).await.unwrap();
    assert_eq!(direct_history.len(), 1);
    assert_eq!(
        direct_history[0].body,
        EventBody::Message {
            client_msg_id: ClientMsgId("a-2".into()),
            body: "hello bob".into(),
            reply_to: None,
        }
    );
}

/// Paging, both ways, always ascending.
async fn events_page_both_ways_in_ascending_order(store: &Store) {
    let c = convs(store).await;
    store_every_batch(store, &c).await;
    let lobby = c.lobby;
    assert_eq!(
        seqs(&store.events_after(lobby, Seq(2), 2).await.unwrap()),
        vec![3, 4]
    );
    assert_eq!(
        seqs(&store.events_before(lobby, Seq(6), 3).await.unwrap()),
        vec![3, 4, 5]
    );
    assert_eq!(
        seqs(&store.events_before(lobby, Seq(3), 10).await.unwrap()),
        vec![1, 2]
    );
    assert!(
        store
            .events_before(lobby, Seq(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_after(lobby, Seq(8), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .events_after(ConvId(987_654), Seq(0), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Read positions only move forward, and show in the conversation summaries.
async fn read_positions_only_move_forward_and_show_in_the_summaries(store: &Store) {
    let c = convs(store).await;
    store_every_batch(store, &c).await;
    let Convs {
        ann,
        bob,
        cat,
        direct,
        lobby,
        ..
    } = c;
    assert_eq!(store.set_read(ann, lobby, Seq(6)).await.unwrap(), Seq(6));
    assert_eq!(store.set_read(ann, lobby, Seq(3)).await.unwrap(), Seq(6));
    assert_eq!(store.set_read(ann, lobby, Seq(8)).await.unwrap(), Seq(8));
    assert_eq!(store.set_read(bob, lobby, Seq(2)).await.unwrap(), Seq(2));
    let mine = store.conversations(ann, None).await.unwrap();
    let ids: Vec<ConvId> = mine.iter().map(|c| c.id).collect();
    let mut expected = vec![direct, lobby];
    expected.sort();
    assert_eq!(ids, expected, "ann's conversations, by id");
    let lobby_summary = mine.iter().find(|c| c.id == lobby).unwrap();
    assert_eq!(lobby_summary.kind, ConvKind::Room);
    assert_eq!(lobby_summary.name, "lobby");
    assert!(lobby_summary.public);
    assert_eq!(lobby_summary.peer, Some(ann), "a room's peer is its owner");
    assert_eq!(
        (lobby_summary.last_seq, lobby_summary.read_seq),
        (Seq(8), Seq(8))
    );
    let direct_summary = mine.iter().find(|c| c.id == direct).unwrap();
    assert_eq!(
        (direct_summary.last_seq, direct_summary.read_seq),
        (Seq(1), Seq(0))
    );
    // The time of each conversation's newest event, for sorting by activity (non-members'
    // refused batch at 4 500 ms left none).
    assert_eq!(
        (lobby_summary.last_at, direct_summary.last_at),
        (4_000, 3_000)
    );
    assert_eq!(
        store.conversations(bob, Some(lobby)).await.unwrap()[0].read_seq,
        Seq(2)
    );
    assert!(store.conversations(cat, None).await.unwrap().is_empty());

    assert_eq!(store.last_seq(ConvId(987_654)).await.unwrap(), Seq(0));
}

on_both!(
    a_batch_takes_contiguous_seqs_in_batch_order_and_answers_its_own_retries,
    a_retry_in_a_later_batch_finds_the_original_wherever_it_is,
    non_members_store_nothing_and_the_first_copy_is_kept,
    events_page_both_ways_in_ascending_order,
    read_positions_only_move_forward_and_show_in_the_summaries,
);
