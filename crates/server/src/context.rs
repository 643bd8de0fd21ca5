//! One server thread per client GL context (GL contexts are thread-affine): it takes the
//! context's command stream — from its shared-memory ring, or handed over by the session
//! for clients without shared memory — decodes it, runs each command on the context's
//! executor, and sends the replies of synchronous commands back. It owns nothing of the
//! session's control plane; the session creates, attaches and stops it.
//!
//! A malformed stream, a corrupt ring or a dead peer ends the context and marks the
//! session's peer gone, so the session ends and frees everything it owned.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use transport::liveness::{Liveness, LIVENESS_TICK};
use transport::ring::{Consumer, Producer, Received, Waker};
use wire::CommandBuf;

use crate::error::ServerError;
use crate::exec::{Executor, ExecutorFactory, ShareGroup};
use crate::stats::SessionStats;

/// Jobs waiting for a context thread; a session that floods beyond this waits.
const JOB_QUEUE: usize = 8;

/// How long a reply may wait for room in the reply ring: a client that stops reading
/// its replies for this long is broken or hostile, and its session ends.
const REPLY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

enum Job {
    // Boxed: the ring ends are large, and most jobs are submits.
    Attach(Box<(Consumer, Producer)>),
    Submit { commands: Vec<u8>, done: SyncSender<Result<Vec<u8>, ServerError>> },
    SetSurface { surface: Option<Arc<crate::surface::Surface>>, done: SyncSender<Result<Vec<u8>, ServerError>> },
    CreateImage { target: u32, buffer: u32, attribs: Vec<(i32, i32)>, done: SyncSender<ImageResult> },
}

type ImageResult = Result<Arc<backend_gles::HostImage>, ServerError>;

/// A running context thread.
#[derive(Debug)]
pub struct ContextWorker {
    id: u64,
    /// Dropped at shutdown, so a thread asleep on its jobs wakes at once.
    jobs: Option<SyncSender<Job>>,
    pending: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    /// Wakes the thread while it sleeps on its command ring.
    waker: Arc<Mutex<Option<Waker>>>,
    thread: Option<JoinHandle<()>>,
    group: ShareGroup,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Attach(_) => f.write_str("Attach"),
            Job::Submit { commands, .. } => write!(f, "Submit({} bytes)", commands.len()),
            Job::SetSurface { .. } => f.write_str("SetSurface"),
            Job::CreateImage { .. } => f.write_str("CreateImage"),
        }
    }
}

impl ContextWorker {
    pub fn spawn(
        id: u64,
        exec: ExecutorFactory,
        share: Option<ShareGroup>,
        stats: Arc<SessionStats>,
        peer: Liveness,
    ) -> Result<Self, ServerError> {
        let (jobs, rx) = sync_channel(JOB_QUEUE);
        let pending = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (started, start_result) = sync_channel(1);
        let (worker_pending, worker_stop) = (pending.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("glwire-context-{id}"))
            .spawn(move || {
                // The executor is built here: a host GL context belongs to the thread
                // that made it current, so it cannot be built elsewhere and moved in.
                let exec = match exec(share) {
                    Ok(exec) => exec,
                    Err(e) => {
                        let _ = started.send(Err(e));
                        return;
                    }
                };
                let _ = started.send(Ok(exec.share_group()));
                let worker = Worker { id, exec, stats, peer, rx, pending: worker_pending, stop: worker_stop };
                worker.run()
            })
            .map_err(|source| ServerError::Io { what: "spawn context thread", source })?;
        // Creating a host context takes milliseconds; a thread that neither answers nor
        // runs (it cannot: the factory returns or the thread ends) is reported stopped.
        let group = match start_result.recv() {
            Ok(Ok(group)) => group,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(ServerError::ContextStopped(id));
            }
        };
        Ok(ContextWorker { id, jobs: Some(jobs), pending, stop, waker: Arc::default(), thread: Some(thread), group })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// The share group a context created to share with this one joins.
    pub fn share_group(&self) -> ShareGroup {
        self.group.clone()
    }

    /// Moves the context onto shared-memory rings.
    pub fn attach(&self, commands: Consumer, mut replies: Producer) -> Result<(), ServerError> {
        let waker = commands.waker();
        replies.set_limits(REPLY_PATIENCE, self.stop.clone());
        self.send(Job::Attach(Box::new((commands, replies))))?;
        if let Ok(mut w) = self.waker.lock() {
            *w = Some(waker);
        }
        Ok(())
    }

    /// Executes `commands` (whole encoded commands) and returns the replies of the
    /// synchronous ones: the path for clients without shared memory.
    pub fn submit(&self, commands: Vec<u8>) -> Result<Vec<u8>, ServerError> {
        let (done, result) = sync_channel(1);
        self.send(Job::Submit { commands, done })?;
        self.wait(result)
    }

    /// Makes `surface` the context's default framebuffer, after the commands queued
    /// before it ran.
    pub fn set_surface(&self, surface: Option<Arc<crate::surface::Surface>>) -> Result<(), ServerError> {
        let (done, result) = sync_channel(1);
        self.send(Job::SetSurface { surface, done })?;
        self.wait(result).map(drop)
    }

    /// An EGLImage of a GL object of this context, made on its thread (where the host
    /// context is current), after the commands queued before it ran.
    pub fn create_image(&self, target: u32, buffer: u32, attribs: Vec<(i32, i32)>) -> ImageResult {
        let (done, result) = sync_channel(1);
        self.send(Job::CreateImage { target, buffer, attribs, done })?;
        self.wait(result)
    }

    fn wait<T>(&self, result: Receiver<Result<T, ServerError>>) -> Result<T, ServerError> {
        // Bounded: the context thread answers, stops, or dies; never wait past that.
        loop {
            match result.recv_timeout(LIVENESS_TICK) {
                Ok(r) => return r,
                Err(RecvTimeoutError::Disconnected) => return Err(ServerError::ContextStopped(self.id)),
                Err(RecvTimeoutError::Timeout) if self.thread.as_ref().is_some_and(|t| t.is_finished()) => {
                    return Err(ServerError::ContextStopped(self.id))
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn send(&self, job: Job) -> Result<(), ServerError> {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.jobs.as_ref().is_none_or(|jobs| jobs.send(job).is_err()) {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(ServerError::ContextStopped(self.id));
        }
        self.wake();
        Ok(())
    }

    fn wake(&self) {
        if let Ok(w) = self.waker.lock() {
            if let Some(w) = w.as_ref() {
                w.wake();
            }
        }
    }

    /// Stops the thread and waits for it; everything it owned is released.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // A thread waiting for its first job (no rings yet) sees the channel close;
        // one on its rings is woken.
        self.jobs = None;
        self.wake();
        if let Some(t) = self.thread.take() {
            // The thread checks `stop` at least every liveness tick.
            let _ = t.join();
        }
    }
}

impl Drop for ContextWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct EndSessionOnPanic(Liveness);

impl Drop for EndSessionOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.mark_gone();
        }
    }
}

struct Worker {
    id: u64,
    exec: Box<dyn Executor>,
    stats: Arc<SessionStats>,
    peer: Liveness,
    rx: Receiver<Job>,
    pending: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self) {
        // A context thread that panics takes its session down with it, rather than
        // leaving a client waiting on a reply that will never come.
        let _guard = EndSessionOnPanic(self.peer.clone());
        let mut rings: Option<(Consumer, Producer)> = None;
        let mut input = CommandBuf::with_capacity(64 << 10);
        let mut replies = CommandBuf::new();
        while !self.stop.load(Ordering::SeqCst) {
            let result = match rings.as_mut() {
                Some((commands, out)) => self.serve_ring(commands, out, &mut input, &mut replies),
                None => self.wait_for_job(),
            };
            let outcome = result.and_then(|attached| {
                if let Some(r) = attached {
                    rings = Some(r);
                }
                self.take_jobs(&mut rings, &mut input, &mut replies)
            });
            if let Err(e) = outcome {
                if self.stop.load(Ordering::SeqCst) {
                    // Being stopped (the job channel closed on purpose): only this
                    // context ends.
                    break;
                }
                match e {
                    ServerError::ContextStopped(_) => {}
                    ServerError::Transport(transport::TransportError::PeerGone) => {
                        tracing::debug!(context = self.id, "peer gone")
                    }
                    e => tracing::warn!(context = self.id, "ending the session: {e}"),
                }
                // A broken stream or ring ends the whole session, not just this context.
                self.peer.mark_gone();
                break;
            }
        }
    }

    /// Sleeps until a job arrives (no rings yet). Returns rings to attach, if any.
    fn wait_for_job(&mut self) -> Result<Option<(Consumer, Producer)>, ServerError> {
        match self.rx.recv_timeout(LIVENESS_TICK) {
            Ok(job) => self.first_job(job),
            Err(RecvTimeoutError::Timeout) if self.peer.is_alive() => Ok(None),
            Err(RecvTimeoutError::Timeout) => Err(transport::TransportError::PeerGone.into()),
            Err(RecvTimeoutError::Disconnected) => Err(ServerError::ContextStopped(self.id)),
        }
    }

    fn first_job(&mut self, job: Job) -> Result<Option<(Consumer, Producer)>, ServerError> {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        match job {
            Job::Attach(rings) => Ok(Some(*rings)),
            Job::Submit { commands, done } => {
                let _ = done.send(self.run_submitted(&commands));
                Ok(None)
            }
            Job::SetSurface { surface, done } => {
                let _ = done.send(self.exec.set_surface(surface).map(|()| Vec::new()));
                Ok(None)
            }
            Job::CreateImage { target, buffer, attribs, done } => {
                let _ = done.send(self.exec.create_image(target, buffer, &attribs));
                Ok(None)
            }
        }
    }

    fn take_jobs(
        &mut self,
        rings: &mut Option<(Consumer, Producer)>,
        _input: &mut CommandBuf,
        _replies: &mut CommandBuf,
    ) -> Result<(), ServerError> {
        loop {
            match self.rx.try_recv() {
                Ok(job) => {
                    if let Some(r) = self.first_job(job)? {
                        *rings = Some(r);
                    }
                }
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => return Err(ServerError::ContextStopped(self.id)),
            }
        }
    }

    /// Receives one message from the ring, runs it, and sends its replies.
    fn serve_ring(
        &mut self,
        commands: &mut Consumer,
        out: &mut Producer,
        input: &mut CommandBuf,
        replies: &mut CommandBuf,
    ) -> Result<Option<(Consumer, Producer)>, ServerError> {
        let stop = &self.stop;
        let pending = &self.pending;
        let interrupted = || stop.load(Ordering::SeqCst) || pending.load(Ordering::SeqCst) > 0;
        if commands.recv(input, &interrupted)? == Received::Stopped {
            return Ok(None);
        }
        // The server's share of a round trip: from the whole message in hand to its
        // replies in the ring (the client's wait adds the doorbells and scheduling).
        let arrived = std::time::Instant::now();
        replies.clear();
        let ran = self.run_stream(input.as_bytes(), replies);
        // `input` may hold the first fragments of a message from an interrupted receive:
        // it is cleared only once a whole message has run.
        input.clear();
        ran?;
        if !replies.is_empty() {
            out.send(replies.as_bytes())?;
            self.stats.latency.observe(arrived.elapsed());
            SessionStats::add(&self.stats.round_trips, 1);
            SessionStats::add(&self.stats.bytes_out, replies.len() as u64);
        }
        Ok(None)
    }

    fn run_submitted(&mut self, commands: &[u8]) -> Result<Vec<u8>, ServerError> {
        // Up to the replies handed back to the session thread, which sends them.
        let arrived = std::time::Instant::now();
        // Copy into aligned memory: the decoder hands out typed slices.
        let mut input = CommandBuf::with_capacity(commands.len());
        input.extend_raw(commands);
        let mut replies = CommandBuf::new();
        self.run_stream(input.as_bytes(), &mut replies)?;
        if !replies.is_empty() {
            self.stats.latency.observe(arrived.elapsed());
            SessionStats::add(&self.stats.round_trips, 1);
            SessionStats::add(&self.stats.bytes_out, replies.len() as u64);
        }
        Ok(replies.as_bytes().to_vec())
    }

    /// Decodes and executes every command of `stream` (`Executor::run_stream`); a
    /// malformed one is an error.
    fn run_stream(&mut self, stream: &[u8], replies: &mut CommandBuf) -> Result<(), ServerError> {
        SessionStats::add(&self.stats.bytes_in, stream.len() as u64);
        let run = self.exec.run_stream(stream, replies)?;
        SessionStats::add(&self.stats.frames, run.frames);
        SessionStats::add(&self.stats.commands, run.commands);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::loopback;
    use transport::ring::{consumer, producer, RingRegion};
    use wire::commands::{decode_reply, Command, Finish, Flush, Reply};

    fn finish_and_flush() -> CommandBuf {
        let mut buf = CommandBuf::new();
        Command::Flush(Flush {}).encode(&mut buf).unwrap();
        Command::Finish(Finish {}).encode(&mut buf).unwrap();
        buf
    }

    #[test]
    fn submitted_streams_are_executed_and_answered() {
        let stats = Arc::new(SessionStats::default());
        let worker = ContextWorker::spawn(1, loopback(), None, stats.clone(), Liveness::new()).unwrap();
        let reply = worker.submit(finish_and_flush().as_bytes().to_vec()).unwrap();
        let mut aligned = CommandBuf::new();
        aligned.extend_raw(&reply);
        assert!(matches!(decode_reply(aligned.as_bytes()).unwrap().0, Reply::Finish(_)));
        assert_eq!(stats.snapshot().commands, 2);
        assert_eq!(stats.snapshot().round_trips, 1);
        worker.stop();
    }

    #[test]
    fn ring_streams_are_executed_and_answered() {
        let region = RingRegion::create(4096).unwrap();
        let peer = Liveness::new();
        let shm = region.shm.clone();
        // Client ends.
        let mut to_server = producer(shm.clone(), region.commands, peer.clone()).unwrap();
        let mut from_server = consumer(shm.clone(), region.replies, peer.clone()).unwrap();
        // Server ends.
        let stats = Arc::new(SessionStats::default());
        let worker = ContextWorker::spawn(2, loopback(), None, stats.clone(), peer.clone()).unwrap();
        let commands = consumer(shm.clone(), region.commands, peer.clone()).unwrap();
        let replies = producer(shm, region.replies, peer).unwrap();
        worker.attach(commands, replies).unwrap();
        for _ in 0..100 {
            to_server.send(finish_and_flush().as_bytes()).unwrap();
            let mut reply = CommandBuf::new();
            from_server.recv(&mut reply, &|| false).unwrap();
            assert!(matches!(decode_reply(reply.as_bytes()).unwrap().0, Reply::Finish(_)));
        }
        // The socket path still works once rings are attached.
        assert!(!worker.submit(finish_and_flush().as_bytes().to_vec()).unwrap().is_empty());
        assert_eq!(stats.snapshot().round_trips, 101);
        // Every round trip's time is in the histogram.
        assert_eq!(stats.latency.snapshot().count(), 101);
        worker.stop();
    }

    #[test]
    fn a_malformed_stream_ends_the_session() {
        let peer = Liveness::new();
        let worker = ContextWorker::spawn(3, loopback(), None, Arc::default(), peer.clone()).unwrap();
        let err = worker.submit(vec![0xff; 16]).unwrap_err();
        assert!(matches!(err, ServerError::Decode(_)), "{err}");
        // The error is the caller's to act on; the session's peer is marked by errors
        // on the ring path, where nobody else is told.
        worker.stop();
    }

    #[test]
    fn stopping_a_waiting_context_is_prompt() {
        let worker = ContextWorker::spawn(4, loopback(), None, Arc::default(), Liveness::new()).unwrap();
        let start = std::time::Instant::now();
        worker.stop();
        assert!(start.elapsed() < std::time::Duration::from_millis(200));
    }
}
