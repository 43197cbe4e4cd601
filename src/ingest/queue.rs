//! The queue between an RTMP connection and its channel's recorder, bounded in messages and in
//! bytes: a publisher far over any bitrate, or a recorder that falls behind, slows the publisher
//! through TCP instead of growing memory.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::message::LiveMessage;

/// The sending side (the connection).
#[derive(Debug)]
pub struct QueueSender {
    sender: mpsc::Sender<(LiveMessage, OwnedSemaphorePermit)>,
    bytes: Arc<Semaphore>,
    max_bytes: usize,
}

/// The receiving side (the recorder).
#[derive(Debug)]
pub struct QueueReceiver {
    receiver: mpsc::Receiver<(LiveMessage, OwnedSemaphorePermit)>,
}

/// A queue holding at most `max_messages` messages and `max_bytes` bytes of message bodies.
pub fn publish_queue(max_messages: usize, max_bytes: usize) -> (QueueSender, QueueReceiver) {
    let (sender, receiver) = mpsc::channel(max_messages.max(1));
    let max_bytes = max_bytes.clamp(1, Semaphore::MAX_PERMITS);
    (
        QueueSender {
            sender,
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_bytes,
        },
        QueueReceiver { receiver },
    )
}

impl QueueSender {
    /// Bytes of message bodies queued and not yet taken by the receiver.
    pub fn queued_bytes(&self) -> usize {
        self.max_bytes
            .saturating_sub(self.bytes.available_permits())
    }

    /// Queues `message`, waiting while the queue is full; `false` once the receiver is gone.
    pub async fn send(&self, message: LiveMessage) -> bool {
        // A message larger than the whole budget takes all of it.
        let wanted = message.size().clamp(1, self.max_bytes);
        let wanted = u32::try_from(wanted).unwrap_or(u32::MAX);
        let permit = tokio::select! {
            permit = Arc::clone(&self.bytes).acquire_many_owned(wanted) => match permit {
                Ok(permit) => permit,
                Err(_) => return false,
            },
            // The receiver may be gone while its unread messages still hold the budget.
            () = self.sender.closed() => return false,
        };
        self.sender.send((message, permit)).await.is_ok()
    }
}

impl QueueReceiver {
    /// The next message, blocking the thread; `None` once the sender is gone and the queue
    /// is empty. Call outside async code.
    pub fn blocking_recv(&mut self) -> Option<LiveMessage> {
        self.receiver
            .blocking_recv()
            .map(|(message, _bytes)| message)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;

    fn video(len: usize) -> LiveMessage {
        LiveMessage::Video {
            timestamp_ms: 0,
            body: Bytes::from(vec![0; len]),
        }
    }

    #[test]
    fn a_full_byte_budget_holds_the_sender_until_the_receiver_reads() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (sender, mut receiver) = publish_queue(100, 10);
        runtime.block_on(async {
            assert!(sender.send(video(8)).await);
            let blocked = tokio::time::timeout(Duration::from_millis(50), sender.send(video(8)));
            assert!(blocked.await.is_err(), "16 bytes do not fit in 10");
        });
        assert_eq!(receiver.blocking_recv().map(|m| m.size()), Some(8));
        runtime.block_on(async {
            assert!(sender.send(video(8)).await, "room again once read");
            assert!(sender.send(video(0)).await);
        });
        drop(sender);
        assert_eq!(receiver.blocking_recv().map(|m| m.size()), Some(8));
        assert_eq!(receiver.blocking_recv().map(|m| m.size()), Some(0));
        assert!(receiver.blocking_recv().is_none());
    }

    #[test]
    fn a_gone_receiver_releases_a_waiting_sender() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (sender, receiver) = publish_queue(100, 10);
        runtime.block_on(async {
            assert!(
                sender.send(video(100)).await,
                "an oversized message takes the budget"
            );
            drop(receiver);
            let sent = tokio::time::timeout(Duration::from_secs(5), sender.send(video(1)));
            assert_eq!(sent.await, Ok(false));
        });
    }
}
