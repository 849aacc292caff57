//! Times midly's `Smf::parse` on the files of a list, the way continuo_bench times continuo: the
//! bytes are in memory first, each pass reads every file once, each file keeps its fastest read in
//! thread CPU time, and the result is dropped outside the timed region. Prints continuo_bench's
//! JSON shape, so bench/run.py reads both alike.
//!
//!     midly_bench [--budget S] [--min-repeats N] [--max-repeats N] @LIST | FILE...

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

/// Counts the bytes held, like the C++ bench's counting malloc, to report the peak of one parse.
/// Requested sizes: Rust's allocator interface hands them back on free.
struct Counting;

thread_local! {
    static NOW: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        sub(layout.size());
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            sub(layout.size());
            add(new_size);
        }
        q
    }
}

fn add(n: usize) {
    let _ = NOW.try_with(|now| {
        now.set(now.get() + n);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now.get())));
    });
}

fn sub(n: usize) {
    let _ = NOW.try_with(|now| now.set(now.get().saturating_sub(n)));
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// Linux's CLOCK_THREAD_CPUTIME_ID: the clock continuo_bench and run.py time with.
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

fn thread_cpu_s() -> f64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() {
    let mut budget_s = 1.0;
    let mut min_repeats = 3usize;
    let mut max_repeats = 200usize;
    let mut paths: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().expect("option needs a value");
        match a.as_str() {
            "--budget" => budget_s = value().parse().expect("--budget S"),
            "--min-repeats" => min_repeats = value().parse().expect("--min-repeats N"),
            "--max-repeats" => max_repeats = value().parse().expect("--max-repeats N"),
            list if list.starts_with('@') => {
                let text = std::fs::read_to_string(&list[1..]).expect("cannot read the list");
                paths.extend(text.lines().filter(|l| !l.is_empty()).map(String::from));
            }
            file => paths.push(file.to_string()),
        }
    }
    let blobs: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).expect("cannot read a file")).collect();
    let total: usize = blobs.iter().map(Vec::len).sum();

    // Warm-up pass, which also counts events and failures.
    let mut events = 0u64;
    let mut failed = 0u64;
    for b in &blobs {
        match midly::Smf::parse(b) {
            Ok(smf) => events += smf.tracks.iter().map(|t| t.len() as u64).sum::<u64>(),
            Err(_) => failed += 1,
        }
    }

    let mut best = vec![f64::INFINITY; blobs.len()];
    let mut best_wall = vec![f64::INFINITY; blobs.len()];
    let mut passes: Vec<f64> = Vec::new();
    let mut spent = 0.0;
    let mut sink = 0usize;
    while passes.len() < min_repeats || (spent < budget_s && passes.len() < max_repeats) {
        let mut pass = 0.0;
        for (i, b) in blobs.iter().enumerate() {
            let w0 = Instant::now();
            let t0 = thread_cpu_s();
            let result = midly::Smf::parse(b);
            let t1 = thread_cpu_s();
            let wall = w0.elapsed().as_secs_f64();
            best[i] = best[i].min(t1 - t0);
            best_wall[i] = best_wall[i].min(wall);
            pass += t1 - t0;
            sink += result.map(|s| s.tracks.len()).unwrap_or(0);
        }
        passes.push(pass);
        spent += pass;
    }
    std::hint::black_box(sink);

    // Peak bytes held during one parse of each file, the result included.
    let mut ratios = Vec::new();
    let mut max_ratio = 0.0f64;
    let mut max_ratio_16k = 0.0f64;
    let mut max_file = String::new();
    let (mut peak_sum, mut size_sum) = (0.0, 0.0);
    for (b, p) in blobs.iter().zip(&paths) {
        let before = NOW.with(Cell::get);
        PEAK.with(|peak| peak.set(before));
        {
            let result = midly::Smf::parse(b);
            std::hint::black_box(&result);
        }
        let peak = (PEAK.with(Cell::get) - before) as f64;
        let size = b.len().max(1) as f64;
        let ratio = peak / size;
        ratios.push(ratio);
        peak_sum += peak;
        size_sum += size;
        if ratio > max_ratio {
            max_ratio = ratio;
            max_file = p.clone();
        }
        if b.len() >= 16 * 1024 {
            max_ratio_16k = max_ratio_16k.max(ratio);
        }
    }
    ratios.sort_by(f64::total_cmp);
    let median_ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);

    let best_s: f64 = best.iter().sum();
    let best_wall_s: f64 = best_wall.iter().sum();
    passes.sort_by(f64::total_cmp);
    let median_pass_s = passes[passes.len() / 2];
    let mb = total as f64 / 1e6;
    println!(
        "{{\"files\": {}, \"bytes\": {}, \"results\": [\n  {{\"tool\": \"midly\", \"level\": \"events\", \
         \"runs\": \"midly::Smf::parse(bytes)\", \"best_s\": {}, \"mb_s\": {}, \"best_wall_s\": {}, \
         \"median_pass_s\": {}, \"repeats\": {}, \"failed\": {}, \"counts\": {{\"events\": {}}}, \
         \"memory\": {{\"measure\": \"peak bytes allocated during the parse, result included\", \
         \"median_ratio\": {}, \"max_ratio\": {}, \"max_ratio_16k\": {}, \"total_ratio\": {}, \"max_file\": {}}}}}\n]}}",
        blobs.len(),
        total,
        best_s,
        if best_s > 0.0 { mb / best_s } else { 0.0 },
        best_wall_s,
        median_pass_s,
        passes.len(),
        failed,
        events,
        median_ratio,
        max_ratio,
        max_ratio_16k,
        if size_sum > 0.0 { peak_sum / size_sum } else { 0.0 },
        json_string(&max_file)
    );
    eprintln!("midly_bench: midly/events: {:.1} MB/s over {} passes", mb / best_s, passes.len());
}
