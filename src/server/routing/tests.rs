//! Unit tests of the hub with a fake [`Peers`]: what is told to the other nodes and when, and
//! presence as the peers' answers make it.

use std::{collections::HashSet, sync::Mutex};

use super::{mailbox::testing::*, *};

/// Peers that remember what they were told and have `elsewhere` online.
#[derive(Default)]
struct Recorder {
    told: Mutex<Vec<String>>,
    elsewhere: HashSet<UserId>,
}

impl Peers for Recorder {
    fn tell(&self, change: Change<'_>) {
        let line = match change {
            Change::Presence { user, online } => format!("presence {user} {online}"),
            Change::Event { conv, seq, .. } => format!("event {conv}@{seq}"),
            Change::Created { conv, members } => format!("created {conv} {members:?}"),
            Change::ToUser { user, .. } => format!("to user {user}"),
            Change::Ephemeral { skip, .. } => format!("ephemeral skipping {skip}"),
            Change::Member(m) => format!("{:?} {} in {}", m.membership, m.user, m.conv),
        };
        self.told.lock().unwrap().push(line);
    }

    fn online_elsewhere(&self, user: UserId) -> bool {
        self.elsewhere.contains(&user)
    }
}

/// A hub over a throw-away SQLite store (kept alive by the returned directory).
async fn hub(peers: Arc<Recorder>) -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("t.db")).await.unwrap();
    (Hub::new(store, peers), dir)
}

fn told(peers: &Recorder) -> Vec<String> {
    std::mem::take(&mut *peers.told.lock().unwrap())
}

#[tokio::test]
async fn changes_made_here_are_told_to_the_peers_and_changes_heard_from_them_are_not() {
    let peers = Arc::new(Recorder::default());
    let (hub, _dir) = hub(Arc::clone(&peers)).await;
    let (ann, bob) = (UserId(1), UserId(2));
    let (mailbox, mut rx) = mailbox(1);
    hub.subscribe(hub.next_conn(), mailbox, vec![], None);
    let text = Utf8Bytes::from_static("m");
    for origin in [Origin::Local, Origin::Peer] {
        hub.conversation_created(ConvId(3), vec![ann, bob], origin);
        hub.publish(ConvId(3), Seq(1), &text, origin).await.unwrap();
        hub.to_user(ann, None, &text, origin);
        hub.ephemeral(&[ann], bob, &text, origin);
    }
    assert_eq!(
        told(&peers),
        [
            "presence 1 true",
            "created 3 [UserId(1), UserId(2)]",
            "event 3@1",
            "to user 1",
            "ephemeral skipping 2"
        ]
    );
    // Delivered here both times.
    let here = drain(&mut rx).await;
    assert_eq!(
        here.iter().filter(|l| l.starts_with("event 3@1")).count(),
        2
    );
    assert_eq!(here.iter().filter(|l| *l == "ephemeral m").count(), 2);
}

#[tokio::test]
async fn a_user_online_on_another_node_does_not_come_online_again() {
    let peers = Arc::new(Recorder {
        elsewhere: HashSet::from([UserId(2)]),
        ..Recorder::default()
    });
    let (hub, _dir) = hub(Arc::clone(&peers)).await;
    let (ann, _ann_rx) = mailbox(1);
    let (bob, _bob_rx) = mailbox(2);
    assert!(hub.subscribe(1, ann, vec![], None), "ann came online");
    assert!(
        !hub.subscribe(2, bob, vec![], None),
        "bob was online elsewhere"
    );
    let users = [UserId(1), UserId(2), UserId(3)];
    assert_eq!(hub.online_among(&users), [UserId(1), UserId(2)]);
    assert_eq!(hub.unsubscribe(1), Some(UserId(1)));
    assert_eq!(hub.unsubscribe(2), Some(UserId(2)));
    assert_eq!(hub.online_among(&users), [UserId(2)]);
    assert_eq!(
        told(&peers),
        [
            "presence 1 true",
            "presence 2 true",
            "presence 1 false",
            "presence 2 false"
        ]
    );
}

#[tokio::test]
async fn on_a_single_node_only_its_own_connections_make_a_user_online() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("t.db")).await.unwrap();
    let hub = Hub::alone(store);
    let (mailbox, _rx) = mailbox(1);
    assert!(hub.subscribe(1, mailbox, vec![], None));
    assert!(hub.is_online(UserId(1)) && !hub.is_online(UserId(2)));
    assert_eq!(hub.local_users(), [UserId(1)]);
}

#[test]
fn only_the_latest_flip_of_each_user_is_announced_in_first_seen_order() {
    let (ann, bob, cy) = (UserId(1), UserId(2), UserId(3));
    let flips = [
        (bob, true),
        (ann, true),
        (bob, false),
        (cy, true),
        (ann, false),
    ];
    assert_eq!(coalesce(flips), [(bob, false), (ann, false), (cy, true)]);
    assert_eq!(coalesce([]), []);
}

#[tokio::test]
async fn a_flip_is_announced_to_the_contacts_here_only_while_it_still_holds() {
    let peers = Arc::new(Recorder {
        elsewhere: HashSet::from([UserId(3)]),
        ..Recorder::default()
    });
    let (hub, _dir) = hub(peers).await;
    let (ann, mut ann_rx) = mailbox(1);
    let (bob, mut bob_rx) = mailbox(2);
    hub.subscribe(1, ann, vec![], None);
    hub.subscribe(2, bob, vec![], None);
    let contacts = [UserId(1), UserId(2)];
    // Cy is online elsewhere: "online" holds and is told; "offline" is stale and is not.
    hub.tell_contacts(UserId(3), true, &contacts);
    hub.tell_contacts(UserId(3), false, &contacts);
    // Bob is online here: an "offline" from the peers is stale; he is not told of himself.
    hub.tell_contacts(UserId(2), false, &contacts);
    hub.tell_contacts(UserId(2), true, &contacts);
    let cy_online = r#"ephemeral {"type":"presence","user":3,"online":true}"#;
    let bob_online = r#"ephemeral {"type":"presence","user":2,"online":true}"#;
    assert_eq!(
        drain(&mut ann_rx).await,
        ["resume 0", cy_online, bob_online]
    );
    assert_eq!(drain(&mut bob_rx).await, ["resume 0", cy_online]);
}
