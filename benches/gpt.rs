//! Banco de pruebas del GPT: milisegundos por paso de entrenamiento (lote, forward,
//! backward y AdamW) en la CPU, con las configuraciones de la comparación con PyTorch.
//!
//! `cargo bench --bench gpt -- <config> [pasos] [libro|rapida]` imprime una línea:
//! `gpt <config> <rust|libro> <hilos> <mediana ms/paso> <tokens/s> <pico MiB> <GFLOP/s>`.
//! `rust` es la implementación rápida (la que usa `07_gpt entrenar` en la CPU) y `libro`, la
//! ruta del libro (`--implementacion libro`): lo que cuesta la claridad.
//! Una configuración por proceso, para que el pico de memoria sea solo suyo.
//! Los hilos se eligen con `RAYON_NUM_THREADS` (candle lo lee al empezar).
// Las pruebas y los bancos escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

mod comun;

use std::sync::Arc;
use std::time::Instant;

use candle_core::Device;
use gpt_desde_cero::fast::kernels::Fast;
use gpt_desde_cero::model::gpt::{GptConfig, Preset};
use gpt_desde_cero::model::kernels::{Kernels, Reference};
use gpt_desde_cero::model::train::{Learner as _, Trainer};

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

fn main() {
    gpt_desde_cero::tools::cli::tune_allocator();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let name = args.first().map_or("cpu", String::as_str);
    let steps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    if name == "gemm" {
        let threads = candle_core::utils::get_num_threads();
        println!("gemm 1024 rust {threads} {:.1}", comun::gemm_gflops());
        return;
    }
    let (label, kernels): (&str, Arc<dyn Kernels>) = match args.get(2).map(String::as_str) {
        None | Some("rapida") => ("rust", Arc::new(Fast)),
        Some("libro") => ("libro", Arc::new(Reference)),
        Some(other) => {
            eprintln!("error: implementación desconocida «{other}» (libro o rapida)");
            std::process::exit(2);
        }
    };
    let (tok, ds) = comun::corpus_split();
    let Some(cfg) = config(name, tok.vocab_size()) else {
        eprintln!("error: configuración desconocida «{name}» (pequena, cpu, mediana, cuaderno)");
        std::process::exit(2);
    };
    let mut trainer = Trainer::new(&cfg, &Device::Cpu, 1337, kernels).unwrap();
    trainer.train_step(&ds).unwrap(); // calentamiento
    let mut times = Vec::with_capacity(steps);
    let mut cpu_times = Vec::with_capacity(steps);
    for _ in 0..steps {
        let (t, c) = (Instant::now(), comun::cpu_seconds());
        trainer.train_step(&ds).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        cpu_times.push((comun::cpu_seconds() - c) * 1e3);
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);
    let median = times[steps / 2];
    let tokens = (cfg.batch_size * cfg.block_size) as f64;
    let threads = candle_core::utils::get_num_threads();
    let gflops = flops_per_step(&cfg) / median / 1e6;
    println!(
        "gpt {name} {label} {threads} {median:.3} {:.0} {:.0} {gflops:.2}",
        tokens / median * 1e3,
        comun::peak_mib()
    );
    // Tiempo de CPU del proceso por paso: menos sensible a otros programas que el de reloj.
    eprintln!("  (CPU: {:.3} ms/paso)", cpu_times[steps / 2]);
}
