//! Banco de pruebas de la generación: caracteres por segundo del bucle del cuaderno
//! ([`gpt::generate`], que recalcula todo el contexto en cada carácter) y de la caché KV
//! ([`KvCache`]), con la configuración del preset `cpu` y pesos aleatorios (la
//! velocidad no depende de los valores de los pesos).
//!
//! `cargo bench --bench generacion -- [caracteres…] [--repeticiones N]` imprime, para cada
//! número de caracteres (por defecto 64 y 500), una línea:
//! `generacion <caracteres> <car/s del cuaderno> <car/s con caché> <cociente>`,
//! con la mediana de las repeticiones, y comprueba que los dos caminos dan el mismo texto.
//! Si el texto pasa de la ventana, añade `cota <caracteres> <car/s> <cociente>`: lo más rápido
//! que podría ir cualquier método exacto en esta máquina (ver
//! [`exact_flops_per_char_full_window`]) y cuántas veces el bucle del cuaderno sería.
//! Los hilos se eligen con `RAYON_NUM_THREADS` (candle lo lee en cada producto de matrices).
//! En una máquina cargada, los caracteres por segundo de CPU (en la salida de errores) con
//! `RAYON_NUM_THREADS=1` son la medida más estable.
// Las pruebas y los bancos escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

mod comun;

use std::time::Instant;

use candle_core::Device;
use comun::{cpu_seconds, median};
use gpt_desde_cero::fast::kernels::Fast;
use gpt_desde_cero::fast::kv_cache::KvCache;
use gpt_desde_cero::model::gpt::{self, Gpt, GptConfig, Preset, Sampling};
use gpt_desde_cero::model::kernels::Executed;
use gpt_desde_cero::tools::rng;

/// El vocabulario del Quijote.
const VOCAB: usize = 89;

/// Operaciones de coma flotante que cualquier método exacto necesita por carácter cuando la
/// ventana está llena: al correrse la ventana cambian las posiciones de todos los caracteres,
/// así que hay que recalcular las capas 1..L−1 para los `T` caracteres (`12·C²` por carácter
/// y capa: atención y red de avance) y las claves y valores de la última (`4·C²`). Es una
/// cota por lo bajo: no cuenta la atención, las incrustaciones ni la salida.
fn exact_flops_per_char_full_window(cfg: &GptConfig) -> f64 {
    let (t, c, l) = (cfg.block_size as f64, cfg.n_embd as f64, cfg.n_layer as f64);
    2.0 * t * c * c * (12.0 * (l - 1.0) + 2.0)
}

/// Caracteres por segundo de `run` (que genera `n` caracteres), de reloj y de CPU del
/// proceso (menos sensible a otros programas con un hilo), y los caracteres generados.
fn rate(n: usize, run: impl FnOnce() -> Vec<u32>) -> (f64, f64, Vec<u32>) {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let ids = run();
    let wall = start.elapsed().as_secs_f64();
    (n as f64 / wall, n as f64 / (cpu_seconds() - cpu), ids)
}

fn main() {
    gpt_desde_cero::tools::cli::tune_allocator();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut lengths = Vec::new();
    let mut reps = 3usize;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--repeticiones" => {
                i += 1;
                match args.get(i).and_then(|s| s.parse().ok()) {
                    Some(r) if r > 0 => reps = r,
                    _ => {
                        eprintln!("error: --repeticiones necesita un número mayor que 0");
                        std::process::exit(2);
                    }
                }
            }
            a if a.starts_with('-') => {} // las opciones de `cargo bench` (--bench)
            a => match a.parse::<usize>() {
                Ok(n) if n > 0 => lengths.push(n),
                _ => {
                    eprintln!("error: «{a}» no es un número de caracteres válido");
                    std::process::exit(2);
                }
            },
        }
        i += 1;
    }
    if lengths.is_empty() {
        lengths = vec![64, 500];
    }

    let cfg = GptConfig::preset(Preset::Cpu, VOCAB);
    // La implementación rápida, la que usa `07_gpt generar` en la CPU.
    let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(rng::DEFAULT_SEED)).unwrap();
    // Sin caché: el contexto entero en cada carácter, con el forward de la rápida.
    let plain_source = || Executed {
        model: &model,
        kernels: &Fast,
    };
    let cache = || KvCache::new(&model, &Fast).unwrap();
    let prompt = [0u32]; // un salto de línea, como el cuaderno
    let sampling = Sampling::default();
    eprintln!(
        "preset cpu (bloque {}, n_embd {}, {} cabezas, {} capas), {} hilos, mediana de {reps}",
        cfg.block_size,
        cfg.n_embd,
        cfg.n_head,
        cfg.n_layer,
        candle_core::utils::get_num_threads()
    );
    let gemm_peak = comun::gemm_gflops();
    eprintln!("productos de matrices: {gemm_peak:.1} GFLOP/s");
    // Calentamiento.
    let _ = gpt::generate(cache(), &prompt, 8, sampling, &mut rng::seeded(0), |_| {});
    let _ = gpt::generate(
        plain_source(),
        &prompt,
        8,
        sampling,
        &mut rng::seeded(0),
        |_| {},
    );

    for n in lengths {
        let (mut plain, mut cached) = (Vec::new(), Vec::new());
        let (mut plain_cpu, mut cached_cpu) = (Vec::new(), Vec::new());
        // Alternados, para que la carga de la máquina afecte a los dos por igual.
        for rep in 0..reps {
            let seed = rep as u64;
            let (r, c, want) = rate(n, || {
                let source = plain_source();
                gpt::generate(source, &prompt, n, sampling, &mut rng::seeded(seed), |_| {}).unwrap()
            });
            plain.push(r);
            plain_cpu.push(c);
            let (r, c, got) = rate(n, || {
                gpt::generate(
                    cache(),
                    &prompt,
                    n,
                    sampling,
                    &mut rng::seeded(seed),
                    |_| {},
                )
                .unwrap()
            });
            cached.push(r);
            cached_cpu.push(c);
            if got != want {
                eprintln!("error: la caché KV no dio el mismo texto ({n} caracteres)");
                std::process::exit(1);
            }
        }
        let (plain, cached) = (median(plain), median(cached));
        println!(
            "generacion {n} {plain:.0} {cached:.0} {:.2}",
            cached / plain
        );
        // La cota: los caracteres con la ventana llena, a ritmo de pico de la máquina (y los
        // de dentro de la ventana, gratis).
        let full_window_chars = (prompt.len() + n).saturating_sub(cfg.block_size);
        if n > cfg.block_size {
            let secs = full_window_chars as f64 * exact_flops_per_char_full_window(&cfg)
                / (gemm_peak * 1e9);
            let best = n as f64 / secs;
            println!("cota {n} {best:.0} {:.2}", best / plain);
        }
        let (plain, cached) = (median(plain_cpu), median(cached_cpu));
        eprintln!(
            "  (por segundo de CPU: {plain:.0} y {cached:.0} car/s, {:.2}×)",
            cached / plain
        );
    }
}
