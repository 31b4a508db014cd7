//! The kernel floor for room fan-out: what small frame writes and reads over loopback TCP cost,
//! with no application code at all.
//!
//! ```text
//! cargo build --release --features ssr --example loopback_floor
//! target/release/examples/loopback_floor [--conns 9000] [--secs 5] [--rate R] [--batch K] [--frame 160]
//! ```
//!
//! The server's room fan-out writes one ~160-byte WebSocket frame per recipient connection per
//! message, and at 50 messages/s per connection no two frames for one connection are pending at
//! once, so every delivery is one `write()`. The load generator then reads each frame. This
//! program does only that socket work: it opens `--conns` loopback TCP pairs (TCP_NODELAY on both
//! ends, all in this one process, so it needs 2N descriptors; the open-file soft limit is raised
//! to the hard one), then
//!
//! - a *writer* thread goes round-robin over the server-side sockets and writes one `--frame`-byte
//!   frame per socket per round, one `write()` each, for `--secs` seconds, as fast as it can or
//!   paced to `--rate` deliveries/s; with `--batch K` each `write()` carries K frames, to show what
//!   batching would buy if the traffic allowed it (it does not at 50 msg/s per connection);
//! - a *reader* thread drains the client-side sockets with a plain non-blocking round-robin loop
//!   (std only, no epoll: the crate forbids `unsafe` and has no `libc` dependency) into a 64 KiB
//!   buffer. The loop also makes `read()` calls that find nothing (EAGAIN); after the run it times
//!   such empty passes over the drained sockets and subtracts their cost, so the "net" reader
//!   figure is the cost of the reads that returned data.
//!
//! Each thread's CPU time (utime+stime) comes from `/proc/thread-self/stat`, in clock ticks of
//! 1/100 s. It prints deliveries, deliveries/s (wall), writes and deliveries per writer
//! CPU-second, frames per reader CPU-second (raw and net), and the CPU-seconds that 500 000
//! deliveries cost: `500k / (deliveries per writer CPU-s) + 500k / (frames per net reader CPU-s)`,
//! i.e. how many cores a 500k/s fan-out needs for the socket system calls alone, before JSON,
//! routing, WebSocket framing, storage, the async runtime or epoll. It is a floor, not an estimate:
//! real code only adds to it. The per-CPU-second figures are the robust ones on a shared machine.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Kernel clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// The delivery rate the claim is about.
const TARGET_DELIVERIES: f64 = 500_000.0;

/// The size of the reader's buffer.
const READ_BUFFER: usize = 64 * 1024;

/// How the command line was set.
#[derive(Debug, Clone)]
struct Options {
    /// Number of loopback connection pairs.
    conns: usize,
    /// How long the writer writes.
    secs: f64,
    /// Target deliveries per second; `None` writes as fast as possible.
    rate: Option<f64>,
    /// Frames per `write()` call.
    batch: usize,
    /// Bytes per frame.
    frame: usize,
}

/// The usage line printed on a bad argument.
const USAGE: &str = "usage: loopback_floor [--conns N (9000)] [--secs S (5)] [--rate DELIVERIES_PER_SEC] \
     [--batch K (1)] [--frame BYTES (160)]";

impl Options {
    /// Parses the arguments after the program name.
    fn from_args(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Self {
            conns: 9_000,
            secs: 5.0,
            rate: None,
            batch: 1,
            frame: 160,
        };
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = || format!("bad value for {flag}: {value}");
            match flag.as_str() {
                "--conns" => options.conns = value.parse().map_err(|_| bad())?,
                "--secs" => options.secs = value.parse().map_err(|_| bad())?,
                "--rate" => options.rate = Some(value.parse().map_err(|_| bad())?),
                "--batch" => options.batch = value.parse().map_err(|_| bad())?,
                "--frame" => options.frame = value.parse().map_err(|_| bad())?,
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if options.conns == 0 || options.batch == 0 || options.frame == 0 {
            return Err("--conns, --batch and --frame must be positive".into());
        }
        if options.secs.is_nan() || options.secs <= 0.0 {
            return Err("--secs must be positive".into());
        }
        if options
            .rate
            .is_some_and(|rate| rate.is_nan() || rate <= 0.0)
        {
            return Err("--rate must be positive".into());
        }
        Ok(options)
    }
}

/// The calling thread's CPU time so far (user + system), in clock ticks.
fn thread_cpu_ticks() -> io::Result<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
    // The command name (field 2) may contain spaces; the fields after its ')' start at field 3,
    // so utime (field 14) and stime (field 15) are the 12th and 13th of them.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("malformed /proc/thread-self/stat"))?;
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || -> io::Result<u64> {
        fields
            .next()
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| io::Error::other("malformed /proc/thread-self/stat"))
    };
    Ok(next()? + next()?)
}

/// Converts a tick count to seconds.
fn ticks_to_secs(ticks: u64) -> f64 {
    ticks as f64 / TICKS_PER_SECOND
}

/// Raises the open-file soft limit to the hard one (2N sockets live in this one process).
#[cfg(feature = "ssr")]
fn raise_fd_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => eprintln!("open-file limit: {limit}"),
        Err(err) => eprintln!("loopback_floor: could not raise the open-file limit: {err}"),
    }
}

/// Without the `ssr` feature there is no `rlimit`: the soft limit stays as the shell set it.
#[cfg(not(feature = "ssr"))]
fn raise_fd_limit() {
    eprintln!("loopback_floor: built without --features ssr, open-file limit left as it is");
}

/// Opens `n` connected loopback pairs, TCP_NODELAY and non-blocking on both ends.
/// Returns (server side, client side).
fn open_pairs(n: usize) -> io::Result<(Vec<TcpStream>, Vec<TcpStream>)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    let mut servers = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        // Connect then accept at once, so the accept backlog never fills.
        let client = TcpStream::connect(addr)?;
        let (server, _) = listener.accept()?;
        for stream in [&client, &server] {
            stream.set_nodelay(true)?;
            stream.set_nonblocking(true)?;
        }
        servers.push(server);
        clients.push(client);
    }
    Ok((servers, clients))
}

/// What the writer thread did.
#[derive(Debug, Default)]
struct WriterStats {
    /// `write()` calls that took the whole buffer.
    writes: u64,
    /// `write()` calls that took part of the buffer (socket buffer nearly full).
    partial_writes: u64,
    /// `write()` calls that returned EAGAIN (socket buffer full; nothing delivered).
    would_block: u64,
    /// Bytes the kernel accepted.
    bytes: u64,
    /// Writer CPU time over the run, in ticks.
    cpu_ticks: u64,
    /// Wall time over the run.
    wall: Duration,
}

/// Writes frames round-robin over `streams` for `options.secs`, paced to `options.rate` if set,
/// then publishes the byte total in `written` and sets `done`.
fn run_writer(
    streams: &mut [TcpStream],
    options: &Options,
    written: &AtomicU64,
    done: &AtomicBool,
) -> io::Result<WriterStats> {
    let buffer = vec![b'x'; options.frame * options.batch];
    let mut stats = WriterStats::default();
    let cpu_start = thread_cpu_ticks()?;
    let start = Instant::now();
    let duration = Duration::from_secs_f64(options.secs);
    let mut count: u64 = 0;
    'run: loop {
        for stream in streams.iter_mut() {
            count += 1;
            if let Some(rate) = options.rate {
                // Deliveries so far against what the rate allows by now.
                loop {
                    let elapsed = start.elapsed();
                    if elapsed >= duration {
                        break 'run;
                    }
                    let delivered = stats.bytes / options.frame as u64;
                    if (delivered as f64) < rate * elapsed.as_secs_f64() {
                        break;
                    }
                    thread::sleep(Duration::from_micros(100));
                }
            } else if count.is_multiple_of(64) && start.elapsed() >= duration {
                break 'run;
            }
            match stream.write(&buffer) {
                Ok(n) if n == buffer.len() => {
                    stats.writes += 1;
                    stats.bytes += n as u64;
                }
                Ok(n) => {
                    stats.partial_writes += 1;
                    stats.bytes += n as u64;
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => stats.would_block += 1,
                Err(err) => return Err(err),
            }
        }
    }
    stats.wall = start.elapsed();
    stats.cpu_ticks = thread_cpu_ticks()? - cpu_start;
    written.store(stats.bytes, Ordering::Release);
    done.store(true, Ordering::Release);
    Ok(stats)
}

/// What the reader thread did.
#[derive(Debug, Default)]
struct ReaderStats {
    /// `read()` calls that returned data.
    data_reads: u64,
    /// `read()` calls that returned EAGAIN.
    empty_reads: u64,
    /// Bytes read.
    bytes: u64,
    /// Reader CPU time from start until everything written was read, in ticks.
    cpu_ticks: u64,
    /// CPU seconds per empty `read()`, timed on the drained sockets after the run.
    empty_read_secs: f64,
}

/// Reads one socket until it has nothing more, counting calls into `stats`.
fn drain(stream: &mut TcpStream, buffer: &mut [u8], stats: &mut ReaderStats) -> io::Result<()> {
    loop {
        match stream.read(buffer) {
            Ok(0) => return Err(io::Error::new(ErrorKind::UnexpectedEof, "peer closed")),
            Ok(n) => {
                stats.data_reads += 1;
                stats.bytes += n as u64;
                if n < buffer.len() {
                    // A short read took everything queued; the next call would be EAGAIN.
                    return Ok(());
                }
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                stats.empty_reads += 1;
                return Ok(());
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

/// Drains `streams` round-robin until the writer is done and every byte it wrote has been read,
/// then times empty passes over the drained sockets to price an EAGAIN `read()`.
fn run_reader(
    streams: &mut [TcpStream],
    written: &AtomicU64,
    done: &AtomicBool,
) -> io::Result<ReaderStats> {
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut stats = ReaderStats::default();
    let cpu_start = thread_cpu_ticks()?;
    let mut done_at: Option<Instant> = None;
    loop {
        for stream in streams.iter_mut() {
            drain(stream, &mut buffer, &mut stats)?;
        }
        if done.load(Ordering::Acquire) {
            if stats.bytes >= written.load(Ordering::Acquire) {
                break;
            }
            let since = *done_at.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(10) {
                return Err(io::Error::other("reader never caught up with the writer"));
            }
        }
    }
    stats.cpu_ticks = thread_cpu_ticks()? - cpu_start;

    // Calibration: every socket is empty now, so each read() below is an EAGAIN.
    let mut empty = ReaderStats::default();
    let calibration_start = thread_cpu_ticks()?;
    let wall = Instant::now();
    while wall.elapsed() < Duration::from_secs(1) {
        for stream in streams.iter_mut() {
            drain(stream, &mut buffer, &mut empty)?;
        }
    }
    let calibration_ticks = thread_cpu_ticks()? - calibration_start;
    if empty.bytes != 0 {
        return Err(io::Error::other("data arrived during the calibration"));
    }
    stats.empty_read_secs = ticks_to_secs(calibration_ticks) / empty.empty_reads.max(1) as f64;
    Ok(stats)
}

/// Runs the benchmark and prints its figures.
fn run(options: &Options) -> io::Result<()> {
    raise_fd_limit();
    let setup = Instant::now();
    let (servers, clients) = open_pairs(options.conns)?;
    eprintln!(
        "{} loopback pairs open in {:.2} s",
        options.conns,
        setup.elapsed().as_secs_f64()
    );

    // The sockets stay owned here, so neither side closes before the other has finished.
    let (mut servers, mut clients) = (servers, clients);
    let written = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let (w, r) = thread::scope(|scope| -> io::Result<(WriterStats, ReaderStats)> {
        let reader = thread::Builder::new()
            .name("reader".into())
            .spawn_scoped(scope, || run_reader(&mut clients, &written, &done))?;
        let writer = thread::Builder::new()
            .name("writer".into())
            .spawn_scoped(scope, || run_writer(&mut servers, options, &written, &done))?;
        let joined = |name: &str| io::Error::other(format!("{name} thread panicked"));
        let w = writer.join().map_err(|_| joined("writer"))?;
        let r = reader.join().map_err(|_| joined("reader"))?;
        Ok((w?, r?))
    })?;

    let frame = options.frame as f64;
    let deliveries = w.bytes as f64 / frame;
    let frames_read = r.bytes as f64 / frame;
    let writer_cpu = ticks_to_secs(w.cpu_ticks);
    let reader_cpu = ticks_to_secs(r.cpu_ticks);
    let reader_net_cpu = (reader_cpu - r.empty_reads as f64 * r.empty_read_secs).max(0.01);
    let wall = w.wall.as_secs_f64();
    let writes_per_cpu = w.writes as f64 / writer_cpu.max(0.01);
    let deliveries_per_writer_cpu = deliveries / writer_cpu.max(0.01);
    let frames_per_reader_cpu = frames_read / reader_cpu.max(0.01);
    let frames_per_net_reader_cpu = frames_read / reader_net_cpu;
    let writer_share = TARGET_DELIVERIES / deliveries_per_writer_cpu;
    let reader_share = TARGET_DELIVERIES / frames_per_net_reader_cpu;

    println!(
        "conns {}  frame {} B  batch {}  rate {}  secs {}",
        options.conns,
        options.frame,
        options.batch,
        options
            .rate
            .map_or_else(|| "unpaced".to_owned(), |rate| format!("{rate:.0}/s")),
        options.secs
    );
    println!(
        "deliveries                    {deliveries:.0}  ({:.0}/s wall over {wall:.2} s)",
        deliveries / wall
    );
    println!(
        "writer                        {} writes, {} partial, {} EAGAIN; {writer_cpu:.2} CPU-s",
        w.writes, w.partial_writes, w.would_block
    );
    println!("writes per writer CPU-s       {writes_per_cpu:.0}");
    println!("deliveries per writer CPU-s   {deliveries_per_writer_cpu:.0}");
    println!(
        "reader                        {} data reads ({:.2} frames each), {} EAGAIN reads; {reader_cpu:.2} CPU-s",
        r.data_reads,
        frames_read / r.data_reads.max(1) as f64,
        r.empty_reads
    );
    println!(
        "EAGAIN read cost              {:.2} us (calibrated); net reader CPU {reader_net_cpu:.2} s",
        r.empty_read_secs * 1e6
    );
    println!(
        "frames per reader CPU-s       {frames_per_reader_cpu:.0} raw, {frames_per_net_reader_cpu:.0} net"
    );
    println!(
        "CPU-s per 500k deliveries     {:.2}  (writer {writer_share:.2} + reader net {reader_share:.2}; raw reader {:.2})",
        writer_share + reader_share,
        TARGET_DELIVERIES / frames_per_reader_cpu
    );
    if (frames_read - deliveries).abs() > 0.5 {
        println!("warning: read {frames_read:.0} frames but wrote {deliveries:.0}");
    }
    Ok(())
}

/// Parses the command line and runs the benchmark; exit code 2 on a bad argument.
fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("loopback_floor: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("loopback_floor: {err}");
            ExitCode::FAILURE
        }
    }
}
