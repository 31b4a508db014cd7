//! A connection's bounded outgoing queue: many senders (the hub, the committer, the connection's
//! own reader), one receiver (its writer).
//!
//! Why not `tokio::sync::mpsc`: its bounded channel allocates slots in blocks of 32 and keeps a
//! block once used, so every connection that ever received its `hello` held ≈2.3 KiB of slots
//! for the rest of its life — a fifth of an idle connection's memory. Here the items live in a
//! `VecDeque` that grows with what is queued and shrinks back once a burst has drained.
//!
//! The bound is in bytes, not items ([`Budget`]): a frame count says nothing about memory (one
//! `history` answer can be a megabyte, one typing notice is 60 bytes). Each item is stamped when
//! queued, so a sender can tell a receiver that is merely behind from one that is stuck.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};

/// Capacity kept when the queue is empty; anything larger is given back.
const IDLE_CAPACITY: usize = 4;

/// What an item costs the queue's byte budget.
pub trait Cost {
    /// Bytes this item keeps alive while queued (shared bytes count in full, once per queue).
    fn cost(&self) -> usize;
}

/// How much a queue may hold before its receiver counts as unable to keep up.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// The most bytes queued at once. One item larger than this is still taken by an empty
    /// queue, so a single large answer never evicts a client that is keeping up.
    pub bytes: usize,
    /// The longest the oldest queued item may have waited when another arrives.
    pub wait: Duration,
}

/// Why an item was not queued; it is handed back.
#[derive(Debug)]
pub enum TrySendError<T> {
    /// Queuing it would pass the byte budget.
    Full(T),
    /// The oldest queued item has waited longer than the budget allows: the receiver is stuck.
    Stale(T),
    /// The receiver is gone (or closed the queue).
    Closed(T),
}

/// What the sides share.
#[derive(Debug)]
struct Shared<T> {
    /// The items and who is still there.
    state: Mutex<State<T>>,
    /// Wakes the receiver: an item arrived, or the last sender left.
    readable: Notify,
    /// Wakes waiting senders: room was made, or the receiver left.
    writable: Notify,
    /// The limits.
    budget: Budget,
}

#[derive(Debug)]
struct State<T> {
    /// Each item with the time it was queued.
    items: VecDeque<(Instant, T)>,
    /// The sum of the queued items' costs.
    bytes: usize,
    /// A sender was refused for lack of room since the receiver last made some.
    refused: bool,
    senders: usize,
    receiver: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Every critical section is one queue operation: a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A queue holding at most `budget.bytes` bytes, whose oldest item may wait `budget.wait`.
pub fn channel<T: Cost>(budget: Budget) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            bytes: 0,
            refused: false,
            senders: 1,
            receiver: true,
        }),
        readable: Notify::new(),
        writable: Notify::new(),
        budget,
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

/// The sending side; cloning adds a sender.
#[derive(Debug)]
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.lock();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.shared.readable.notify_one();
        }
    }
}

impl<T: Cost> Sender<T> {
    /// Queues `item` unless that would pass the budget or the receiver is gone.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let cost = item.cost();
        let now = Instant::now();
        {
            let mut state = self.shared.lock();
            if !state.receiver {
                return Err(TrySendError::Closed(item));
            }
            if let Some((queued, _)) = state.items.front()
                && now.saturating_duration_since(*queued) > self.shared.budget.wait
            {
                state.refused = true;
                return Err(TrySendError::Stale(item));
            }
            if !state.items.is_empty() && state.bytes + cost > self.shared.budget.bytes {
                state.refused = true;
                return Err(TrySendError::Full(item));
            }
            state.items.push_back((now, item));
            state.bytes += cost;
        }
        self.shared.readable.notify_one();
        Ok(())
    }

    /// Queues `item`, waiting for room; hands it back if the receiver is gone.
    pub async fn send(&self, mut item: T) -> Result<(), T> {
        loop {
            let room = self.shared.writable.notified();
            tokio::pin!(room);
            // Registered before looking, so a wake-up between the look and the wait is kept.
            room.as_mut().enable();
            match self.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(back)) => return Err(back),
                Err(TrySendError::Full(back) | TrySendError::Stale(back)) => item = back,
            }
            room.await;
        }
    }
}

/// The receiving side.
#[derive(Debug)]
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Cost> Receiver<T> {
    /// The next item; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            let arrived = self.shared.readable.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut state = self.shared.lock();
                if let Some((_, item)) = state.items.pop_front() {
                    state.bytes = state.bytes.saturating_sub(item.cost());
                    if state.items.is_empty() && state.items.capacity() > IDLE_CAPACITY {
                        state.items.shrink_to(IDLE_CAPACITY);
                    }
                    let refused = std::mem::take(&mut state.refused);
                    drop(state);
                    if refused {
                        self.shared.writable.notify_waiters();
                    }
                    return Some(item);
                }
                if state.senders == 0 {
                    return None;
                }
            }
            arrived.await;
        }
    }
}

impl<T> Receiver<T> {
    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }

    /// The bytes queued now.
    pub fn bytes(&self) -> usize {
        self.shared.lock().bytes
    }

    /// Refuses everything from now on and frees what is queued at once (an evicted connection
    /// gives its memory back before it says goodbye).
    pub fn close(&mut self) {
        let dropped = {
            let mut state = self.shared.lock();
            state.receiver = false;
            state.bytes = 0;
            std::mem::take(&mut state.items)
        };
        // Dropped outside the lock: the items may be large.
        drop(dropped);
        self.shared.writable.notify_waiters();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test item costing its own value in bytes.
    impl Cost for usize {
        fn cost(&self) -> usize {
            *self
        }
    }

    fn budget(bytes: usize) -> Budget {
        Budget {
            bytes,
            wait: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn delivers_in_order_refuses_past_the_byte_budget_and_ends_with_the_last_sender() {
        let (tx, mut rx) = channel(budget(10));
        let second = tx.clone();
        tx.try_send(4).unwrap();
        second.try_send(6).unwrap();
        assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
        assert_eq!(rx.bytes(), 10);
        assert_eq!(rx.recv().await, Some(4));
        tx.try_send(3).unwrap();
        drop(tx);
        drop(second);
        assert_eq!(rx.recv().await, Some(6));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn one_item_larger_than_the_budget_fits_an_empty_queue_only() {
        let (tx, mut rx) = channel(budget(10));
        tx.try_send(50).unwrap();
        assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
        assert_eq!(rx.recv().await, Some(50));
        tx.try_send(1).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_item_that_waited_too_long_makes_the_queue_stale() {
        let (tx, mut rx) = channel(Budget {
            bytes: 1000,
            wait: Duration::from_secs(2),
        });
        tx.try_send(1).unwrap();
        tokio::time::advance(Duration::from_millis(1500)).await;
        tx.try_send(2).unwrap();
        tokio::time::advance(Duration::from_millis(600)).await;
        assert!(matches!(tx.try_send(3), Err(TrySendError::Stale(3))));
        // The receiver taking the old item makes the queue fresh again.
        assert_eq!(rx.recv().await, Some(1));
        tx.try_send(3).unwrap();
    }

    #[tokio::test]
    async fn a_waiting_sender_gets_room_or_learns_the_receiver_left() {
        let (tx, mut rx) = channel(budget(1));
        tx.try_send(1).unwrap();
        let waiting = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(1).await })
        };
        tokio::task::yield_now().await;
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!(rx.recv().await, Some(1));

        tx.try_send(1).unwrap();
        let blocked = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(1).await })
        };
        tokio::task::yield_now().await;
        drop(rx);
        assert_eq!(blocked.await.unwrap(), Err(1));
        assert!(matches!(tx.try_send(5), Err(TrySendError::Closed(5))));
    }

    /// A roomy queue holding `n` items of `cost` bytes.
    fn filled(n: usize, cost: usize) -> (Sender<usize>, Receiver<usize>) {
        let (tx, rx) = channel(budget(1 << 20));
        for _ in 0..n {
            tx.try_send(cost).unwrap();
        }
        (tx, rx)
    }

    #[tokio::test]
    async fn closing_frees_what_is_queued_and_refuses_more() {
        let (tx, mut rx) = filled(100, 1000);
        rx.close();
        assert_eq!(rx.bytes(), 0);
        assert!(rx.shared.lock().items.capacity() == 0);
        assert!(matches!(tx.try_send(1), Err(TrySendError::Closed(1))));
    }

    #[tokio::test]
    async fn a_drained_queue_gives_its_memory_back() {
        let (_tx, mut rx) = filled(500, 1);
        for _ in 0..500 {
            rx.recv().await;
        }
        assert!(rx.shared.lock().items.capacity() <= IDLE_CAPACITY);
        assert_eq!(rx.bytes(), 0);
    }
}
