//! Banco de pruebas de la generación: caracteres por segundo del bucle del cuaderno
//! ([`gpt::generate`], que recalcula todo el contexto en cada carácter) y de la caché KV
//! ([`kv_cache::generate`]), con la configuración del preset `cpu` y pesos aleatorios (la
//! velocidad no depende de los valores de los pesos).
//!
//! `cargo bench --bench generacion -- [caracteres…] [--repeticiones N]` imprime, para cada
//! número de caracteres (por defecto 64 y 500), una línea:
//! `generacion <caracteres> <car/s del cuaderno> <car/s con caché> <cociente>`,
//! con la mediana de las repeticiones, y comprueba que los dos caminos dan el mismo texto.
//! Los hilos se eligen con `RAYON_NUM_THREADS` (candle lo lee en cada producto de matrices).
//! En una máquina cargada, los caracteres por segundo de CPU (en la salida de errores) con
//! `RAYON_NUM_THREADS=1` son la medida más estable.

use std::time::Instant;

use candle_core::Device;
use gpt_desde_cero::gpt::{self, Gpt, GptConfig, Preset, Sampling};
use gpt_desde_cero::{kv_cache, rng};

/// El vocabulario del Quijote.
const VOCAB: usize = 89;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Tiempo de CPU consumido por el proceso hasta ahora, en segundos.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` es un puntero válido a un timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
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
    gpt_desde_cero::cli::tune_allocator();
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
    let model = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(rng::DEFAULT_SEED)).unwrap();
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
    // Calentamiento.
    let _ = kv_cache::generate(&model, &prompt, 8, sampling, &mut rng::seeded(0), |_| {});
    let _ = gpt::generate(&model, &prompt, 8, sampling, &mut rng::seeded(0), |_| {});

    for n in lengths {
        let (mut plain, mut cached) = (Vec::new(), Vec::new());
        let (mut plain_cpu, mut cached_cpu) = (Vec::new(), Vec::new());
        // Alternados, para que la carga de la máquina afecte a los dos por igual.
        for rep in 0..reps {
            let seed = rep as u64;
            let (r, c, want) = rate(n, || {
                gpt::generate(&model, &prompt, n, sampling, &mut rng::seeded(seed), |_| {}).unwrap()
            });
            plain.push(r);
            plain_cpu.push(c);
            let (r, c, got) = rate(n, || {
                kv_cache::generate(&model, &prompt, n, sampling, &mut rng::seeded(seed), |_| {})
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
        let (plain, cached) = (median(plain_cpu), median(cached_cpu));
        eprintln!(
            "  (por segundo de CPU: {plain:.0} y {cached:.0} car/s, {:.2}×)",
            cached / plain
        );
    }
}
