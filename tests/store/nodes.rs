//! What only Postgres has to get right: several nodes (separate stores, separate pools)
//! writing the same conversations at once.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use switchboard::{
    protocol::{ConvId, EventBody, Seq, UserId},
    server::store::{Appended, NewMessage, Outcome, Store},
};
use tokio::sync::Barrier;

use crate::{
    common::{msg, seqs, user},
    pg::PgServer,
};

/// A public room of `owner`'s named `name`.
async fn public_room(store: &Store, owner: UserId, name: &str) -> ConvId {
    store.create_room(owner, name, true, 1).await.unwrap().conv
}

/// `user` joins `room`.
async fn join(store: &Store, room: ConvId, user: UserId) {
    let joined = store.add_member(room, user, user, EventBody::Joined {}, 1);
    joined.await.unwrap().unwrap();
}

/// `n` stores on one database: what `n` cluster nodes have.
pub async fn nodes(url: &str, n: usize) -> Vec<Store> {
    let mut stores = Vec::with_capacity(n);
    for _ in 0..n {
        stores.push(Store::open_postgres(url).await.unwrap());
    }
    stores
}

/// Many tasks on four nodes append to two rooms at once, in batches that mix both rooms in
/// either order, while membership changes land in the same rooms: every seq of each room is
/// used exactly once, with no gap, and each answer names the event that is stored at its seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_append_to_one_conversation_without_gaps() {
    const NODES: usize = 4;
    const TASKS_PER_NODE: usize = 6;
    const ROUNDS: usize = 15;

    let server = PgServer::start().await;
    let stores = nodes(&server.url, NODES).await;
    let owner = user(&stores[0], "Owner").await;
    let mut senders = Vec::new();
    for i in 0..NODES * TASKS_PER_NODE {
        senders.push(user(&stores[0], &format!("sender{i}")).await);
    }
    let drifter = user(&stores[0], "Drifter").await;
    let room_a = public_room(&stores[0], owner, "a").await;
    let room_b = public_room(&stores[0], owner, "b").await;
    for &sender in &senders {
        for room in [room_a, room_b] {
            join(&stores[0], room, sender).await;
        }
    }
    let before_a = stores[0].last_seq(room_a).await.unwrap().0;
    let before_b = stores[0].last_seq(room_b).await.unwrap().0;

    let start = Barrier::new(NODES * TASKS_PER_NODE + 1);
    let start = Arc::new(start);
    let mut tasks = Vec::new();
    for (t, &sender) in senders.iter().enumerate() {
        let store = stores[t % NODES].clone();
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut answers: Vec<(String, Appended)> = Vec::new();
            for round in 0..ROUNDS {
                let size = 1 + (t + round) % 5;
                let batch: Vec<NewMessage> = (0..size)
                    .map(|k| {
                        let room = if (t + round + k) % 2 == 0 {
                            room_a
                        } else {
                            room_b
                        };
                        let id = format!("{t}-{round}-{k}");
                        msg(room, sender, &id, &id)
                    })
                    .collect();
                let refs: Vec<&NewMessage> = batch.iter().collect();
                let out = store
                    .append_messages(&refs, 10 + round as i64)
                    .await
                    .unwrap();
                assert_eq!(out.len(), size);
                // Within a batch, one room's messages take ascending seqs in batch order.
                for room in [room_a, room_b] {
                    let in_room: Vec<i64> = out
                        .iter()
                        .filter(|a| a.conv == room)
                        .map(|a| a.seq.0)
                        .collect();
                    assert!(in_room.windows(2).all(|w| w[1] == w[0] + 1), "{in_room:?}");
                }
                for (m, a) in batch.into_iter().zip(out) {
                    assert_eq!(a.outcome, Outcome::Stored, "{a:?}");
                    assert_eq!(a.conv, m.conv);
                    answers.push((m.client_msg_id.0, a));
                }
            }
            answers
        }));
    }
    // Membership changes of one user, from yet another node, between the messages.
    let churn = {
        let store = stores[NODES - 1].clone();
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            let mut seqs = Vec::new();
            for _ in 0..10 {
                for room in [room_a, room_b] {
                    let joined = store
                        .add_member(room, drifter, drifter, EventBody::Joined {}, 20)
                        .await
                        .unwrap()
                        .unwrap();
                    let left = store
                        .remove_member(room, drifter, drifter, EventBody::Left {}, 21)
                        .await
                        .unwrap()
                        .unwrap();
                    seqs.push((room, joined.seq.0));
                    seqs.push((room, left.seq.0));
                }
            }
            seqs
        })
    };
    let began = Instant::now();
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    let churn = churn.await.unwrap();
    let took = began.elapsed();

    // Each answer's seq holds exactly that message.
    let mut claimed: BTreeMap<(ConvId, i64), String> = BTreeMap::new();
    for (id, a) in &answers {
        let previous = claimed.insert((a.conv, a.seq.0), id.clone());
        assert!(
            previous.is_none(),
            "seq {:?} handed out twice",
            (a.conv, a.seq)
        );
    }
    for &(room, seq) in &churn {
        let previous = claimed.insert((room, seq), "churn".into());
        assert!(previous.is_none(), "seq {:?} handed out twice", (room, seq));
    }
    for (room, before) in [(room_a, before_a), (room_b, before_b)] {
        let events = stores[1]
            .events_after(room, Seq(before), 100_000)
            .await
            .unwrap();
        let last = stores[2].last_seq(room).await.unwrap().0;
        assert_eq!(
            seqs(&events),
            (before + 1..=last).collect::<Vec<_>>(),
            "every seq after the setup used once, no gap"
        );
        let claimed_here: Vec<i64> = claimed
            .keys()
            .filter(|(c, _)| *c == room)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(
            claimed_here,
            seqs(&events),
            "every stored event was answered for"
        );
        for event in &events {
            let expected = &claimed[&(room, event.seq.0)];
            match &event.body {
                EventBody::Message { client_msg_id, .. } => {
                    assert_eq!(&client_msg_id.0, expected)
                }
                other => assert_eq!(expected, "churn", "{other:?}"),
            }
        }
    }
    let messages = answers.len();
    let total = messages + churn.len();
    eprintln!(
        "{NODES} nodes, {} tasks: {messages} messages and {} membership events in {took:?}; \
         room a seqs {}..={}, room b seqs {}..={}",
        NODES * TASKS_PER_NODE,
        churn.len(),
        before_a + 1,
        stores[0].last_seq(room_a).await.unwrap().0,
        before_b + 1,
        stores[0].last_seq(room_b).await.unwrap().0,
    );
    assert_eq!(claimed.len(), total);
}

/// The same send reaching two nodes at once is stored once, and both answer with its seq. Also
/// when the two copies name different conversations (then they do not queue on one row lock:
/// the loser hits the unique index and runs its transaction again).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_store_a_raced_retry_once() {
    let server = PgServer::start().await;
    let stores = nodes(&server.url, 2).await;
    let sender = user(&stores[0], "Racer").await;
    let other = user(&stores[0], "Other").await;
    let room = public_room(&stores[0], sender, "one").await;
    let elsewhere = public_room(&stores[0], sender, "two").await;
    for r in [room, elsewhere] {
        join(&stores[0], r, other).await;
    }

    const ROUNDS: usize = 30;
    for round in 0..ROUNDS {
        let id = format!("race-{round}");
        // Odd rounds: the second copy is misaddressed, so the two do not share a row lock.
        let second_conv = if round % 2 == 0 { room } else { elsewhere };
        let barrier = Arc::new(Barrier::new(2));
        let run = |store: Store, batch: Vec<NewMessage>, at: i64| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let refs: Vec<&NewMessage> = batch.iter().collect();
                store.append_messages(&refs, at).await.unwrap()
            })
        };
        let first = run(
            stores[0].clone(),
            vec![
                msg(room, sender, &id, "first copy"),
                msg(room, other, &format!("o-{round}"), "filler"),
            ],
            100,
        );
        let second = run(
            stores[1].clone(),
            vec![
                msg(elsewhere, other, &format!("p-{round}"), "filler"),
                msg(second_conv, sender, &id, "second copy"),
            ],
            200,
        );
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        let (a, b) = (first[0], second[1]);
        let count = |o: Outcome| [a.outcome, b.outcome].iter().filter(|&&x| x == o).count();
        assert_eq!(
            (count(Outcome::Stored), count(Outcome::Duplicate)),
            (1, 1),
            "round {round}: {a:?} {b:?}"
        );
        assert_eq!(
            (a.conv, a.seq, a.at),
            (b.conv, b.seq, b.at),
            "round {round}: both name the original"
        );
        assert_eq!(first[1].outcome, Outcome::Stored);
        assert_eq!(second[0].outcome, Outcome::Stored);
    }

    // Stored once each, wherever it went.
    let mut copies = BTreeMap::<String, usize>::new();
    for r in [room, elsewhere] {
        for event in stores[1].events_after(r, Seq(0), 10_000).await.unwrap() {
            if let EventBody::Message { client_msg_id, .. } = event.body
                && event.from == sender
            {
                *copies.entry(client_msg_id.0).or_default() += 1;
            }
        }
    }
    assert_eq!(copies.len(), ROUNDS);
    assert!(copies.values().all(|&n| n == 1), "{copies:?}");
}

/// Two nodes opening the same direct conversation at once get one conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_nodes_open_one_direct_conversation_per_pair() {
    let server = PgServer::start().await;
    let stores = nodes(&server.url, 2).await;
    let mut people = Vec::new();
    for i in 0..12 {
        people.push(user(&stores[0], &format!("p{i}")).await);
    }
    let pairs: Vec<(UserId, UserId)> = people
        .chunks(2)
        .map(|p| (p[0], p[1]))
        .chain(people.windows(2).skip(1).step_by(2).map(|p| (p[0], p[1])))
        .collect();
    for &(a, b) in &pairs {
        let barrier = Arc::new(Barrier::new(2));
        let open = |store: Store, x: UserId, y: UserId| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.open_direct(x, y, 7).await.unwrap()
            })
        };
        let one = open(stores[0].clone(), a, b);
        let two = open(stores[1].clone(), b, a);
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        assert_eq!(one.0, two.0, "one conversation for {a:?} and {b:?}");
        assert!(
            one.1 ^ two.1,
            "exactly one side created it: {one:?} {two:?}"
        );
        let mut members = stores[1].members(one.0).await.unwrap();
        members.sort();
        let mut expected = vec![a, b];
        expected.sort();
        assert_eq!(members, expected);
    }
    for &(a, b) in &pairs {
        let listed = stores[0].conversations(a, None).await.unwrap();
        assert_eq!(
            listed.iter().filter(|c| c.peer == Some(b)).count(),
            1,
            "{a:?} has one conversation with {b:?}"
        );
    }
}
