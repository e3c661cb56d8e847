//! Parallel gzip compression in the style of `pigz`.
//!
//! [`ParGzEncoder`] wraps a writer and compresses everything written to it
//! into **one** standard gzip member (RFC 1952), using a small pool of worker
//! threads.
//!
//! # Inputs and outputs
//!
//! * Input: arbitrary bytes passed through [`Write`], in any number of calls of
//!   any size.
//! * Output, written to the inner writer: a 10-byte gzip header, one raw
//!   deflate stream, and the 8-byte trailer (CRC-32 and length modulo 2³² of
//!   the uncompressed data, both little endian). The trailer is written by
//!   [`ParGzEncoder::finish`], which also returns the inner writer.
//!
//! The header is fixed: no flags (in particular no file name), mtime 0,
//! `XFL` as gzip sets it (4 for level 1, 2 for level 9, 0 otherwise) and OS
//! byte 255 ("unknown"), so that the output does not depend on the platform.
//!
//! # How it works
//!
//! The input is cut into blocks of exactly [`BLOCK_SIZE`] bytes (the last one
//! may be shorter, possibly empty). Each block is compressed as raw deflate by
//! a worker, primed with the last 32 KiB of the previous block as preset
//! dictionary, so compression ratio is close to a single-threaded deflate. A
//! block is terminated with a sync flush (an empty stored block, which leaves
//! the stream byte aligned) except the last block, which is finished and
//! carries the final-block bit. Concatenating the blocks in order therefore
//! yields one valid deflate stream. Per-block CRC-32 values are combined in
//! order.
//!
//! # Invariants
//!
//! * **Single member**: the output decodes with single-member decoders
//!   (`gzip -d`, `flate2::read::GzDecoder`, Python's `gzip`, `tar xzf`).
//! * **Deterministic**: block boundaries depend only on the byte offset in the
//!   input, never on the sizes of `write` calls, on `flush` calls or on the
//!   number of threads; each block's compression depends only on its own
//!   bytes, the previous block's bytes and the level (each block gets a fresh
//!   deflate state). The same input and level always produce the same output
//!   bytes with a given flate2/zlib-rs version.
//! * **Bounded memory**: at most `2 × threads` blocks (at least 4) are in
//!   flight at any time, plus the block being filled and the previous one,
//!   whatever the input size.
//!
//! # Errors and dropping
//!
//! An error of the inner writer, of the deflate engine or a panicking worker
//! surfaces as an [`io::Error`] from `write`, `flush` or `finish`; afterwards
//! the encoder is unusable and every further call fails. Dropping the encoder
//! without calling `finish` discards buffered data (the output is then an
//! incomplete gzip stream); it waits only for the blocks already being
//! compressed and never panics.
//!
//! # Ratio
//!
//! Blocks are compressed by zlib-rs (pure Rust) through its zlib API. Its levels 6–8 hash 4
//! bytes and so miss 3-byte matches: on machine code they produce output about 2–3% larger
//! than zlib's `gzip -6`/`pigz -6`. Level 6 here therefore uses tuned match-finder settings
//! ([`TUNED_LEVEL_6`]): within about 1% of `gzip -6`'s size at a little over half of its CPU
//! time. Other levels are zlib-rs's own.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

use flate2::Compression;

/// Size of the uncompressed blocks handed to workers (the last block may be
/// shorter). Fixed, so that output does not depend on how input is written.
pub const BLOCK_SIZE: usize = 128 * 1024;

/// Deflate window size: how much of the previous block primes the next one.
const WINDOW: usize = 32 * 1024;

/// OS byte of the gzip header: 255 = unknown (platform independent).
const OS_UNKNOWN: u8 = 255;

/// Result of compressing one block, sent back to the encoder.
struct Compressed {
    deflate: Vec<u8>,
    crc: crc32fast::Hasher,
}

type BlockResult = io::Result<Compressed>;

/// One block of work for a worker.
struct Job {
    data: Arc<Vec<u8>>,
    /// The previous block, whose tail is the preset dictionary.
    dict: Option<Arc<Vec<u8>>>,
    last: bool,
    reply: SyncSender<BlockResult>,
    #[cfg(test)]
    panic: bool,
}

/// A parallel gzip encoder producing a single, deterministic gzip member.
///
/// See the [module documentation](self) for the format and guarantees.
pub struct ParGzEncoder<W: Write> {
    /// `None` only after `finish` has taken it.
    inner: Option<W>,
    /// Job queue shared by the workers; `None` once closed.
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    /// Replies of dispatched blocks, in input order.
    pending: VecDeque<Receiver<BlockResult>>,
    max_in_flight: usize,
    /// The block being filled.
    buf: Vec<u8>,
    /// The last dispatched block (dictionary for the next one).
    prev: Option<Arc<Vec<u8>>>,
    crc: crc32fast::Hasher,
    header: [u8; 10],
    header_written: bool,
    /// Set after any error; the encoder then refuses further work.
    failed: bool,
    #[cfg(test)]
    panic_at_block: Option<u64>,
    #[cfg(test)]
    blocks_sent: u64,
}

impl<W: Write> ParGzEncoder<W> {
    /// Creates an encoder writing to `inner` at deflate `level` (0–9; larger
    /// values are treated as 9) with `threads` worker threads (0 means
    /// [`std::thread::available_parallelism`]).
    ///
    /// Nothing is written to `inner` until the first block is complete or
    /// [`finish`](Self::finish) is called.
    ///
    /// # Panics
    ///
    /// Panics if a worker thread cannot be spawned (as `std::thread::spawn`).
    pub fn new(inner: W, level: u32, threads: usize) -> Self {
        let level = level.min(9);
        let threads = match threads {
            0 => thread::available_parallelism().map_or(1, NonZeroUsize::get),
            n => n,
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..threads)
            .map(|i| {
                let queue = Arc::clone(&queue);
                thread::Builder::new()
                    .name(format!("pgzip-{i}"))
                    .spawn(move || worker(&queue, Compression::new(level)))
                    .expect("failed to spawn pgzip worker thread")
            })
            .collect();
        Self {
            inner: Some(inner),
            jobs: Some(jobs),
            workers,
            pending: VecDeque::new(),
            max_in_flight: (2 * threads).max(4),
            buf: Vec::with_capacity(BLOCK_SIZE),
            prev: None,
            crc: crc32fast::Hasher::new(),
            header: header(level),
            header_written: false,
            failed: false,
            #[cfg(test)]
            panic_at_block: None,
            #[cfg(test)]
            blocks_sent: 0,
        }
    }

    /// Compresses the remaining input, writes the last block and the trailer
    /// (CRC-32 and ISIZE), flushes and returns the inner writer.
    ///
    /// # Errors
    ///
    /// Fails if the inner writer fails, if deflate fails, if a worker thread
    /// panicked, or if the encoder already failed earlier.
    pub fn finish(mut self) -> io::Result<W> {
        self.check()?;
        let result = self.finish_inner();
        self.track(result)?;
        self.shutdown();
        self.inner.take().ok_or_else(|| io::Error::other("pgzip inner writer already taken"))
    }

    fn finish_inner(&mut self) -> io::Result<()> {
        self.dispatch(true)?;
        while !self.pending.is_empty() {
            self.write_front()?;
        }
        let inner = self.inner.as_mut().expect("inner writer present");
        let crc = std::mem::take(&mut self.crc);
        // ISIZE is the input length modulo 2^32: truncation is intended.
        #[allow(clippy::cast_possible_truncation)]
        let isize = crc.total_len() as u32;
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        trailer[4..].copy_from_slice(&isize.to_le_bytes());
        inner.write_all(&trailer)?;
        inner.flush()
    }

    fn check(&self) -> io::Result<()> {
        if self.failed {
            Err(io::Error::other("pgzip encoder is unusable after an earlier error"))
        } else {
            Ok(())
        }
    }

    /// Sends the current block to the workers, first writing out finished
    /// blocks so that at most `max_in_flight` are pending.
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        self.write_ready()?;
        while self.pending.len() >= self.max_in_flight {
            self.write_front()?;
        }
        let data =
            Arc::new(std::mem::replace(&mut self.buf, if last { Vec::new() } else { Vec::with_capacity(BLOCK_SIZE) }));
        let (reply, result) = mpsc::sync_channel(1);
        let job = Job {
            data: Arc::clone(&data),
            dict: self.prev.replace(data),
            last,
            reply,
            #[cfg(test)]
            panic: self.panic_at_block == Some(self.blocks_sent),
        };
        #[cfg(test)]
        {
            self.blocks_sent += 1;
        }
        self.jobs.as_ref().expect("job queue open until shutdown").send(job).map_err(|_| worker_lost())?;
        self.pending.push_back(result);
        Ok(())
    }

    /// Writes out the blocks at the front of the queue that are already done.
    fn write_ready(&mut self) -> io::Result<()> {
        while let Some(front) = self.pending.front() {
            match front.try_recv() {
                Ok(result) => {
                    self.pending.pop_front();
                    self.emit(result)?;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(worker_lost()),
            }
        }
        Ok(())
    }

    /// Waits for the oldest pending block and writes it out.
    fn write_front(&mut self) -> io::Result<()> {
        let Some(front) = self.pending.pop_front() else {
            return Ok(());
        };
        let result = front.recv().map_err(|_| worker_lost())?;
        self.emit(result)
    }

    fn emit(&mut self, result: BlockResult) -> io::Result<()> {
        let block = result?;
        let inner = self.inner.as_mut().expect("inner writer present");
        if !self.header_written {
            inner.write_all(&self.header)?;
            self.header_written = true;
        }
        inner.write_all(&block.deflate)?;
        self.crc.combine(&block.crc);
        Ok(())
    }

    /// Closes the job queue and joins the workers. Workers finish (at most
    /// `max_in_flight`) queued blocks first; their replies are discarded.
    fn shutdown(&mut self) {
        self.pending.clear();
        self.jobs = None;
        for handle in self.workers.drain(..) {
            // A worker panic was already reported through its dropped reply.
            let _ = handle.join();
        }
    }

    /// Marks the encoder failed if `result` is an error.
    fn track<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

impl<W: Write> Write for ParGzEncoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.check()?;
        let n = data.len().min(BLOCK_SIZE - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK_SIZE {
            let result = self.dispatch(false);
            self.track(result)?;
        }
        Ok(n)
    }

    /// Writes every block dispatched so far and flushes the inner writer.
    ///
    /// The partially filled current block stays buffered: emitting it early
    /// would make the output depend on when `flush` was called.
    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        let mut result = Ok(());
        while result.is_ok() && !self.pending.is_empty() {
            result = self.write_front();
        }
        if result.is_ok() {
            result = self.inner.as_mut().expect("inner writer present").flush();
        }
        self.track(result)
    }
}

impl<W: Write> Drop for ParGzEncoder<W> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<W: Write + std::fmt::Debug> std::fmt::Debug for ParGzEncoder<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParGzEncoder")
            .field("inner", &self.inner)
            .field("threads", &self.workers.len())
            .field("pending", &self.pending.len())
            .field("buffered", &self.buf.len())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// The fixed 10-byte gzip header for `level`.
fn header(level: u32) -> [u8; 10] {
    let xfl = match level {
        1 => 4,
        9 => 2,
        _ => 0,
    };
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, OS_UNKNOWN]
}

fn worker_lost() -> io::Error {
    io::Error::other("pgzip worker thread panicked or exited")
}

/// Worker loop: takes jobs until the queue is closed.
///
/// Every block gets a fresh deflate state. With a state reused through
/// `Compress::reset`, zlib-rs output was observed to depend on which blocks
/// the worker had compressed before (`reset` does not clear the window, and
/// hashing/matching near the end of the valid data can look at stale window
/// bytes), i.e. on thread scheduling. A new state has a zeroed window; its
/// cost (allocating and zeroing ~400 KiB per block) was not measurable next
/// to compressing the block.
fn worker(queue: &Mutex<Receiver<Job>>, level: Compression) {
    loop {
        let job = {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        #[cfg(test)]
        assert!(!job.panic, "pgzip test: injected worker panic");
        let result = compress_block(level, &job).map(|deflate| {
            let mut crc = crc32fast::Hasher::new();
            crc.update(&job.data);
            Compressed { deflate, crc }
        });
        // The encoder may have been dropped; nobody is waiting then.
        let _ = job.reply.send(result);
    }
}

/// Compresses one block as raw deflate, primed with the tail of the previous
/// block, ending with a sync flush (or the final block when `job.last`).
fn compress_block(level: Compression, job: &Job) -> io::Result<Vec<u8>> {
    let mut deflate = RawDeflate::new(level.level())?;
    if let Some(prev) = &job.dict {
        deflate.set_dictionary(&prev[prev.len().saturating_sub(WINDOW)..])?;
    }
    deflate.compress_all(&job.data, job.last)
}

/// The match-finder settings relman uses for its default level 6: zlib-rs's level 9 engine
/// (lazy matching with a rolling 3-byte hash, which finds the short matches machine code is
/// full of) with short chains: `deflateTune(good 4, lazy 8, nice 32, chain 32)`.
///
/// Measured on 300 MiB of ELF binaries against `gzip -6` (118,995,154 bytes): zlib-rs level 6
/// gives +2.75% at 5.7 s of CPU, this tuning +0.98% at 8.0 s, zlib-rs level 9 with zlib's own
/// level-6 chains −0.26% at 14.0 s; `pigz -6` spends 14.2 s of CPU on the same input.
const TUNED_LEVEL_6: [i32; 4] = [4, 8, 32, 32];

/// A raw-deflate stream of zlib-rs through its zlib-compatible API (`libz-rs-sys`), which,
/// unlike flate2, exposes `deflateTune`.
struct RawDeflate {
    strm: Box<libz_rs_sys::z_stream>,
}

impl RawDeflate {
    fn new(level: u32) -> io::Result<RawDeflate> {
        use libz_rs_sys::*;
        let level = level.min(9) as i32;
        let (init_level, tune) = if level == 6 { (9, Some(TUNED_LEVEL_6)) } else { (level, None) };
        // SAFETY: a zeroed z_stream (null allocators = the library's defaults) is the documented
        // initial state for deflateInit2_; the stream is boxed so its address stays stable.
        let mut strm: Box<z_stream> = Box::new(unsafe { std::mem::zeroed() });
        let size = std::mem::size_of::<z_stream>() as i32;
        let rc = unsafe {
            deflateInit2_(&mut *strm, init_level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), size)
        };
        if rc != Z_OK {
            return Err(io::Error::other(format!("deflateInit2 failed ({rc})")));
        }
        let mut d = RawDeflate { strm };
        if let Some([good, lazy, nice, chain]) = tune {
            let rc = unsafe { deflateTune(&mut *d.strm, good, lazy, nice, chain) };
            if rc != Z_OK {
                return Err(io::Error::other(format!("deflateTune failed ({rc})")));
            }
        }
        Ok(d)
    }

    fn set_dictionary(&mut self, dict: &[u8]) -> io::Result<()> {
        let rc = unsafe { libz_rs_sys::deflateSetDictionary(&mut *self.strm, dict.as_ptr(), dict.len() as u32) };
        if rc != libz_rs_sys::Z_OK {
            return Err(io::Error::other(format!("deflateSetDictionary failed ({rc})")));
        }
        Ok(())
    }

    /// Compresses all of `data`, then a sync flush, or the end of the stream when `last`.
    fn compress_all(&mut self, data: &[u8], last: bool) -> io::Result<Vec<u8>> {
        use libz_rs_sys::*;
        let flush = if last { Z_FINISH } else { Z_SYNC_FLUSH };
        let mut out: Vec<u8> = Vec::with_capacity(data.len() + data.len() / 64 + 1024);
        self.strm.next_in = data.as_ptr() as *mut u8;
        self.strm.avail_in = data.len() as u32;
        loop {
            let spare = out.capacity() - out.len();
            // SAFETY: next_out points at `spare` writable bytes of `out`'s allocation; the
            // library writes at most avail_out bytes, and we extend `len` by what it wrote.
            self.strm.next_out = unsafe { out.as_mut_ptr().add(out.len()) };
            self.strm.avail_out = spare as u32;
            let rc = unsafe { deflate(&mut *self.strm, flush) };
            let written = spare - self.strm.avail_out as usize;
            unsafe { out.set_len(out.len() + written) };
            match rc {
                Z_STREAM_END => return Ok(out),
                Z_OK | Z_BUF_ERROR if !last && self.strm.avail_in == 0 && self.strm.avail_out > 0 => return Ok(out),
                Z_OK | Z_BUF_ERROR if written > 0 || self.strm.avail_out == 0 => out.reserve(out.capacity().max(4096)),
                Z_OK | Z_BUF_ERROR => return Err(io::Error::other("deflate made no progress")),
                rc => return Err(io::Error::other(format!("deflate failed ({rc})"))),
            }
        }
    }
}

impl Drop for RawDeflate {
    fn drop(&mut self) {
        // SAFETY: the stream was initialised by deflateInit2_ and is ended exactly once.
        unsafe { libz_rs_sys::deflateEnd(&mut *self.strm) };
    }
}

// SAFETY: the stream owns its state; it is used by one thread at a time.
unsafe impl Send for RawDeflate {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::process::{Command, Stdio};

    /// Deterministic pseudo-random bytes (xorshift), incompressible.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[4]
            })
            .collect()
    }

    /// Text-like data with repetitions at various distances.
    fn texty(len: usize) -> Vec<u8> {
        let words = ["release ", "manager ", "relman ", "gzip ", "block ", "worker ", "crc ", "\n"];
        let mut r = noise(len / 4 + 16, 7).into_iter().cycle();
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let w = words[usize::from(r.next().unwrap()) % words.len()];
            out.extend_from_slice(w.as_bytes());
        }
        out.truncate(len);
        out
    }

    fn gzip(data: &[u8], level: u32, threads: usize, chunk: usize) -> Vec<u8> {
        let mut enc = ParGzEncoder::new(Vec::new(), level, threads);
        for part in data.chunks(chunk.max(1)) {
            enc.write_all(part).unwrap();
        }
        enc.finish().unwrap()
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz).read_to_end(&mut out).unwrap();
        out
    }

    fn assert_round_trip(data: &[u8]) {
        for level in [1, 6, 9] {
            let gz = gzip(data, level, 2, 1 << 20);
            assert!(gunzip(&gz) == data, "round trip failed, level {level}");
            // The decoder must have consumed everything: one member, no junk.
            let mut dec = flate2::read::GzDecoder::new(&gz[..]);
            std::io::copy(&mut dec, &mut std::io::sink()).unwrap();
            assert!(dec.into_inner().is_empty(), "trailing bytes after member");
        }
    }

    #[test]
    fn round_trip_small_and_boundaries() {
        assert_round_trip(b"");
        assert_round_trip(b"x");
        assert_round_trip(&texty(BLOCK_SIZE));
        assert_round_trip(&texty(BLOCK_SIZE + 1));
        assert_round_trip(&texty(BLOCK_SIZE - 1));
        assert_round_trip(&texty(3 * BLOCK_SIZE));
    }

    #[test]
    fn round_trip_compressible_and_incompressible() {
        let zeros = vec![0u8; 5 * BLOCK_SIZE + 17];
        let gz = gzip(&zeros, 6, 2, 1 << 20);
        assert!(gz.len() < zeros.len() / 100);
        assert_round_trip(&zeros);

        let random = noise(4 * BLOCK_SIZE + 3, 42);
        let gz = gzip(&random, 6, 2, 1 << 20);
        assert!(gz.len() < random.len() + random.len() / 100 + 64);
        assert_round_trip(&random);
    }

    #[test]
    fn round_trip_many_blocks_random_write_sizes() {
        let mut data = texty(6 * BLOCK_SIZE);
        data.extend(noise(BLOCK_SIZE + 999, 3));
        data.extend(texty(2 * BLOCK_SIZE + 5));
        let sizes = noise(10_000, 11);
        let mut enc = ParGzEncoder::new(Vec::new(), 6, 3);
        let (mut pos, mut i) = (0, 0);
        while pos < data.len() {
            // Sizes from 0 to ~200 KiB, with many tiny ones.
            let s = usize::from(sizes[i]);
            let len = if s % 3 == 0 { s * 800 } else { s % 17 };
            let end = (pos + len).min(data.len());
            let n = enc.write(&data[pos..end]).unwrap();
            pos += n;
            i = (i + 1) % sizes.len();
            if s == 5 {
                enc.flush().unwrap();
            }
        }
        let gz = enc.finish().unwrap();
        assert!(gunzip(&gz) == data);
        assert_eq!(gz, gzip(&data, 6, 1, 1 << 20));
    }

    #[test]
    fn deterministic_across_threads_and_chunking() {
        let mut data = texty(5 * BLOCK_SIZE + 12_345);
        data.extend(noise(BLOCK_SIZE / 2, 5));
        for level in [0, 1, 6, 9] {
            let reference = gzip(&data, level, 1, data.len());
            for threads in [1, 2, 4] {
                for chunk in [1000, 4096, BLOCK_SIZE, 3 * BLOCK_SIZE + 7] {
                    let gz = gzip(&data, level, threads, chunk);
                    assert!(gz == reference, "level {level} threads {threads} chunk {chunk} differs");
                }
            }
        }
    }

    /// Real machine code (this test binary): data on which deflate state left
    /// over from other blocks would change the output.
    #[test]
    fn deterministic_on_binary_data() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let start = exe.len() / 3;
        let data = &exe[start..(start + 24 * BLOCK_SIZE + 999).min(exe.len())];
        let reference = gzip(data, 6, 1, 1 << 20);
        assert!(gunzip(&reference) == data);
        for threads in [2, 3] {
            assert!(gzip(data, 6, threads, 1 << 20) == reference, "threads {threads}");
        }
    }

    #[test]
    fn header_is_fixed() {
        let gz = gzip(b"hello", 6, 1, 5);
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "magic, deflate, no flags");
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "mtime 0");
        assert_eq!(gz[3] & 0x08, 0, "no FNAME");
        assert_eq!(gz[8], 0);
        assert_eq!(gz[9], OS_UNKNOWN);
        assert_eq!(gzip(b"", 1, 1, 1)[8], 4);
        assert_eq!(gzip(b"", 9, 1, 1)[8], 2);
        // Trailer: CRC-32 and ISIZE.
        let n = gz.len();
        assert_eq!(&gz[n - 8..n - 4], &crc32fast::hash(b"hello").to_le_bytes());
        assert_eq!(&gz[n - 4..], &5u32.to_le_bytes());
    }

    #[test]
    fn empty_input_is_minimal_member() {
        let gz = gzip(b"", 6, 2, 1);
        assert_eq!(gz.len(), 10 + 2 + 8);
        assert!(gunzip(&gz).is_empty());
    }

    #[test]
    fn readable_by_gzip_binary() {
        let mut data = texty(7 * BLOCK_SIZE + 321);
        data.extend(noise(BLOCK_SIZE + 5, 9));
        let gz = gzip(&data, 6, 2, 65_536);
        let mut child = match Command::new("gzip").arg("-dc").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                eprintln!("gzip binary not found; skipping");
                return;
            }
            Err(e) => panic!("spawning gzip: {e}"),
        };
        let mut stdin = child.stdin.take().unwrap();
        let feeder = thread::spawn(move || stdin.write_all(&gz));
        let output = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert!(output.status.success(), "gzip -d failed: {output:?}");
        assert!(output.stdout == data, "gzip -d output differs");
    }

    /// Accepts `limit` bytes, then fails every write.
    #[derive(Debug)]
    struct FailingWriter {
        written: usize,
        limit: usize,
    }

    impl FailingWriter {
        fn new(limit: usize) -> Self {
            Self { written: 0, limit }
        }
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written >= self.limit {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.limit - self.written);
            self.written += n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn write_then_finish<W: Write>(mut enc: ParGzEncoder<W>, data: &[u8]) -> io::Result<W> {
        for part in data.chunks(10_000) {
            enc.write_all(part)?;
        }
        enc.finish()
    }

    #[test]
    fn failing_inner_writer_reports_error() {
        let data = noise(20 * BLOCK_SIZE, 1);
        for limit in [0, 5, 100_000, 1_000_000] {
            let enc = ParGzEncoder::new(FailingWriter::new(limit), 6, 2);
            let err = write_then_finish(enc, &data).unwrap_err();
            assert_eq!(err.to_string(), "disk full");
        }
        // Small input: the error only shows up in finish.
        let enc = ParGzEncoder::new(FailingWriter::new(3), 6, 2);
        assert!(write_then_finish(enc, b"abc").is_err());
    }

    #[test]
    fn unusable_after_error_and_drop_does_not_hang() {
        let data = noise(10 * BLOCK_SIZE, 2);
        let mut enc = ParGzEncoder::new(FailingWriter::new(0), 6, 2);
        let err = data.chunks(BLOCK_SIZE).find_map(|c| enc.write_all(c).err());
        assert!(err.is_some());
        assert!(enc.write(b"more").is_err());
        assert!(enc.flush().is_err());
        drop(enc);

        // Dropping with blocks in flight and a partial block buffered.
        let mut enc = ParGzEncoder::new(Vec::new(), 9, 2);
        enc.write_all(&data[..3 * BLOCK_SIZE + 10]).unwrap();
        drop(enc);
    }

    #[test]
    fn worker_panic_becomes_error() {
        let data = texty(12 * BLOCK_SIZE);
        for threads in [1, 2] {
            let mut enc = ParGzEncoder::new(Vec::new(), 6, threads);
            enc.panic_at_block = Some(2);
            let err = write_then_finish(enc, &data).unwrap_err();
            assert!(err.to_string().contains("worker"), "{err}");
        }
    }

    #[test]
    fn threads_zero_uses_available_parallelism() {
        let data = texty(2 * BLOCK_SIZE + 1);
        assert_eq!(gzip(&data, 6, 0, 4096), gzip(&data, 6, 1, 4096));
    }
}
