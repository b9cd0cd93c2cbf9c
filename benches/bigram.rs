//! Banco de pruebas del capítulo 5: milisegundos por paso de entrenamiento del bigrama
//! (lote 32, bloque 8), a mano y en candle. Lo usa `scripts/comparar_pytorch.sh`.
//!
//! `cargo bench --bench bigram` imprime una línea por motor:
//! `bigram <motor> <mediana ms/paso> <mín> <máx>`.
// Las pruebas y los bancos escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

mod comun;

use std::time::Instant;

use candle_core::Device;
use gpt_desde_cero::model::bigram::{self, Bigram, CandleBigram, HandBigram};
use gpt_desde_cero::text::dataset::Split;
use gpt_desde_cero::{text::batches, tools::rng};

const REPEATS: usize = 7;

/// Mediana, mínimo y máximo de `REPEATS` mediciones de `steps` pasos, en ms por paso.
fn measure(steps: usize, mut step: impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..steps / 10 {
        step(); // calentamiento
    }
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..steps {
                step();
            }
            t.elapsed().as_secs_f64() * 1e3 / steps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[REPEATS / 2], times[0], times[REPEATS - 1])
}

fn main() {
    gpt_desde_cero::tools::cli::tune_allocator();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f));
    let (tok, ds) = comun::corpus_split();
    let mut r = rng::seeded(1337);
    let table = bigram::initial_table(tok.vocab_size(), &mut r);

    let run = |name: &str, steps: usize, model: &mut dyn Bigram| {
        if !wanted(name) {
            return;
        }
        let mut r = rng::seeded(1);
        let (median, min, max) = measure(steps, || {
            let (x, y) = batches::get_batch(&ds, Split::Train, 32, 8, &mut r);
            model
                .train_step(x.as_slice().unwrap(), y.as_slice().unwrap())
                .unwrap();
        });
        println!("bigram {name} {median:.5} {min:.5} {max:.5}");
    };
    run("ndarray", 5_000, &mut HandBigram::new(table.clone(), 1e-3));
    run(
        "ndarray-ingenuo",
        2_000,
        &mut NaiveBigram(HandBigram::new(table.clone(), 1e-3)),
    );
    run(
        "candle",
        1_000,
        &mut CandleBigram::new(&table, 1e-3, &Device::Cpu).unwrap(),
    );
}

/// El mismo modelo a mano, con la pérdida y el gradiente sin agrupar por token.
struct NaiveBigram(HandBigram);

impl Bigram for NaiveBigram {
    fn loss(&self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        self.0.loss(x, y)
    }
    fn train_step(&mut self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        let (loss, grad) = bigram::loss_and_grad_naive(&self.0.table, x, y);
        self.0.optimizer.step(&mut self.0.table, &grad);
        Ok(loss)
    }
    fn table(&self) -> candle_core::Result<ndarray::Array2<f32>> {
        self.0.table()
    }
}
