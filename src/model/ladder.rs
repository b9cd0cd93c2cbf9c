//! La escalera: el camino de la clase, del bigrama al GPT, peldaño a peldaño, cada uno
//! entrenado con la misma configuración pequeña para ver cuánto aporta cada idea.
//!
//! 1. bigrama: una tabla `(vocab, vocab)` de logits;
//! 2. + una cabeza de atención e incrustaciones de posición;
//! 3. + varias cabezas (concatenadas);
//! 4. + red de avance tras la atención;
//! 5. + bloques residuales (`x + atención(x)`, `x + avance(x)`, con proyección);
//! 6. + LayerNorm (antes de cada subcapa y al final): el GPT del capítulo, sin dropout;
//! 7. + dropout y el doble de bloques;
//! 8. + GELU en vez de ReLU en la red de avance (un «más allá» del cuaderno, el ejercicio 6.4).

use std::time::Instant;

use candle_core::{D, Device, Module, Result, Tensor};
use candle_nn::Embedding;

use crate::model::adamw::{AdamW, AdamWConfig};
use crate::model::estimate::{LossPoint, estimate_loss};
use crate::model::gpt::{
    Activation, FeedForward, Gpt, GptConfig, Head, INIT_STD, LrSchedule, Mode, MultiHeadAttention,
};
use crate::model::layers::{self, Linear, Params};
use crate::model::train::{self, Callbacks, Learner, Progress, eval_rng, init_rng, step_rng};
use crate::text::batches::{get_batch, to_tensor};
use crate::text::dataset::{Dataset, Split};
use crate::tools::rng::Rng;

/// Los peldaños, en orden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    Bigram,
    OneHead,
    MultiHead,
    FeedForward,
    Residual,
    LayerNorm,
    DropoutAndScale,
    Gelu,
}

impl Rung {
    pub const ALL: [Rung; 8] = [
        Rung::Bigram,
        Rung::OneHead,
        Rung::MultiHead,
        Rung::FeedForward,
        Rung::Residual,
        Rung::LayerNorm,
        Rung::DropoutAndScale,
        Rung::Gelu,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rung::Bigram => "1. bigrama",
            Rung::OneHead => "2. + una cabeza y posiciones",
            Rung::MultiHead => "3. + varias cabezas",
            Rung::FeedForward => "4. + red de avance",
            Rung::Residual => "5. + bloques residuales",
            Rung::LayerNorm => "6. + LayerNorm",
            Rung::DropoutAndScale => "7. + dropout y el doble de capas",
            Rung::Gelu => "8. + GELU en vez de ReLU",
        }
    }
}

/// La configuración común a todos los peldaños.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderSetup {
    pub vocab_size: usize,
    pub block_size: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_layer: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub max_iters: usize,
    pub eval_iters: usize,
    /// El dropout de los peldaños 7 y 8.
    pub dropout: f32,
    pub seed: u64,
}

impl LadderSetup {
    pub fn new(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            block_size: 32,
            n_embd: 64,
            n_head: 4,
            n_layer: 2,
            batch_size: 16,
            learning_rate: 1e-3,
            max_iters: 1000,
            eval_iters: 50,
            dropout: 0.1,
            seed: crate::tools::rng::DEFAULT_SEED,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "Escalera: lote {}, bloque {}, n_embd {}, {} cabezas, {} capas (los peldaños 7 y 8, {} \
             capas y dropout {}), lr {}, {} pasos por peldaño, validación con {} lotes",
            self.batch_size,
            self.block_size,
            self.n_embd,
            self.n_head,
            self.n_layer,
            2 * self.n_layer,
            crate::tools::pretty::number(self.dropout),
            crate::tools::pretty::number(self.learning_rate),
            crate::tools::pretty::integer(self.max_iters),
            self.eval_iters
        )
    }

    /// Lo que ocupa entrenar el peldaño más grande (el último, con el doble de capas), con los
    /// lotes de sus estimaciones.
    pub fn training_memory(&self) -> Option<u64> {
        crate::model::train::training_memory(&self.gpt_config(Rung::DropoutAndScale))
    }

    /// La configuración del GPT del capítulo que corresponde a los peldaños 6, 7 y 8.
    pub fn gpt_config(&self, rung: Rung) -> GptConfig {
        let last = matches!(rung, Rung::DropoutAndScale | Rung::Gelu);
        GptConfig {
            vocab_size: self.vocab_size,
            block_size: self.block_size,
            n_embd: self.n_embd,
            n_head: self.n_head,
            n_layer: if last { 2 * self.n_layer } else { self.n_layer },
            dropout: if last { self.dropout } else { 0.0 },
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            max_iters: self.max_iters,
            eval_interval: self.max_iters.max(1),
            eval_iters: self.eval_iters,
            activation: if rung == Rung::Gelu {
                Activation::Gelu
            } else {
                Activation::Relu
            },
            lr_schedule: LrSchedule::Constant,
        }
    }
}

/// Los peldaños 1 a 5, montados con las piezas del GPT.
struct Partial {
    rung: Rung,
    token_embedding_table: Embedding,
    position_embedding_table: Option<Embedding>,
    heads: Vec<Head>,
    /// Peldaño 5: bloques residuales (atención con proyección + red de avance).
    blocks: Vec<(MultiHeadAttention, FeedForward)>,
    ffwd: Option<FeedForward>,
    lm_head: Option<Linear>,
}

fn feed_forward(p: &mut Params, name: &str, c: usize, rng: &mut Rng) -> Result<FeedForward> {
    Ok(FeedForward {
        up: layers::linear(p, &format!("{name}.net.0"), (c, 4 * c), true, INIT_STD, rng)?,
        down: layers::linear(p, &format!("{name}.net.2"), (4 * c, c), true, INIT_STD, rng)?,
        dropout: 0.0,
        activation: Activation::Relu,
    })
}

fn heads(p: &mut Params, name: &str, n: usize, c: usize, rng: &mut Rng) -> Result<Vec<Head>> {
    let hs = c / n;
    (0..n)
        .map(|h| {
            let mut lin = |kqv: &str| {
                let name = format!("{name}.heads.{h}.{kqv}");
                layers::linear(p, &name, (c, hs), false, INIT_STD, rng)
            };
            Ok(Head {
                key: lin("key")?,
                query: lin("query")?,
                value: lin("value")?,
                dropout: 0.0,
            })
        })
        .collect()
}

impl Partial {
    fn new(rung: Rung, s: &LadderSetup, p: &mut Params, rng: &mut Rng) -> Result<Self> {
        let (v, t, c) = (s.vocab_size, s.block_size, s.n_embd);
        if rung == Rung::Bigram {
            return Ok(Self {
                rung,
                token_embedding_table: layers::embedding(p, "tok", (v, v), INIT_STD, rng)?,
                position_embedding_table: None,
                heads: vec![],
                blocks: vec![],
                ffwd: None,
                lm_head: None,
            });
        }
        let tok = layers::embedding(p, "tok", (v, c), INIT_STD, rng)?;
        let pos = layers::embedding(p, "pos", (t, c), INIT_STD, rng)?;
        let n_heads = if rung == Rung::OneHead { 1 } else { s.n_head };
        let (heads, blocks, ffwd) = if rung == Rung::Residual {
            let mut blocks = Vec::new();
            for l in 0..s.n_layer {
                let sa = MultiHeadAttention {
                    heads: heads(p, &format!("blocks.{l}.sa"), s.n_head, c, rng)?,
                    proj: layers::linear(
                        p,
                        &format!("blocks.{l}.sa.proj"),
                        (c, c),
                        true,
                        INIT_STD,
                        rng,
                    )?,
                    dropout: 0.0,
                };
                blocks.push((sa, feed_forward(p, &format!("blocks.{l}.ffwd"), c, rng)?));
            }
            (vec![], blocks, None)
        } else {
            let h = heads(p, "sa", n_heads, c, rng)?;
            let f = if rung == Rung::FeedForward {
                Some(feed_forward(p, "ffwd", c, rng)?)
            } else {
                None
            };
            (h, vec![], f)
        };
        Ok(Self {
            rung,
            token_embedding_table: tok,
            position_embedding_table: Some(pos),
            heads,
            blocks,
            ffwd,
            lm_head: Some(layers::linear(p, "lm_head", (c, v), true, INIT_STD, rng)?),
        })
    }

    fn forward(&self, idx: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let tok = self.token_embedding_table.forward(idx)?;
        let (Some(pos_table), Some(lm_head)) = (&self.position_embedding_table, &self.lm_head)
        else {
            return Ok(tok); // bigrama: la incrustación ya son los logits
        };
        let t = idx.dim(1)?;
        let pos = pos_table.forward(&Tensor::arange(0u32, t as u32, idx.device())?)?;
        let mut x = tok.broadcast_add(&pos)?;
        let mask = layers::causal_mask(t, idx.device())?;
        if self.rung == Rung::Residual {
            for (sa, ffwd) in &self.blocks {
                x = (&x + sa.forward(&x, &mask, mode)?)?;
                x = (&x + ffwd.forward(&x, mode)?)?;
            }
        } else {
            let outs = self
                .heads
                .iter()
                .map(|h| h.forward(&x, &mask, mode))
                .collect::<Result<Vec<_>>>()?;
            x = Tensor::cat(&outs, D::Minus1)?;
            if let Some(ffwd) = &self.ffwd {
                x = ffwd.forward(&x, mode)?;
            }
        }
        lm_head.forward(&x)
    }
}

enum Model {
    Partial(Box<Partial>, Params),
    Gpt(Box<Gpt>),
}

impl Model {
    fn params(&self) -> &Params {
        match self {
            Model::Partial(_, p) => p,
            Model::Gpt(g) => &g.params,
        }
    }

    fn loss(&self, x: &Tensor, y: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        match self {
            Model::Gpt(g) => g.loss(x, y, mode),
            Model::Partial(m, _) => {
                let logits = m.forward(x, mode)?;
                let (b, t, c) = logits.dims3()?;
                layers::cross_entropy(&logits.reshape((b * t, c))?, &y.reshape(b * t)?)
            }
        }
    }
}

/// El resultado de un peldaño.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RungResult {
    pub params: usize,
    pub val_loss: f32,
    pub seconds: f64,
}

/// Un peldaño entrenándose, con los flujos del RNG del GPT (`model::train`).
struct RungTrainer<'a> {
    model: Model,
    optimizer: AdamW,
    setup: &'a LadderSetup,
    progress: Progress,
}

impl Learner for RungTrainer<'_> {
    /// Una sola estimación, antes del último paso (y la del principio).
    fn schedule(&self) -> (usize, usize) {
        (self.setup.max_iters, self.setup.max_iters.max(1))
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }

    fn progress_mut(&mut self) -> &mut Progress {
        &mut self.progress
    }

    fn estimate_loss(&mut self, ds: &Dataset) -> Result<LossPoint> {
        let (s, step) = (self.setup, self.progress.step);
        let mut rng = eval_rng(s.seed, step);
        let device = self.model.params().device().clone();
        let losses = estimate_loss(
            ds,
            (s.batch_size, s.block_size),
            s.eval_iters,
            &mut rng,
            |b| {
                (b.iter())
                    .map(|(x, y)| {
                        let (x, y) = (to_tensor(x, &device)?, to_tensor(y, &device)?);
                        self.model.loss(&x, &y, &mut Mode::Eval)?.to_scalar::<f32>()
                    })
                    .collect()
            },
        )?;
        let (train, val) = (losses.train, losses.val);
        Ok(LossPoint { step, train, val })
    }

    fn train_step(&mut self, ds: &Dataset) -> Result<f32> {
        let s = self.setup;
        let mut rng = step_rng(s.seed, self.progress.step);
        let (x, y) = get_batch(ds, Split::Train, s.batch_size, s.block_size, &mut rng);
        let device = self.model.params().device();
        let (x, y) = (to_tensor(&x, device)?, to_tensor(&y, device)?);
        let loss = self.model.loss(&x, &y, &mut Mode::Train(&mut rng))?;
        self.optimizer.step(&loss.backward()?)?;
        self.progress.step += 1;
        loss.to_scalar()
    }
}

/// Entrena un peldaño `max_iters` pasos con el bucle de [`crate::model::train::train`] y da
/// su pérdida de validación (la última estimación, con `eval_iters` lotes). Tras cada paso
/// llama a `on_progress` con los pasos dados.
pub fn train_rung(
    rung: Rung,
    s: &LadderSetup,
    ds: &Dataset,
    device: &Device,
    mut on_progress: impl FnMut(usize),
) -> anyhow::Result<RungResult> {
    let start = Instant::now();
    let mut rng = init_rng(s.seed);
    let model = match rung {
        Rung::LayerNorm | Rung::DropoutAndScale | Rung::Gelu => {
            Model::Gpt(Box::new(Gpt::new(&s.gpt_config(rung), device, &mut rng)?))
        }
        _ => {
            let mut p = Params::new(device);
            let m = Partial::new(rung, s, &mut p, &mut rng)?;
            Model::Partial(Box::new(m), p)
        }
    };
    let optimizer = AdamW::new(model.params().vars(), AdamWConfig::with_lr(s.learning_rate))?;
    let mut trainer = RungTrainer {
        model,
        optimizer,
        setup: s,
        progress: Progress::new(s.seed),
    };
    let mut hooks = Callbacks {
        on_eval: |_: &LossPoint| {},
        on_step: |done, _| on_progress(done),
    };
    train::train(&mut trainer, ds, &mut hooks)?;
    let last = trainer.progress.history.last();
    Ok(RungResult {
        params: trainer.model.params().count(),
        val_loss: last.map_or(f32::NAN, |p| p.val),
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    #[test]
    fn every_rung_trains_and_lowers_the_loss() {
        // Un texto con estructura: el modelo debe bajar de ln(vocab) en pocos pasos.
        let text: Vec<u32> = (0..3000).map(|i| [0, 1, 2, 3, 2, 1][i % 6]).collect();
        let ds = Dataset::split(&Array1::from(text), 0.9);
        let s = LadderSetup {
            block_size: 8,
            n_embd: 16,
            n_head: 2,
            n_layer: 1,
            batch_size: 4,
            learning_rate: 1e-2,
            max_iters: 60,
            eval_iters: 4,
            ..LadderSetup::new(4)
        };
        let mut params = Vec::new();
        for rung in Rung::ALL {
            let mut calls = Vec::new();
            let r = train_rung(rung, &s, &ds, &Device::Cpu, |done| calls.push(done)).unwrap();
            // El progreso cuenta los pasos.
            assert_eq!(calls, (1..=s.max_iters).collect::<Vec<_>>());
            assert!(
                r.val_loss < (4f32).ln() - 0.2,
                "{}: {}",
                rung.name(),
                r.val_loss
            );
            params.push(r.params);
        }
        // Cada peldaño añade parámetros salvo «varias cabezas» (mismo tamaño total) y la
        // GELU (cambia una función, no los pesos).
        assert_eq!(params[0], 4 * 4);
        assert_eq!(params[1], params[2]);
        assert!(
            params[..7].windows(2).skip(2).all(|w| w[0] < w[1]),
            "{params:?}"
        );
        assert_eq!(params[7], params[6]);
    }
}
