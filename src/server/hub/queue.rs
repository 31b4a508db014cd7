//! A connection's bounded outgoing queue: many senders (the hub, the committer, the connection's
//! own reader), one receiver (its writer).
//!
//! Why not `tokio::sync::mpsc`: its bounded channel allocates slots in blocks of 32 and keeps a
//! block once used, so every connection that ever received its `hello` held ≈2.3 KiB of slots
//! for the rest of its life — a fifth of an idle connection's memory. Here the items live in a
//! `VecDeque` that grows with what is queued and shrinks back once a burst has drained.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::sync::Notify;

/// Capacity kept when the queue is empty; anything larger is given back.
const IDLE_CAPACITY: usize = 4;

/// Why an item was not queued; it is handed back.
#[derive(Debug)]
pub enum TrySendError<T> {
    /// The queue holds `capacity` items.
    Full(T),
    /// The receiver is gone.
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
    /// The most items queued at once.
    capacity: usize,
}

#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Every critical section is one queue operation: a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A queue holding at most `capacity` items.
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receiver: true,
        }),
        readable: Notify::new(),
        writable: Notify::new(),
        capacity: capacity.max(1),
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

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or the receiver gone.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        {
            let mut state = self.shared.lock();
            if !state.receiver {
                return Err(TrySendError::Closed(item));
            }
            if state.items.len() >= self.shared.capacity {
                return Err(TrySendError::Full(item));
            }
            state.items.push_back(item);
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
                Err(TrySendError::Full(back)) => item = back,
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

impl<T> Receiver<T> {
    /// The next item; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            let arrived = self.shared.readable.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut state = self.shared.lock();
                if let Some(item) = state.items.pop_front() {
                    let was_full = state.items.len() + 1 >= self.shared.capacity;
                    if state.items.is_empty() && state.items.capacity() > IDLE_CAPACITY {
                        state.items.shrink_to(IDLE_CAPACITY);
                    }
                    drop(state);
                    if was_full {
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

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.shared.lock().items.is_empty()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.receiver = false;
        state.items.clear();
        drop(state);
        self.shared.writable.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_refuses_when_full_and_ends_with_the_last_sender() {
        let (tx, mut rx) = channel(2);
        let second = tx.clone();
        tx.try_send(1).unwrap();
        second.try_send(2).unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.recv().await, Some(1));
        tx.try_send(3).unwrap();
        drop(tx);
        drop(second);
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_sender_gets_room_or_learns_the_receiver_left() {
        let (tx, mut rx) = channel(1);
        tx.try_send(1).unwrap();
        let waiting = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(2).await })
        };
        tokio::task::yield_now().await;
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!(rx.recv().await, Some(2));

        tx.try_send(3).unwrap();
        let blocked = {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(4).await })
        };
        tokio::task::yield_now().await;
        drop(rx);
        assert_eq!(blocked.await.unwrap(), Err(4));
        assert!(matches!(tx.try_send(5), Err(TrySendError::Closed(5))));
    }

    #[tokio::test]
    async fn a_drained_queue_gives_its_memory_back() {
        let (tx, mut rx) = channel(1000);
        for i in 0..500 {
            tx.try_send(i).unwrap();
        }
        for _ in 0..500 {
            rx.recv().await;
        }
        assert!(rx.shared.lock().items.capacity() <= IDLE_CAPACITY);
    }
}
