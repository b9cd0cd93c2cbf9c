//! El modelo bigrama: una tabla `(vocab, vocab)` cuya fila `c` son los logits del carácter
//! que sigue a `c`. Dos versiones: a mano en ndarray (pérdida, gradiente y AdamW escritos
//! aquí) y en candle (con autograd). Las pruebas comprueban que coinciden.

use candle_core::{Device, Tensor, Var};
use candle_nn::Optimizer as _;
use ndarray::{Array2, ArrayView1, ArrayView2, Zip};

use crate::model::estimate::{self, LossPoint, Losses, estimate_loss};
use crate::model::train::{self, Callbacks, Learner, Progress};
use crate::text::batches::get_batch;
use crate::text::dataset::{Dataset, Split};
use crate::tools::rng::{self, Rng};

// ---------------------------------------------------------------------------------------
// Las piezas matemáticas, a mano.
// ---------------------------------------------------------------------------------------

// ANCHOR: logits
/// El paso hacia delante: los logits de cada posición son la fila de su token.
/// `x` tiene `N` tokens; el resultado tiene forma `(N, vocab)`.
pub fn logits(table: &Array2<f32>, x: &[u32]) -> Array2<f32> {
    let rows: Vec<usize> = x.iter().map(|&t| t as usize).collect();
    table.select(ndarray::Axis(0), &rows)
}
// ANCHOR_END: logits

// ANCHOR: log_sum_exp
/// `ln Σ exp(zᵢ)` sin desbordarse: se resta el máximo antes de exponenciar.
pub fn log_sum_exp(z: ArrayView1<f32>) -> f32 {
    let max = z.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum: f32 = z.iter().map(|&v| (v - max).exp()).sum();
    max + sum.ln()
}

/// Entropía cruzada media: para cada fila, `log_sum_exp(fila) − fila[objetivo]`.
pub fn cross_entropy(logits: ArrayView2<f32>, targets: &[u32]) -> f32 {
    let total: f64 = logits
        .rows()
        .into_iter()
        .zip(targets)
        .map(|(row, &t)| f64::from(log_sum_exp(row) - row[t as usize]))
        .sum();
    (total / targets.len() as f64) as f32
}
// ANCHOR_END: log_sum_exp

/// Softmax y `log_sum_exp` de una fila con una sola pasada de exponenciales.
fn softmax_and_lse(z: ArrayView1<f32>) -> (Vec<f32>, f32) {
    let max = z.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut exps: Vec<f32> = z.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter_mut().for_each(|e| *e /= sum);
    (exps, max + sum.ln())
}

// ANCHOR: backward
/// La derivada de la pérdida respecto de los logits: `(softmax − one_hot) / N`.
pub fn cross_entropy_grad(logits: ArrayView2<f32>, targets: &[u32]) -> Array2<f32> {
    let n = targets.len() as f32;
    let mut grad = Array2::zeros(logits.raw_dim());
    for ((row, mut g), &t) in logits.rows().into_iter().zip(grad.rows_mut()).zip(targets) {
        for (gi, p) in g.iter_mut().zip(softmax(&row.to_vec())) {
            *gi = p / n;
        }
        g[t as usize] -= 1.0 / n;
    }
    grad
}

/// Cada fila de logits salió de la fila `x[i]` de la tabla: su gradiente se suma allí.
pub fn accumulate_rows(table_grad: &mut Array2<f32>, x: &[u32], logits_grad: ArrayView2<f32>) {
    for (&t, g) in x.iter().zip(logits_grad.rows()) {
        let mut row = table_grad.row_mut(t as usize);
        row += &g;
    }
}
// ANCHOR_END: backward

/// Pérdida y gradiente de la tabla, paso a paso como en el libro: logits, entropía
/// cruzada, gradiente de los logits y acumulación en las filas.
pub fn loss_and_grad_naive(table: &Array2<f32>, x: &[u32], y: &[u32]) -> (f32, Array2<f32>) {
    let z = logits(table, x);
    let loss = cross_entropy(z.view(), y);
    let dz = cross_entropy_grad(z.view(), y);
    let mut grad = Array2::zeros(table.raw_dim());
    accumulate_rows(&mut grad, x, dz.view());
    (loss, grad)
}

// ANCHOR: grouped
/// Lo mismo, agrupando por token: todas las posiciones con el mismo token tienen la misma
/// fila de logits, así que su softmax se calcula una sola vez. Con 256 posiciones y unos
/// 35 caracteres distintos por lote, son ~7 veces menos exponenciales.
pub fn loss_and_grad(table: &Array2<f32>, x: &[u32], y: &[u32], grad: &mut Array2<f32>) -> f32 {
    let vocab = table.ncols();
    let n = x.len() as f32;
    // Para cada token: cuántas veces aparece y cuántas veces le sigue cada objetivo.
    let mut count = vec![0u32; vocab];
    let mut follows = Array2::<f32>::zeros((vocab, vocab));
    for (&a, &b) in x.iter().zip(y) {
        count[a as usize] += 1;
        follows[[a as usize, b as usize]] += 1.0;
    }
    grad.fill(0.0);
    let mut loss = 0.0f64;
    for (c, &k) in count.iter().enumerate().filter(|(_, k)| **k > 0) {
        let row = table.row(c);
        let (probs, lse) = softmax_and_lse(row);
        // Σᵢ (lse − fila[yᵢ]) sobre las posiciones con token c.
        loss += f64::from(k as f32 * lse - row.dot(&follows.row(c)));
        // Σᵢ (p − one_hot(yᵢ)) / N = (k·p − follows[c]) / N.
        let mut g = grad.row_mut(c);
        Zip::from(&mut g)
            .and(&probs)
            .and(follows.row(c))
            .for_each(|g, &p, &f| *g = (k as f32 * p - f) / n);
    }
    (loss / f64::from(n)) as f32
}
// ANCHOR_END: grouped

// ANCHOR: adamw
/// AdamW con los valores por defecto de PyTorch (β₁ 0,9, β₂ 0,999, ε 1e-8, decaimiento
/// de pesos 0,01 desacoplado) y corrección de sesgo.
#[derive(Debug, Clone)]
pub struct AdamW {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    m: Array2<f32>,
    v: Array2<f32>,
    t: i32,
}

impl AdamW {
    pub fn new(shape: (usize, usize), lr: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            m: Array2::zeros(shape),
            v: Array2::zeros(shape),
            t: 0,
        }
    }

    pub fn step(&mut self, param: &mut Array2<f32>, grad: &Array2<f32>) {
        self.t += 1;
        let (b1, b2, lr, eps) = (self.beta1, self.beta2, self.lr, self.eps);
        let correction1 = 1.0 - b1.powi(self.t);
        let correction2 = 1.0 - b2.powi(self.t);
        let decay = 1.0 - lr * self.weight_decay;
        // Las cuatro matrices, como slices de memoria contigua: el compilador vectoriza el bucle.
        let w = param.as_slice_mut().expect("memoria contigua");
        let g = grad.as_slice().expect("memoria contigua");
        let m = self.m.as_slice_mut().expect("memoria contigua");
        let v = self.v.as_slice_mut().expect("memoria contigua");
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
            *m = b1 * *m + (1.0 - b1) * g; // media móvil del gradiente
            *v = b2 * *v + (1.0 - b2) * g * g; // y de su cuadrado
            let m_hat = *m / correction1;
            let v_hat = *v / correction2;
            *w = *w * decay - lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
}
// ANCHOR_END: adamw

// El muestreo (`sample`, `sample_with`) y la softmax son los de `model::sampling`, los mismos
// del capítulo 7.
pub use crate::model::sampling::{sample, sample_with, softmax};

// ---------------------------------------------------------------------------------------
// Los dos motores detrás de una misma interfaz.
// ---------------------------------------------------------------------------------------

/// Lo que el bucle de entrenamiento necesita de un modelo bigrama.
pub trait Bigram {
    /// Pérdida sin entrenar (para `estimate_loss`).
    fn loss(&self, x: &[u32], y: &[u32]) -> candle_core::Result<f32>;
    /// Un paso de entrenamiento: pérdida, gradiente y AdamW. Devuelve la pérdida.
    fn train_step(&mut self, x: &[u32], y: &[u32]) -> candle_core::Result<f32>;
    /// La tabla actual, como ndarray.
    fn table(&self) -> candle_core::Result<Array2<f32>>;
}

/// La tabla inicial, como `nn.Embedding(vocab, vocab)`: valores de una normal `N(0, 1)`.
pub fn initial_table(vocab_size: usize, rng: &mut Rng) -> Array2<f32> {
    let values = rng::normal_vec(rng, vocab_size * vocab_size, 0.0, 1.0);
    Array2::from_shape_vec((vocab_size, vocab_size), values).expect("forma correcta")
}

/// El bigrama a mano, en ndarray.
#[derive(Debug, Clone)]
pub struct HandBigram {
    pub table: Array2<f32>,
    pub optimizer: AdamW,
    grad: Array2<f32>,
}

impl HandBigram {
    pub fn new(table: Array2<f32>, lr: f32) -> Self {
        let shape = table.dim();
        Self {
            table,
            optimizer: AdamW::new(shape, lr),
            grad: Array2::zeros(shape),
        }
    }
}

impl Bigram for HandBigram {
    fn loss(&self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        let mut scratch = Array2::zeros(self.table.raw_dim());
        Ok(loss_and_grad(&self.table, x, y, &mut scratch))
    }

    // ANCHOR: train_step
    fn train_step(&mut self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        let loss = loss_and_grad(&self.table, x, y, &mut self.grad);
        self.optimizer.step(&mut self.table, &self.grad);
        Ok(loss)
    }
    // ANCHOR_END: train_step

    fn table(&self) -> candle_core::Result<Array2<f32>> {
        Ok(self.table.clone())
    }
}

/// El mismo bigrama en candle: la tabla es una `Var`, la pérdida se construye con
/// operaciones de candle y `backward()` calcula el gradiente.
pub struct CandleBigram {
    pub table: Var,
    optimizer: candle_nn::AdamW,
    device: Device,
}

impl CandleBigram {
    pub fn new(table: &Array2<f32>, lr: f64, device: &Device) -> candle_core::Result<Self> {
        let values: Vec<f32> = table.iter().copied().collect();
        let table = Var::from_tensor(&Tensor::from_vec(values, table.dim(), device)?)?;
        let params = candle_nn::ParamsAdamW {
            lr,
            ..Default::default()
        };
        let optimizer = candle_nn::AdamW::new(vec![table.clone()], params)?;
        Ok(Self {
            table,
            optimizer,
            device: device.clone(),
        })
    }

    // ANCHOR: candle_loss
    /// La pérdida como tensor de candle, lista para `backward()`.
    pub fn loss_tensor(&self, x: &[u32], y: &[u32]) -> candle_core::Result<Tensor> {
        let x = Tensor::new(x, &self.device)?;
        let y = Tensor::new(y, &self.device)?;
        let logits = self.table.as_tensor().index_select(&x, 0)?; // (N, vocab)
        candle_nn::loss::cross_entropy(&logits, &y)
    }
    // ANCHOR_END: candle_loss
}

impl Bigram for CandleBigram {
    fn loss(&self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        self.loss_tensor(x, y)?.to_scalar()
    }

    // ANCHOR: candle_train_step
    fn train_step(&mut self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        let loss = self.loss_tensor(x, y)?;
        self.optimizer.backward_step(&loss)?;
        loss.to_scalar()
    }
    // ANCHOR_END: candle_train_step

    fn table(&self) -> candle_core::Result<Array2<f32>> {
        let dims = self.table.dims2()?;
        let values = self.table.as_tensor().flatten_all()?.to_vec1()?;
        Ok(Array2::from_shape_vec(dims, values).expect("forma correcta"))
    }
}

// ---------------------------------------------------------------------------------------
// Entrenar, evaluar y generar.
// ---------------------------------------------------------------------------------------

/// Los hiperparámetros del entrenamiento del cuaderno.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    pub steps: usize,
    pub batch_size: usize,
    pub block_size: usize,
    pub lr: f32,
    pub eval_interval: usize,
    pub eval_iters: usize,
}

/// Lo que ocupa entrenar el bigrama, por arriba: la tabla V×V con su derivada y los dos
/// momentos de AdamW, los logits de un lote (con sus probabilidades y su derivada) y los
/// lotes de las estimaciones. `None` si la cuenta no cabe en 64 bits.
pub fn training_memory(cfg: &TrainConfig, vocab_size: usize) -> Option<u64> {
    let [v, b, t] = [vocab_size, cfg.batch_size, cfg.block_size].map(|x| x as f64);
    let eval = estimate::eval_memory(cfg.eval_iters, cfg.batch_size, cfg.block_size);
    estimate::bytes(4.0 * (4.0 * v * v + 3.0 * b * t * v + 2.0 * b * t) + eval)
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 10_000,
            batch_size: 32,
            block_size: 8,
            lr: 1e-3,
            eval_interval: 1_000,
            eval_iters: 200,
        }
    }
}

/// Lo que devuelve un entrenamiento.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Las estimaciones al empezar, cada `eval_interval` pasos y antes del último paso.
    pub curve: Vec<LossPoint>,
    /// La pérdida del último lote (lo que imprime el cuaderno).
    pub last_loss: f32,
}

// ANCHOR: train
/// Un bigrama entrenándose: el modelo, su configuración, el RNG del que salen los lotes (de
/// entrenamiento y de las estimaciones, en el orden en que se piden) y el progreso.
pub struct BigramTrainer<'a, M: Bigram + ?Sized> {
    pub model: &'a mut M,
    pub cfg: &'a TrainConfig,
    pub rng: &'a mut Rng,
    pub progress: Progress,
}

impl<M: Bigram + ?Sized> Learner for BigramTrainer<'_, M> {
    fn schedule(&self) -> (usize, usize) {
        (self.cfg.steps, self.cfg.eval_interval)
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }

    fn progress_mut(&mut self) -> &mut Progress {
        &mut self.progress
    }

    fn estimate_loss(&mut self, data: &Dataset) -> candle_core::Result<LossPoint> {
        let (cfg, model) = (self.cfg, &*self.model);
        let batch = (cfg.batch_size, cfg.block_size);
        let Losses { train, val } = estimate_loss(data, batch, cfg.eval_iters, self.rng, |b| {
            b.iter()
                .map(|(x, y)| model.loss(x.as_slice().unwrap(), y.as_slice().unwrap()))
                .collect()
        })?;
        let step = self.progress.step;
        Ok(LossPoint { step, train, val })
    }

    fn train_step(&mut self, data: &Dataset) -> candle_core::Result<f32> {
        let cfg = self.cfg;
        let (x, y) = get_batch(data, Split::Train, cfg.batch_size, cfg.block_size, self.rng);
        let loss = (self.model).train_step(x.as_slice().unwrap(), y.as_slice().unwrap())?;
        self.progress.step += 1;
        Ok(loss)
    }
}

/// Entrena `model` con el bucle de [`crate::model::train::train`]. `on_step` recibe el
/// número de pasos dados y la pérdida del lote (para la barra de progreso); `on_eval`, cada
/// estimación.
pub fn train<M: Bigram + ?Sized>(
    model: &mut M,
    data: &Dataset,
    cfg: &TrainConfig,
    rng: &mut Rng,
    mut on_step: impl FnMut(usize, f32),
    on_eval: impl FnMut(&LossPoint),
) -> anyhow::Result<TrainReport> {
    let mut last_loss = f32::NAN;
    let on_step = |step, loss| {
        last_loss = loss;
        on_step(step, loss)
    };
    let mut trainer = BigramTrainer {
        model,
        cfg,
        rng,
        progress: Progress::new(0),
    };
    train::train(&mut trainer, data, &mut Callbacks { on_eval, on_step })?;
    let curve = trainer.progress.history;
    Ok(TrainReport { curve, last_loss })
}
// ANCHOR_END: train

// ANCHOR: generate
/// Genera `n` tokens a partir de `start`: cada uno se muestrea de la fila del anterior.
pub fn generate(table: &Array2<f32>, start: u32, n: usize, rng: &mut Rng) -> Vec<u32> {
    let mut out = vec![start];
    for _ in 0..n {
        let last = *out.last().expect("nunca vacío") as usize;
        let probs = softmax(&table.row(last).to_vec());
        out.push(sample(&probs, rng) as u32);
    }
    out
}
// ANCHOR_END: generate

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    fn tiny_batch(r: &mut Rng, vocab: u32, n: usize) -> (Vec<u32>, Vec<u32>) {
        let x = (0..n).map(|_| r.random_range(0..vocab)).collect();
        let y = (0..n).map(|_| r.random_range(0..vocab)).collect();
        (x, y)
    }

    #[test]
    fn grouped_equals_naive() {
        let mut r = rng::seeded(1);
        let table = initial_table(13, &mut r);
        let (x, y) = tiny_batch(&mut r, 13, 64);
        let (l1, g1) = loss_and_grad_naive(&table, &x, &y);
        let mut g2 = Array2::zeros(table.raw_dim());
        let l2 = loss_and_grad(&table, &x, &y, &mut g2);
        assert!((l1 - l2).abs() < 1e-5, "{l1} vs {l2}");
        let diff = (&g1 - &g2).mapv(f32::abs).fold(0.0f32, |m, &v| m.max(v));
        assert!(diff < 1e-6, "gradientes difieren en {diff}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut r = rng::seeded(2);
        let table = initial_table(5, &mut r);
        let (x, y) = tiny_batch(&mut r, 5, 12);
        let (_, grad) = loss_and_grad_naive(&table, &x, &y);
        let h = 1e-2;
        for i in 0..5 {
            for j in 0..5 {
                let mut plus = table.clone();
                plus[[i, j]] += h;
                let mut minus = table.clone();
                minus[[i, j]] -= h;
                let lp = cross_entropy(logits(&plus, &x).view(), &y);
                let lm = cross_entropy(logits(&minus, &x).view(), &y);
                let numeric = (lp - lm) / (2.0 * h);
                assert!(
                    (numeric - grad[[i, j]]).abs() < 1e-3,
                    "W[{i},{j}]: numérico {numeric}, analítico {}",
                    grad[[i, j]]
                );
            }
        }
    }

    #[test]
    fn log_sum_exp_is_stable() {
        let z = ndarray::array![1000.0f32, 1000.0];
        assert!((log_sum_exp(z.view()) - (1000.0 + 2f32.ln())).abs() < 1e-3);
        let z = ndarray::array![-1000.0f32, -1000.0];
        assert!((log_sum_exp(z.view()) - (-1000.0 + 2f32.ln())).abs() < 1e-3);
    }

    #[test]
    fn adamw_first_step_moves_each_weight_by_lr() {
        // En el primer paso m̂ = g y v̂ = g², así que cada peso se mueve lr·signo(g)
        // (más el decaimiento).
        let mut w = ndarray::array![[1.0f32, -2.0], [0.5, 0.0]];
        let g = ndarray::array![[0.3f32, -4.0], [0.0, 1e-3]];
        let mut opt = AdamW::new((2, 2), 0.1);
        opt.step(&mut w, &g);
        let d = 1.0 - 0.1 * 0.01;
        let want = ndarray::array![[d - 0.1, -2.0 * d + 0.1], [0.5 * d, -0.1]];
        let diff = (&w - &want).mapv(f32::abs).fold(0.0f32, |m, &v| m.max(v));
        assert!(diff < 1e-4, "{w:?}");
    }
}
