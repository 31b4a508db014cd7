//! Graceful shutdown: one signal fanned out to every task, and a way to wait for them to finish.
//!
//! axum's own graceful shutdown stops the accept loop and waits for plain HTTP requests, but an
//! upgraded WebSocket is detached from its HTTP connection. Every socket task is therefore
//! registered here, hears the signal, says goodbye to its client, and the server waits for all of
//! them — up to the configured deadline — before the process exits. Background tasks (the group
//! committer, the cluster bus's tasks, the store's checkpoint and token-use flush) are started
//! here too, and end once they have finished what shutdown leaves them to do.

use std::time::Duration;

use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// A cloneable handle on the server-wide shutdown signal and the set of tasks it waits for.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    /// Cancelled once, when shutdown begins; every task selects on it.
    token: CancellationToken,
    /// The tasks still running (sockets, background tasks), so the server can wait for them.
    tasks: TaskTracker,
}

impl Shutdown {
    /// A fresh, untriggered signal with no tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Begins shutdown. Idempotent.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when shutdown begins.
    pub async fn triggered(&self) {
        self.token.cancelled().await;
    }

    /// Runs `task` on the runtime and counts it among the tasks shutdown waits for.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// Wraps `task` so that shutdown waits for it, for futures something else will poll.
    pub fn track<F: Future>(&self, task: F) -> tokio_util::task::task_tracker::TrackedFuture<F> {
        self.tasks.track_future(task)
    }

    /// How many tracked tasks are still running.
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// Waits up to `deadline` for every tracked task to finish; `true` if they all did.
    pub async fn drained(&self, deadline: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(deadline, self.tasks.wait())
            .await
            .is_ok()
    }
}

/// Completes on ctrl-c or, on Unix, SIGTERM — whichever comes first.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("ctrl-c received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drained_waits_for_tasks_that_hear_the_signal() {
        let shutdown = Shutdown::new();
        for _ in 0..3 {
            let s = shutdown.clone();
            shutdown.spawn(async move { s.triggered().await });
        }
        assert_eq!(shutdown.running(), 3);
        assert!(
            !shutdown.drained(Duration::from_millis(50)).await,
            "tasks must still be waiting"
        );
        shutdown.trigger();
        assert!(shutdown.drained(Duration::from_secs(5)).await);
        assert_eq!(shutdown.running(), 0);
    }
}
