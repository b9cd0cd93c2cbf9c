//! Soluciones de referencia del capítulo 7: el GPT montado pieza a pieza.

use candle_core::{D, DType, IndexOp, Module, Result, Tensor};
use gpt_desde_cero::model::adamw::AdamW;
use gpt_desde_cero::model::estimate::Losses;
use gpt_desde_cero::model::gpt::{
    Activation, Block, FeedForward, Gpt, Head, Mode, MultiHeadAttention,
};
use gpt_desde_cero::model::layers::{self, LayerNorm};
use gpt_desde_cero::model::train::{eval_rng, step_rng};
use gpt_desde_cero::text::batches::to_tensor;
use gpt_desde_cero::text::dataset::Dataset;
use gpt_desde_cero::tools::rng::Rng;
use rand::Rng as _;

/// Ejercicio 7.1: un número por elemento, solo al entrenar.
pub fn dropout(x: &Tensor, p: f32, mode: &mut Mode) -> Result<Tensor> {
    let Mode::Train(rng) = mode else {
        return Ok(x.clone());
    };
    if p == 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 / (1.0 - p);
    let mut mask = Vec::with_capacity(x.elem_count());
    for _ in 0..x.elem_count() {
        let u: f32 = rng.random();
        mask.push(if u < p { 0.0 } else { keep });
    }
    x * Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?
}

/// Ejercicio 7.2: centrar, dividir por la desviación típica y escalar.
pub fn layer_norm(ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
    let centered = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
    let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
    let std = (var + ln.eps)?.sqrt()?;
    centered
        .broadcast_div(&std)?
        .broadcast_mul(&ln.weight)?
        .broadcast_add(&ln.bias)
}

/// Ejercicio 7.3: la cabeza del capítulo 6, en candle.
pub fn head_forward(head: &Head, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let q = head.query.forward(x)?;
    let k = head.key.forward(x)?;
    let v = head.value.forward(x)?;
    let scale = 1.0 / (k.dim(D::Minus1)? as f64).sqrt();
    let scores = (q.matmul(&k.t()?)? * scale)?;
    let weights = dropout(&layers::masked_softmax(&scores, mask)?, head.dropout, mode)?;
    weights.matmul(&v)
}

/// Ejercicio 7.4: las cabezas en orden, concatenadas, proyectadas.
pub fn multi_head_attention(
    sa: &MultiHeadAttention,
    x: &Tensor,
    mask: &Tensor,
    mode: &mut Mode,
) -> Result<Tensor> {
    let mut outs = Vec::with_capacity(sa.heads.len());
    for head in &sa.heads {
        outs.push(head_forward(head, x, mask, mode)?);
    }
    let last = x.rank() - 1;
    dropout(
        &sa.proj.forward(&Tensor::cat(&outs, last)?)?,
        sa.dropout,
        mode,
    )
}

/// Ejercicio 7.5: ensanchar, la no linealidad que pide `ffwd.activation`, estrechar.
pub fn feed_forward(ffwd: &FeedForward, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let wide = activation(&ffwd.up.forward(x)?, ffwd.activation)?;
    dropout(&ffwd.down.forward(&wide)?, ffwd.dropout, mode)
}

/// La no linealidad de la red de avance, ya escrita en el archivo del alumno: ReLU o su GELU
/// del ejercicio 6.4.
pub fn activation(x: &Tensor, which: Activation) -> Result<Tensor> {
    match which {
        Activation::Relu => x.relu(),
        Activation::Gelu => layers::map_elementwise(x, super::cap06::gelu),
    }
}

/// Ejercicio 7.6: comunicación y cómputo, cada uno sumado a su entrada.
pub fn block_forward(block: &Block, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let attended = multi_head_attention(&block.sa, &layer_norm(&block.ln1, x)?, mask, mode)?;
    let x = x.add(&attended)?;
    let computed = feed_forward(&block.ffwd, &layer_norm(&block.ln2, &x)?, mode)?;
    x.add(&computed)
}

/// Ejercicio 7.7: incrustaciones, bloques y cabeza de lenguaje.
pub fn gpt_forward(model: &Gpt, idx: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let t = idx.dim(1)?;
    let positions = Tensor::arange(0u32, t as u32, idx.device())?;
    let tokens = model.token_embedding_table.forward(idx)?;
    let mut x = tokens.broadcast_add(&model.position_embedding_table.forward(&positions)?)?;
    let mask = layers::causal_mask(t, idx.device())?;
    for block in &model.blocks {
        x = block_forward(block, &x, &mask, mode)?;
    }
    model.lm_head.forward(&layer_norm(&model.ln_f, &x)?)
}

/// Ejercicio 7.8: aplanar lote y posiciones.
pub fn gpt_loss(model: &Gpt, idx: &Tensor, targets: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let logits = gpt_forward(model, idx, mode)?;
    let (b, t, v) = logits.dims3()?;
    layers::cross_entropy(&logits.reshape((b * t, v))?, &targets.flatten_all()?)
}

/// Ejercicio 7.9: lote y pérdida, `eval_iters` veces por parte.
pub fn estimate_loss(
    model: &Gpt,
    ds: &Dataset,
    eval_iters: usize,
    rng: &mut Rng,
) -> Result<Losses> {
    let (batch, block) = (model.config.batch_size, model.config.block_size);
    let mut means = [0.0f32; 2];
    for (mean, data) in means.iter_mut().zip([&ds.train, &ds.val]) {
        let mut total = 0.0f64;
        for _ in 0..eval_iters {
            let (x, y) = super::cap04::get_batch(data.view(), batch, block, rng);
            let (x, y) = (
                to_tensor(&x, model.device())?,
                to_tensor(&y, model.device())?,
            );
            let loss = gpt_loss(model, &x, &y, &mut Mode::Eval)?;
            total += f64::from(loss.to_scalar::<f32>()?);
        }
        *mean = (total / eval_iters as f64) as f32;
    }
    Ok(Losses {
        train: means[0],
        val: means[1],
    })
}

/// Ejercicio 7.10: el bucle del cuaderno.
pub fn train(
    model: &Gpt,
    optimizer: &mut AdamW,
    ds: &Dataset,
    seed: u64,
    mut on_step: impl FnMut(usize, f32),
    mut on_eval: impl FnMut(usize, Losses),
) -> Result<()> {
    let cfg = &model.config;
    for iter in 0..cfg.max_iters {
        if iter % cfg.eval_interval == 0 || iter == cfg.max_iters - 1 {
            let losses = estimate_loss(model, ds, cfg.eval_iters, &mut eval_rng(seed, iter))?;
            on_eval(iter, losses);
        }
        let mut rng = step_rng(seed, iter);
        let (x, y) =
            super::cap04::get_batch(ds.train.view(), cfg.batch_size, cfg.block_size, &mut rng);
        let (x, y) = (
            to_tensor(&x, model.device())?,
            to_tensor(&y, model.device())?,
        );
        let loss = gpt_loss(model, &x, &y, &mut Mode::Train(&mut rng))?;
        let grads = loss.backward()?;
        optimizer.step(&grads)?;
        on_step(iter, loss.to_scalar::<f32>()?);
    }
    Ok(())
}

/// Ejercicio 7.11: el contexto, recortado a `block_size`.
pub fn generate(
    model: &Gpt,
    prompt: &[u32],
    max_new_tokens: usize,
    mut choose: impl FnMut(&[f32]) -> u32,
) -> Result<Vec<u32>> {
    let mut ids = prompt.to_vec();
    for _ in 0..max_new_tokens {
        let from = ids.len().saturating_sub(model.config.block_size);
        let context = &ids[from..];
        let idx = Tensor::new(context, model.device())?.unsqueeze(0)?;
        let logits = gpt_forward(model, &idx, &mut Mode::Eval)?;
        let last: Vec<f32> = logits
            .i((0, context.len() - 1))?
            .to_dtype(DType::F32)?
            .to_vec1()?;
        ids.push(choose(&last));
    }
    Ok(ids[prompt.len()..].to_vec())
}

/// Ejercicio 7.12: el umbral es el k-ésimo mayor; lo que queda debajo se descarta.
pub fn top_k_filter(logits: &[f32], k: usize) -> Vec<f32> {
    let mut out = logits.to_vec();
    if k == 0 || k >= logits.len() {
        return out;
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let threshold = logits[order[k - 1]];
    for v in out.iter_mut() {
        if *v < threshold {
            *v = f32::NEG_INFINITY;
        }
    }
    out
}

/// Ejercicio 7.13: acumular probabilidades de mayor a menor hasta llegar a `p`.
pub fn top_p_filter(logits: &[f32], p: f32) -> Vec<f32> {
    let mut sorted = logits.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let max = sorted[0];
    let exps: Vec<f64> = sorted.iter().map(|&l| f64::from(l - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    let mut acc = 0.0;
    let mut threshold = sorted[sorted.len() - 1];
    for (e, &l) in exps.iter().zip(&sorted) {
        acc += e / total;
        if acc >= f64::from(p) {
            threshold = l;
            break;
        }
    }
    logits
        .iter()
        .map(|&l| if l < threshold { f32::NEG_INFINITY } else { l })
        .collect()
}
