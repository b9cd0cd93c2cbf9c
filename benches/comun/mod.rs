//! Lo que comparten los bancos de pruebas: el corpus ya partido, los relojes de CPU, el pico
//! de memoria y el rendimiento de la máquina en productos de matrices.
#![allow(dead_code)] // cada banco usa una parte

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use gpt_desde_cero::text::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::download;

/// El tokenizador y la división 90/10 del Quijote (de la caché, o descargado). Si no se
/// puede, termina con el error en español.
pub fn corpus_split() -> (Tokenizer, Dataset) {
    let text = match download::load(None) {
        Ok(c) => c.text,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let tok = Tokenizer::from_text(&text);
    let ds = Dataset::split(&dataset::encode_text(&tok, &text).unwrap(), TRAIN_FRACTION);
    (tok, ds)
}

/// Tiempo de CPU consumido por el proceso hasta ahora, en segundos (todos sus hilos).
pub fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` es un puntero válido a un timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// El pico de memoria residente del proceso (VmHWM), en MiB.
pub fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// GFLOP/s de un producto de matrices f32 de 1024×1024 con candle (con los hilos de
/// `RAYON_NUM_THREADS`): el techo práctico de la máquina para estos modelos.
pub fn gemm_gflops() -> f64 {
    let n = 1024;
    let a = Tensor::ones((n, n), DType::F32, &Device::Cpu).unwrap();
    a.matmul(&a).unwrap(); // calentamiento
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps {
        a.matmul(&a).unwrap();
    }
    let secs = t.elapsed().as_secs_f64() / reps as f64;
    2.0 * (n as f64).powi(3) / secs / 1e9
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
