//! Soluciones de referencia del capítulo 5.

use ndarray::{Array2, ArrayView2, Axis};

/// Ejercicio 5.1: restar el máximo de cada fila antes de exponenciar.
pub fn cross_entropy(logits: ArrayView2<f32>, targets: &[u32]) -> f32 {
    let mut total = 0.0f64;
    for (i, &t) in targets.iter().enumerate() {
        let row = logits.index_axis(Axis(0), i);
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let lse = m + row.iter().map(|z| (z - m).exp()).sum::<f32>().ln();
        total += f64::from(lse - row[t as usize]);
    }
    (total / targets.len() as f64) as f32
}

/// Ejercicio 5.2: softmax por filas, menos uno en el objetivo, entre N.
pub fn cross_entropy_grad(logits: ArrayView2<f32>, targets: &[u32]) -> Array2<f32> {
    let n = targets.len() as f32;
    let mut grad = logits.to_owned();
    for (mut row, &t) in grad.axis_iter_mut(Axis(0)).zip(targets) {
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        row.mapv_inplace(|z| (z - m).exp());
        let sum = row.sum();
        row.mapv_inplace(|e| e / sum / n);
        row[t as usize] -= 1.0 / n;
    }
    grad
}

/// Ejercicio 5.3: la fórmula, elemento a elemento.
pub fn adamw_step(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], t: i32, lr: f32) {
    let (b1, b2, eps, wd) = (0.9f32, 0.999f32, 1e-8f32, 0.01f32);
    for i in 0..w.len() {
        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
        let m_hat = m[i] / (1.0 - b1.powi(t));
        let v_hat = v[i] / (1.0 - b2.powi(t));
        w[i] = w[i] * (1.0 - lr * wd) - lr * m_hat / (v_hat.sqrt() + eps);
    }
}

/// Ejercicio 5.4: la suma acumulada.
pub fn sample(probs: &[f32], u: f32) -> usize {
    let mut acc = 0.0;
    let mut last_positive = 0;
    for (i, &p) in probs.iter().enumerate() {
        acc += p;
        if p > 0.0 {
            last_positive = i;
        }
        if u < acc {
            return i;
        }
    }
    last_positive
}

/// Ejercicio 5.5: tus piezas, en orden; la fila de cada posición suma en la de su token.
pub fn table_loss_and_grad(table: &Array2<f32>, x: &[u32], y: &[u32]) -> (f32, Array2<f32>) {
    let rows: Vec<usize> = x.iter().map(|&t| t as usize).collect();
    let logits = table.select(Axis(0), &rows);
    let loss = cross_entropy(logits.view(), y);
    let dlogits = cross_entropy_grad(logits.view(), y);
    let mut grad = Array2::zeros(table.raw_dim());
    for (i, &t) in rows.iter().enumerate() {
        let mut row = grad.row_mut(t);
        row += &dlogits.row(i);
    }
    (loss, grad)
}

/// Ejercicio 5.6: escalar, softmax estable y la suma acumulada de 5.4.
pub fn sample_with_temperature(logits: &[f32], temperature: f32, u: f32) -> usize {
    let scaled: Vec<f32> = logits.iter().map(|l| l / temperature).collect();
    let m = scaled.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scaled.iter().map(|z| (z - m).exp()).collect();
    let sum: f32 = exps.iter().sum();
    let probs: Vec<f32> = exps.iter().map(|e| e / sum).collect();
    sample(&probs, u)
}

/// Ejercicio 5.7: los tres tramos.
pub fn warmup_cosine_lr(
    step: usize,
    warmup: usize,
    max_steps: usize,
    max_lr: f64,
    min_lr: f64,
) -> f64 {
    if step < warmup {
        return max_lr * (step + 1) as f64 / warmup as f64;
    }
    if step > max_steps {
        return min_lr;
    }
    let r = (step - warmup) as f64 / (max_steps - warmup) as f64;
    min_lr + 0.5 * (1.0 + (std::f64::consts::PI * r).cos()) * (max_lr - min_lr)
}
