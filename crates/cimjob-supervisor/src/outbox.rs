//! [`Outbox`]: the messages to the other end of a supervisor socket, written by the caller
//! itself when the socket takes them (the common case: no task to wake, no hop), else by a
//! task that waits until it is writable again; always in the order sent.
//!
//! Why not a writer task alone: a Suspend must reach the work at once even while the
//! machine is busy starting runs, and every task wake-up on the way can wait a scheduler
//! slice then.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::UnixStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The writing side of one connection; see the [module](self) docs.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    socket: UnixStream,
    pending: Mutex<Pending>,
    wake: Notify,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// No more messages; shut the socket's writing side once `bytes` are out.
    closing: bool,
    /// The socket failed (the peer went away): everything is dropped.
    failed: bool,
}

impl Inner {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes as much of `pending` as the socket takes now; whether all of it went.
    fn write_now(&self, pending: &mut Pending) -> bool {
        while !pending.bytes.is_empty() {
            match self.socket.try_write(&pending.bytes) {
                Ok(n) => drop(pending.bytes.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    pending.failed = true;
                    pending.bytes.clear();
                }
            }
        }
        true
    }
}

impl Outbox {
    /// An outbox over `socket`, and the task that writes what the socket did not take at
    /// once; it ends after [`Outbox::close`] once everything is out, or when the socket
    /// fails. Must be called inside a tokio runtime.
    pub fn new(socket: std::os::unix::net::UnixStream) -> io::Result<(Outbox, JoinHandle<()>)> {
        socket.set_nonblocking(true)?;
        let inner = Arc::new(Inner {
            socket: UnixStream::from_std(socket)?,
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
        });
        let task = tokio::spawn(flush(inner.clone()));
        Ok((Outbox { inner }, task))
    }

    /// Sends one message (after those sent before it); false once the socket has failed or
    /// the outbox is closed.
    pub fn send(&self, message: &[u8]) -> bool {
        let mut pending = self.inner.pending();
        if pending.failed || pending.closing {
            return false;
        }
        let idle = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(message);
        if !idle || !self.inner.write_now(&mut pending) {
            self.inner.wake.notify_one();
        }
        !pending.failed
    }

    /// Sends nothing more: what is pending still goes out, then the writing side is shut,
    /// which the other end reads as the end of the stream.
    pub fn close(&self) {
        self.inner.pending().closing = true;
        self.inner.wake.notify_one();
    }
}

/// What the flushing task does next.
enum Next {
    Wait,
    WaitWritable,
    Done,
}

async fn flush(inner: Arc<Inner>) {
    loop {
        let next = {
            let mut pending = inner.pending();
            let all_out = inner.write_now(&mut pending);
            if pending.failed {
                Next::Done
            } else if all_out && pending.closing {
                let fd = inner.socket.as_raw_fd();
                let _ = nix::sys::socket::shutdown(fd, nix::sys::socket::Shutdown::Write);
                Next::Done
            } else if all_out {
                Next::Wait
            } else {
                Next::WaitWritable
            }
        };
        match next {
            Next::Done => return,
            Next::Wait => inner.wake.notified().await,
            Next::WaitWritable => {
                if inner.socket.writable().await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    #[tokio::test]
    async fn messages_arrive_whole_and_in_order_even_past_the_socket_buffer() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let (outbox, task) = Outbox::new(ours).unwrap();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            theirs.read_to_end(&mut all).unwrap();
            all
        });
        let mut expected = Vec::new();
        for i in 0..2_000u32 {
            // a few MB in all: far more than a socket buffer holds
            let message = format!("{i:08} {}\n", "x".repeat(1_000));
            assert!(outbox.send(message.as_bytes()));
            expected.extend_from_slice(message.as_bytes());
        }
        outbox.close();
        task.await.unwrap();
        assert_eq!(reader.join().unwrap(), expected);
    }
}
