//! Banco de pruebas del GPT: milisegundos por paso de entrenamiento (lote, forward,
//! backward y AdamW) en la CPU, con las configuraciones de la comparación con PyTorch.
//!
//! `cargo bench --bench gpt -- <config> [pasos]` imprime una línea:
//! `gpt <config> rust <hilos> <mediana ms/paso> <tokens/s> <pico MiB>`.
//! Una configuración por proceso, para que el pico de memoria sea solo suyo.
//! Los hilos se eligen con `RAYON_NUM_THREADS` (candle lo lee al empezar).

use std::time::Instant;

use candle_core::Device;
use gpt_desde_cero::corpus;
use gpt_desde_cero::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::gpt::{GptConfig, Preset};
use gpt_desde_cero::tokenizer::Tokenizer;
use gpt_desde_cero::train::Trainer;

/// Las configuraciones de la comparación: (lote, bloque, n_embd, cabezas, capas, dropout).
fn config(name: &str, vocab_size: usize) -> Option<GptConfig> {
    let (batch, block, embd, heads, layers, dropout) = match name {
        "pequena" => (16, 32, 64, 4, 4, 0.0),
        "cpu" => (12, 64, 128, 4, 4, 0.0),
        "mediana" => (32, 128, 192, 6, 6, 0.2),
        "cuaderno" => (64, 256, 384, 6, 6, 0.2),
        _ => return None,
    };
    Some(GptConfig {
        batch_size: batch,
        block_size: block,
        n_embd: embd,
        n_head: heads,
        n_layer: layers,
        dropout,
        ..GptConfig::preset(Preset::Cpu, vocab_size)
    })
}

/// Operaciones de coma flotante de un paso (forward + backward ≈ 3 × forward): `6·P·BT`
/// de las capas lineales (sin las incrustaciones) más `12·L·B·T²·C` de la atención.
fn flops_per_step(cfg: &GptConfig) -> f64 {
    let (b, t, c, l, v) = (
        cfg.batch_size as f64,
        cfg.block_size as f64,
        cfg.n_embd as f64,
        cfg.n_layer as f64,
        cfg.vocab_size as f64,
    );
    let linear_params = l * (4.0 * c * c + 8.0 * c * c) + c * v;
    6.0 * linear_params * b * t + 12.0 * l * b * t * t * c
}

/// El rendimiento de la máquina en productos de matrices f32 con candle (1024×1024).
fn gemm_throughput() {
    let n = 1024;
    let a = candle_core::Tensor::ones((n, n), candle_core::DType::F32, &Device::Cpu).unwrap();
    let b = a.clone();
    a.matmul(&b).unwrap(); // calentamiento
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps {
        a.matmul(&b).unwrap();
    }
    let secs = t.elapsed().as_secs_f64() / reps as f64;
    let threads = candle_core::utils::get_num_threads();
    println!(
        "gemm {n} rust {threads} {:.1}",
        2.0 * (n as f64).powi(3) / secs / 1e9
    );
}

/// Tiempo de CPU consumido por el proceso hasta ahora, en ms.
fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` es un puntero válido a un timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// El pico de memoria residente del proceso (VmHWM), en MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    gpt_desde_cero::cli::tune_allocator();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let name = args.first().map_or("cpu", String::as_str);
    let steps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    if name == "gemm" {
        gemm_throughput();
        return;
    }
    let text = match corpus::load(None) {
        Ok(c) => c.text,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let tok = Tokenizer::from_text(&text);
    let ds = Dataset::split(&dataset::encode_text(&tok, &text).unwrap(), TRAIN_FRACTION);
    let Some(cfg) = config(name, tok.vocab_size()) else {
        eprintln!("error: configuración desconocida «{name}» (pequena, cpu, mediana, cuaderno)");
        std::process::exit(2);
    };
    let mut trainer = Trainer::new(&cfg, &Device::Cpu, 1337).unwrap();
    trainer.train_step(&ds).unwrap(); // calentamiento
    let mut times = Vec::with_capacity(steps);
    let mut cpu_times = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (t, c) = (Instant::now(), cpu_ms());
        trainer.train_step(&ds).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        cpu_times.push(cpu_ms() - c);
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);
    let median = times[steps / 2];
    let tokens = (cfg.batch_size * cfg.block_size) as f64;
    let threads = candle_core::utils::get_num_threads();
    let gflops = flops_per_step(&cfg) / median / 1e6;
    eprintln!("  ({gflops:.1} GFLOP/s del modelo)");
    println!(
        "gpt {name} rust {threads} {median:.3} {:.0} {:.0}",
        tokens / median * 1e3,
        peak_mib()
    );
    // Tiempo de CPU del proceso por paso: menos sensible a otros programas que el de reloj.
    eprintln!("  (CPU: {:.3} ms/paso)", cpu_times[steps / 2]);
}
